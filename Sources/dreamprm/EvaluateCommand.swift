import ArgumentParser
import Evaluation
import Foundation
import PRM
import Torch

/// `dreamprm evaluate`: best-of-N selection by trained PRMs beside the baselines.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Best-of-N accuracy of trained PRMs and of first / random / self-consistency / oracle selection.",
        discussion: """
            Writes to --output: scores-NAME.json (per-step scores; reused when the PRM and test file are unchanged, \
            and resumed if interrupted), report.json, report.md, scaling.png and score_distributions.png. Exit codes: 0 done, 1 failure, 2 bad input data.
            """)

    @Option(name: [.customLong("test_json_file"), .customLong("test-json-file")], help: "Best-of-N records (JSON array or JSON Lines).")
    var testFile: String
    @Option(help: "best-of-n ({question, candidates, true_false, …}) or conversations (1.5 records, grouped by id).")
    var format: String = TestSet.Format.bestOfN.rawValue
    @Option(help: "A trained PRM as NAME=PATH (a `dreamprm train` output directory or its prm.safetensors); repeatable.")
    var prm: [String] = []
    @Option(name: [.customLong("reward_model"), .customLong("reward-model")], help: "Backbone override (default: the one the PRM was trained on).")
    var rewardModel: String?
    @Option(help: "Aggregation of step scores for the main table (all are reported): \(Aggregation.allCases.map(\.rawValue).joined(separator: ", ")).")
    var aggregation: String = Aggregation.meanLogOdds.rawValue
    @Option(name: .customLong("tie-rule"), help: "Among equal PRM scores: first, last (the reference code) or expected (uniform pick, in expectation).")
    var tieRule: String = TieRule.first.rawValue
    @Option(help: "Step splitting of candidates: v1 ('Step N' … 'Final answer'), generic, or separator:TEXT.")
    var splitter: String = "v1"
    @Option(help: "Output directory.")
    var output: String = "runs/evaluate"
    @Option(help: "Seed of the bootstrap and of subset sampling.")
    var seed: UInt64 = 0
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        if let threads = runtime.threads { Runtime.threadCount = threads }
        guard let format = TestSet.Format(rawValue: format) else { throw ValidationError("--format: best-of-n or conversations") }
        guard let aggregation = Aggregation(rawValue: aggregation) else { throw ValidationError("--aggregation: one of \(Aggregation.allCases.map(\.rawValue))") }
        guard let tie = TieRule(rawValue: tieRule) else { throw ValidationError("--tie-rule: first, last or expected") }
        let split: StepSplitter
        switch splitter {
        case "v1": split = .v1
        case "generic": split = .generic
        case let s where s.hasPrefix("separator:"): split = .separator(String(s.dropFirst("separator:".count)), questionFirst: false)
        default: throw ValidationError("--splitter: v1, generic or separator:TEXT")
        }
        let named = try prm.map { spec -> (String, String) in
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--prm takes NAME=PATH, not '\(spec)'") }
            return (parts[0], parts[1])
        }
        func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
        do {
            let testURL = URL(fileURLWithPath: testFile)
            let records = try TestSet.read(testURL, format: format)
            guard !records.isEmpty else { throw DataError(file: testFile, message: "no test records") }
            let out = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            var questions = TestSet.candidateSets(records)
            log("\(records.count) questions, \(records.map(\.candidates.count).min()!)–\(records.map(\.candidates.count).max()!) candidates each")
            if records.contains(where: { $0.imagePath != nil }), !named.isEmpty {
                log("notice: records name images; the PRM backbones here are text-only, so images are ignored")
            }
            for (name, path) in named {
                log("scoring with \(name) (\(path))")
                let trained = try TrainedPRM.load(URL(fileURLWithPath: path), rewardModel: rewardModel, device: try Device(parsing: runtime.device))
                let scores = try ScoreCache.scores(for: trained, records: records, testFile: testURL, splitter: split,
                                                   cache: out.appendingPathComponent("scores-\(name).json"), log: log)
                for (i, candidates) in scores.enumerated() {
                    for (j, steps) in candidates.enumerated() where steps.contains(where: { !$0.isFinite }) {
                        throw DataError(file: testFile, record: i, field: "candidates[\(j)]",
                                        message: "\(name) gives a non-finite step score (\(steps)) to this candidate; the question cannot be ranked")
                    }
                    questions[i].stepLogits[name] = candidates
                }
            }
            let report = EvaluationReport.make(questions, prms: named.map(\.0), testFile: testFile, aggregation: aggregation, tieRule: tie, seed: seed)
            try ReportFiles.write(report, to: out)
            print(report.markdown)
            print("report: \(out.appendingPathComponent("report.md").path), plot: \(out.appendingPathComponent("scaling.png").path)")
        } catch let e as DataError {
            log("error: \(e)")
            throw ExitCode(2)
        }
    }
}
