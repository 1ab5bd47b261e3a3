import Foundation
import TestSupport
import Torch
import XCTest

/// `dreamprm generate --image` on the tiny random Qwen2-VL and InternVL saved by transformers
/// (tools/fixtures/make_vlm_fixtures.py): the prompt's ids and the greedy continuation are
/// transformers' own; a bad image is exit 2 naming the file.
final class VisionGenerateTests: XCTestCase {
    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ModelsTests/Fixtures").standardized
    private var model: URL { fixtures.appendingPathComponent("tiny-qwen2-vl") }

    func testGreedyGenerationWithAnImageGivesTransformersTokens() throws {
        for family in ["tiny-qwen2-vl", "tiny-internvl"] { try checkGreedy(fixtures.appendingPathComponent(family)) }
    }

    private func checkGreedy(_ model: URL) throws {
        let reference = try SafeTensorsFile(model.appendingPathComponent("reference.safetensors"))
        let result = try Binary.run(["generate", "--model", model.path, "--image", model.appendingPathComponent("a.jpg").path,
                                     "--prompt", "What is 7 times 8?", "--temperature", "0", "--max-tokens", "8", "--json"])
        XCTAssertEqual(result.status, 0, "\(model.lastPathComponent): \(result.output)")
        let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        XCTAssertEqual(json?["prompt_ids"] as? [Int], try reference.tensor("single.input_ids").toArray(Int64.self).map(Int.init), model.lastPathComponent)
        XCTAssertEqual(json?["new_ids"] as? [Int], try reference.tensor("single.generated").toArray(Int64.self).map(Int.init), model.lastPathComponent)
    }

    func testBadImagesExitTwoNamingTheFile() throws {
        let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ImagingTests/Fixtures").standardized
        for name in ["corrupt.png", "truncated.jpg", "truncated.png", "empty.jpg", "not_an_image.png", "huge.png", "no_such_image.png"] {
            let file = images.appendingPathComponent(name).path
            let result = try Binary.run(["generate", "--model", model.path, "--image", file, "--prompt", "Hi", "--max-tokens", "2"])
            XCTAssertEqual(result.status, 2, "\(name): \(result.output)")
            XCTAssertTrue(result.output.contains(file), "\(name): \(result.output)")
        }
        let text = try Binary.run(["generate", "--model", fixtures.appendingPathComponent("tiny-qwen2").path, "--image",
                                   model.appendingPathComponent("a.jpg").path, "--prompt", "Hi"])
        XCTAssertEqual(text.status, 2, text.output)
        XCTAssertTrue(text.output.contains("--image needs a vision-language model"), text.output)
    }

    /// The papers' backbones resolve by name under $DREAMPRM_HOME/models; one not downloaded is
    /// exit 2 with the exact command that fetches it.
    func testRegistryNamesResolveOrNameTheDownloadCommand() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("dreamprm-home-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: home) }
        let missing = try Binary.run(["generate", "--model", "internvl3-1b", "--prompt", "Hi"], environment: ["DREAMPRM_HOME": home.path])
        XCTAssertEqual(missing.status, 2, missing.output)
        XCTAssertTrue(missing.output.contains("Run: huggingface-cli download OpenGVLab/InternVL3-1B-hf --local-dir \(home.path)/models/internvl3-1b"), missing.output)
        try FileManager.default.createDirectory(at: home.appendingPathComponent("models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("tiny-qwen2-vl"), to: home.appendingPathComponent("models/qwen2-vl-2b-instruct"))
        let found = try Binary.run(["generate", "--model", "qwen2-vl-2b-instruct", "--image", model.appendingPathComponent("b.png").path,
                                    "--prompt", "Hi", "--max-tokens", "2", "--json"], environment: ["DREAMPRM_HOME": home.path])
        XCTAssertEqual(found.status, 0, found.output)
    }
}
