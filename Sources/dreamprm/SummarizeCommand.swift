import ArgumentParser
import Evaluation
import Foundation
import PRM
import Torch

/// `dreamprm summarize`: one experiment run with several seeds, as one table.
struct Summarize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mean and per-seed figures of several `dreamprm evaluate` reports (and the runs' learned domain weights).",
        discussion: "Writes summary.json and summary.md to --output and prints the Markdown. Exit code 2 for an unreadable input.")

    @Option(help: "An `evaluate` output directory (its report.json), one per seed, in seed order; repeatable.")
    var eval: [String] = []
    @Option(name: .customLong("run"), help: "A training run directory (its domain_weights.json), one per seed in the same order; repeatable, optional.")
    var runs: [String] = []
    @Option(help: "Seed labels, comma-separated (default 1, 2, …).")
    var seeds: String?
    @Option(help: "Output directory.")
    var output: String = "runs/summary"

    func run() throws {
        guard !eval.isEmpty else { throw ValidationError("--eval: at least one evaluate output directory") }
        guard runs.isEmpty || runs.count == eval.count else { throw ValidationError("--run: one per --eval (\(eval.count)), or none") }
        let labels = seeds.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? eval.indices.map { String($0 + 1) }
        guard labels.count == eval.count else { throw ValidationError("--seeds: \(eval.count) labels, one per --eval") }
        try Check.outputDirectory(output, "output")
        let reports = try eval.map { dir -> EvaluationReport in
            let file = URL(fileURLWithPath: dir).appendingPathComponent("report.json")
            do { return try JSONDecoder().decode(EvaluationReport.self, from: Data(contentsOf: file)) } catch {
                throw DataError(file: file.path, message: "not a readable evaluation report: \(error)")
            }
        }
        let weights = try runs.map { dir -> [String: Double] in
            let file = URL(fileURLWithPath: dir).appendingPathComponent("domain_weights.json")
            do { return try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: file)) } catch {
                throw DataError(file: file.path, message: "not a readable domain_weights.json: \(error)")
            }
        }
        let summary = SeedSummary.make(seeds: labels, reports: reports, weights: weights)
        let out = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(summary), to: out.appendingPathComponent("summary.json"))
        try AtomicFile.write(Data(summary.markdown.utf8), to: out.appendingPathComponent("summary.md"))
        print(summary.markdown)
    }
}
