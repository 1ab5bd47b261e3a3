import ArgumentParser
import Foundation

/// `dreamprm plot`: the plots of a training run (also written at the end of `dreamprm train`).
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plot a training run: learned domain weights, losses and weight trajectories (PNG, in the run directory).")

    @Option(name: .customLong("run"), help: "A `dreamprm train` output directory (with metrics.jsonl).") var runDirectory: String
    @Option(help: "Domains to draw in red / dashed, e.g. a deliberately corrupted one; repeatable.") var highlight: [String] = []

    func run() throws {
        for path in try TrainingPlots.write(run: URL(fileURLWithPath: runDirectory), highlight: Set(highlight)) { print(path) }
    }
}
