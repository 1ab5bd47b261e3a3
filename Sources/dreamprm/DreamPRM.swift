import ArgumentParser

@main
struct DreamPRM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dreamprm",
        abstract: "Process reward models with learned data weights (DreamPRM), in Swift over LibTorch.",
        subcommands: [Train.self, Evaluate.self, Plot.self, Generate.self, Bench.self, Info.self]
    )
}

/// Options every compute command shares.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Intra-op CPU threads (default: OMP_NUM_THREADS, else LibTorch's choice).")
    var threads: Int?

    @Option(help: "Device: cpu, cuda or cuda:N.")
    var device: String = "cpu"
}
