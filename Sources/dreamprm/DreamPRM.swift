import ArgumentParser
import Torch

@main
struct DreamPRM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dreamprm",
        abstract: "Process reward models with learned data weights (DreamPRM), in Swift over LibTorch.",
        subcommands: [Train.self, Evaluate.self, Summarize.self, Plot.self, Generate.self, Bench.self, Info.self]
    )

    static func main() {
        Runtime.keepFreedMemory()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every compute command shares.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Intra-op CPU threads (default: OMP_NUM_THREADS, else LibTorch's choice).")
    var threads: Int?

    @Option(help: "Device: cpu, cuda or cuda:N.")
    var device: String = "cpu"
}
