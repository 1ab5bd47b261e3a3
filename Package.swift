// swift-tools-version: 6.0
import Foundation
import PackageDescription

// LibTorch is found through the `.torch` link made by scripts/setup-torch.sh (or TORCH_DIR).
// Absolute paths are computed at build time, so nothing machine-specific is committed.
let torchDir = Context.environment["TORCH_DIR"] ?? "\(Context.packageDirectory)/.torch"

// A CUDA LibTorch registers its CUDA hooks from static initialisers in libtorch_cuda, which
// nothing references by symbol: link it with --no-as-needed or `Device.cuda` never appears.
let cudaLinkFlags = FileManager.default.fileExists(atPath: "\(torchDir)/lib/libtorch_cuda.so")
    ? ["-Xlinker", "--no-as-needed", "-Xlinker", "-ltorch_cuda", "-Xlinker", "-lc10_cuda", "-Xlinker", "--as-needed"]
    : []

let package = Package(
    name: "DreamPRM",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dreamprm", targets: ["dreamprm"]),
        .library(name: "Torch", targets: ["Torch"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "PRM", targets: ["PRM"]),
        .library(name: "Reweighting", targets: ["Reweighting"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Imaging", targets: ["Imaging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // OpenAI-compatible policies; the tests' loopback chat server uses swift-nio directly.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "CTorch",
            cxxSettings: [
                .unsafeFlags([
                    "-isystem", "\(torchDir)/include",
                    "-isystem", "\(torchDir)/include/torch/csrc/api/include",
                    "-D_GLIBCXX_USE_CXX11_ABI=1", "-O2",
                ]),
            ],
            linkerSettings: [
                .linkedLibrary("torch"), .linkedLibrary("torch_cpu"), .linkedLibrary("c10"),
                .unsafeFlags(["-L\(torchDir)/lib", "-Xlinker", "-rpath", "-Xlinker", "\(torchDir)/lib"] + cudaLinkFlags),
            ]
        ),
        .target(name: "Torch", dependencies: ["CTorch"]),
        .target(name: "NN", dependencies: ["Torch"]),
        .target(name: "Tokenizers", dependencies: ["Torch"]),
        .target(name: "Models", dependencies: ["NN", "Torch", "Tokenizers"]),
        .target(name: "PRM", dependencies: ["Models", "Imaging", "NN", "Torch", "Tokenizers"]),
        .target(name: "Reweighting", dependencies: ["PRM", "NN", "Torch"]),
        .target(name: "Evaluation", dependencies: ["PRM", "Models", "Imaging", "NN", "Torch"]),
        .target(name: "Pipeline", dependencies: ["Evaluation", "PRM", "Imaging", "Models", "Tokenizers", "Torch",
                                                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")]),
        .target(name: "Plotting"),
        // The system libjpeg-turbo and libpng (Debian: libjpeg62-turbo-dev libpng-dev).
        .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png")]),
        .target(name: "Imaging", dependencies: ["CImageCodecs"]),
        .executableTarget(
            name: "dreamprm",
            dependencies: ["Torch", "NN", "Tokenizers", "Models", "Imaging", "PRM", "Reweighting", "Evaluation", "Pipeline", "Plotting", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "TestSupport", dependencies: ["Torch", "Models"], path: "Tests/Support"),
        .testTarget(name: "TorchTests", dependencies: ["Torch", "Models", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Torch", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Imaging", "NN", "Torch", "Tokenizers", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PRMTests", dependencies: ["PRM", "Models", "Imaging", "NN", "Tokenizers", "Torch", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ReweightingTests", dependencies: ["Reweighting", "Evaluation", "PRM", "Models", "NN", "Tokenizers", "Torch", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "PRM", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], resources: [.copy("Fixtures"), .copy("ProcessorFixtures")]),
        // Runs the dreamprm binary itself: the fuzz corpus, kill-and-resume, concurrent runs.
        .testTarget(name: "CLITests", dependencies: ["dreamprm", "Evaluation", "Pipeline", "PRM", "Reweighting", "TestSupport",
                                                   .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                                                   .product(name: "NIOHTTP1", package: "swift-nio")], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Models", "Torch", "TestSupport"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx20
)
