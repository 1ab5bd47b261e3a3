import ArgumentParser
import Evaluation
import Foundation
import Imaging
import PRM
import Torch

/// `dreamprm evaluate`: best-of-N selection by trained PRMs beside the baselines.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Best-of-N accuracy of trained PRMs and of first / random / self-consistency / oracle selection.",
        discussion: """
            Writes to --output: scores-NAME.json (per-step scores; reused when the PRM and test file are unchanged, \
            and resumed if interrupted), report.json, report.md, scaling.png and score_distributions.png. Exit codes: 0 done, 1 failure, 2 bad input (a flag, a path, a data file).
            """)

    @Option(name: [.customLong("test_json_file"), .customLong("test-json-file")], help: "Best-of-N records (JSON array or JSON Lines).")
    var testFile: String
    @Option(help: "best-of-n ({question, candidates, true_false, …}) or conversations (1.5 records, grouped by id).")
    var format: String = TestSet.Format.bestOfN.rawValue
    @Option(help: "A trained PRM as NAME=PATH (a `dreamprm train` output directory or its prm.safetensors); repeatable.")
    var prm: [String] = []
    @Option(name: [.customLong("reward_model"), .customLong("reward-model")], help: "Backbone override (default: the one the PRM was trained on).")
    var rewardModel: String?
    @Option(help: "Aggregation of step scores for the main table (all are reported): \(Aggregation.allCases.map(\.rawValue).joined(separator: ", ")). The default, mean-log-odds, is the same for both PRM styles: a generative (1.5) PRM's step score is the log-odds of P(+), logit(+) − logsumexp(other logits); `mean` gives the 1.5 papers' mean P(+), ranked on its log-odds so near-certain chains do not tie.")
    var aggregation: String = Aggregation.meanLogOdds.rawValue
    @Option(name: .customLong("tie-rule"), help: "Among equal PRM scores: first, last (the reference code) or expected (uniform pick, in expectation).")
    var tieRule: String = TieRule.first.rawValue
    @Option(help: "Step splitting of candidates: v1 ('Step N' … 'Final answer'), generic, or separator:TEXT. A generative PRM reads the whole candidate: text before the first step joins it and the final-answer line joins the last, as in its training conversations; --format conversations keeps each response's own turns.")
    var splitter: String = "v1"
    @Option(help: "Output directory.")
    var output: String = "runs/evaluate"
    @Option(help: "Seed of the bootstrap and of subset sampling.")
    var seed: UInt64 = 0
    @OptionGroup var runtime: RuntimeOptions

    /// Checks every flag and path before a model loads.
    func validated() throws -> (format: TestSet.Format, aggregation: Aggregation, tie: TieRule, splitter: StepSplitter, device: Device,
                                prms: [(name: String, path: String)]) {
        guard let format = TestSet.Format(rawValue: format) else { throw SettingError("format", "best-of-n or conversations, not '\(self.format)'") }
        guard let aggregation = Aggregation(rawValue: aggregation) else {
            throw SettingError("aggregation", "one of \(Aggregation.allCases.map(\.rawValue).joined(separator: ", ")), not '\(self.aggregation)'")
        }
        guard let tie = TieRule(rawValue: tieRule) else { throw SettingError("tie-rule", "first, last or expected, not '\(tieRule)'") }
        let split = try StepSplitter(flag: splitter)
        if let threads = runtime.threads { try Check.atLeast(threads, 1, "threads") }
        let device = try Check.device(runtime.device)
        try Check.inputFile(testFile, "test_json_file")
        try Check.outputDirectory(output, "output")
        let reserved = Set(SelectionMethod.baselines.map(\.name))
        var names = Set<String>()
        let prms = try prm.map { spec -> (name: String, path: String) in
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else { throw SettingError("prm", "takes NAME=PATH, not '\(spec)'") }
            let (name, path) = (parts[0], parts[1])
            // The name becomes a file name (scores-NAME.json) and a table row.
            guard !name.isEmpty, !name.hasPrefix("."), name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw SettingError("prm", "'\(name)' is not a plain name (letters, digits, '-', '_', '.'; not starting with '.')")
            }
            guard !reserved.contains(name) else { throw SettingError("prm", "'\(name)' is the name of a baseline row; choose another") }
            guard names.insert(name).inserted else { throw SettingError("prm", "the name '\(name)' is given twice") }
            guard FileManager.default.fileExists(atPath: path) else { throw SettingError("prm", "\(name): '\(path)' does not exist") }
            return (name, path)
        }
        return (format, aggregation, tie, split, device, prms)
    }

    func run() throws {
        let v = try validated()
        if let threads = runtime.threads { Runtime.threadCount = threads }
        let terminal = TerminalLog()
        func log(_ s: String) { s.hasPrefix("scored ") ? terminal.progress(s) : terminal.message(s) }
        let testURL = URL(fileURLWithPath: testFile)
        let records = try TestSet.read(testURL, format: v.format)
        guard !records.isEmpty else { throw DataError(file: testFile, message: "no test records") }
        let out = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for (i, r) in records.enumerated() {
            for (j, wrong) in (r.firstWrongStep ?? []).enumerated() {
                guard let wrong else { continue }
                let steps = TrainedPRM.prefixTexts(question: r.question, candidate: r.candidates[j], splitter: v.splitter).count
                guard wrong < steps else {
                    throw DataError(file: testFile, record: i, field: "first_wrong_step[\(j)]",
                                    message: "is step \(wrong) (0-based), but candidate \(j) has \(steps) steps under --splitter \(splitter)")
                }
            }
        }
        var questions = TestSet.candidateSets(records)
        log("\(records.count) questions, \(records.map(\.candidates.count).min()!)–\(records.map(\.candidates.count).max()!) candidates each")
        // `scoring` names how scores are computed: a cache from an older way is scored anew.
        let settings = "splitter=\(splitter)|format=\(v.format.rawValue)|reward_model=\(rewardModel ?? "as trained")|scoring=2"
        // All PRMs load first: the bottom layers they share then run once per question.
        var prms: [(trained: LoadedPRM, cache: URL)] = []
        for (name, path) in v.prms {
            log("loading \(name) (\(path))")
            do { prms.append((try LoadedPRM.load(URL(fileURLWithPath: path), rewardModel: rewardModel, device: v.device),
                              out.appendingPathComponent("scores-\(name).json"))) } catch {
                throw SettingError("prm", "\(name): cannot load '\(path)': \(error)")
            }
        }
        if records.contains(where: { $0.imagePath != nil }) {
            for ((name, _), prm) in zip(v.prms, prms) where !prm.trained.readsImages {
                log("notice: records name images; \(name)'s backbone is text-only, so it ignores them")
            }
            // Every image is read before scoring starts: a bad one stops the run with nothing written.
            if prms.contains(where: { $0.trained.readsImages }) {
                for (i, r) in records.enumerated() {
                    guard let path = r.imagePath else { continue }
                    _ = try PromptImages.reading(file: testFile, record: i, field: "image_path") {
                        try ImageFile.read(PromptImages.location(of: path, inDataFile: testFile))
                    }
                }
            }
        }
        if !prms.isEmpty { log("scoring with \(v.prms.map(\.name).joined(separator: ", "))") }
        let scored = prms.isEmpty ? [] : try ScoreCache.scores(for: prms, records: records, testFile: testURL, splitter: v.splitter,
                                                               settings: settings, log: log)
        for ((name, _), scores) in zip(v.prms, scored) {
            for (i, candidates) in scores.enumerated() {
                for (j, steps) in candidates.enumerated() where steps.contains(where: { !$0.isFinite }) {
                    throw DataError(file: testFile, record: i, field: "candidates[\(j)]",
                                    message: "\(name) gives a non-finite step score (\(steps)) to this candidate; the question cannot be ranked")
                }
                questions[i].stepLogits[name] = candidates
            }
        }
        terminal.finish()
        let report = EvaluationReport.make(questions, prms: v.prms.map(\.name), testFile: testFile, aggregation: v.aggregation, tieRule: v.tie, seed: seed)
        try ReportFiles.write(report, to: out)
        print(report.markdown)
        print("report: \(out.appendingPathComponent("report.md").path), plot: \(out.appendingPathComponent("scaling.png").path)")
    }
}
