import Foundation
import PRM

/// Everything `dreamprm evaluate` measured, as saved in `report.json` and rendered as Markdown.
public struct EvaluationReport: Codable {
    public var testFile: String
    public var questions: Int
    public var candidatesPerQuestion: Int
    public var tieRule: TieRule
    public var aggregation: Aggregation
    /// The main table's rows, in order: each PRM, its last-step score (the PRM read at the final step only), then the baselines.
    public var methods: [String]
    /// PRM name → aggregation → overall accuracy, for every aggregation function.
    public var aggregations: [String: [String: Accuracy]]
    /// method → dataset (and "overall") → accuracy.
    public var accuracy: [String: [String: Accuracy]]
    /// method → n → overall accuracy averaged over candidate subsets of size n.
    public var scaling: [String: [String: Double]]
    /// PRM name → ProcessBench-style result, where records carry first wrong steps.
    public var stepLevel: [String: StepLevelResult]
    /// PRM name → AUROC of its chain ranking score (under `aggregation`) against correctness,
    /// over all candidates of all questions.
    public var chainAUROC: [String: Double]
    /// PRM name → AUROC of the chain ranking score within each question (the pairs a best-of-N
    /// pick compares), averaged over questions that have both correct and wrong candidates.
    public var questionAUROC: [String: Double]
    /// PRM name → AUROC of step logits against "still correct at this step" (before the
    /// chain's first wrong step), where records carry first wrong steps.
    public var stepAUROC: [String: Double]
    /// Paired bootstrap differences of best-of-N accuracy: each PRM against random and first,
    /// and each pair of PRMs.
    public var pairedDifferences: [PairedDifference]
    /// PRM name → its chain scores for correct and wrong chains.
    public var scoreDistributions: [String: ScoreDistribution]

    /// Runs every method on the scored questions. `prms` are the names under which
    /// `questions[i].stepLogits` holds scores, in display order.
    public static func make(_ questions: [CandidateSet], prms: [String], testFile: String, aggregation: Aggregation,
                            tieRule: TieRule, seed: UInt64 = 0) -> EvaluationReport {
        // Every PRM under every aggregation, and the baselines, are scored once; the main
        // table's PRM rows are two of those aggregations under display names.
        let baselines = SelectionMethod.baselines
        let perAggregation = prms.flatMap { p in Aggregation.allCases.map { SelectionMethod.prm(p, $0, tie: tieRule) } }
        let votes = prms.map { SelectionMethod.weightedVote($0, aggregation) }
        let all = BestOfNEvaluation.accuracies(questions, methods: perAggregation + votes + baselines, seed: seed)
        var main: [SelectionMethod] = [], accuracy: [String: [String: Accuracy]] = [:]
        var aggregations: [String: [String: Accuracy]] = [:]
        for (p, vote) in zip(prms, votes) {
            for (a, name) in [(aggregation, p), (Aggregation.last, "\(p) last-step score")] {
                main.append(.prm(p, a, tie: tieRule, name: name))
                accuracy[name] = all["\(p) [\(a.rawValue)]"]
            }
            main.append(vote)
            accuracy[vote.name] = all[vote.name]
            for a in Aggregation.allCases { aggregations[p, default: [:]][a.rawValue] = all["\(p) [\(a.rawValue)]"]![BestOfNEvaluation.overall]! }
        }
        main += baselines
        for b in baselines { accuracy[b.name] = all[b.name] }

        func perQuestion(_ m: SelectionMethod) -> [Double] { questions.map { m.pick($0, Array(0..<$0.count)) } }
        var paired: [PairedDifference] = []
        for (i, p) in prms.enumerated() {
            let values = perQuestion(.prm(p, aggregation, tie: tieRule))
            for b in [SelectionMethod.random, .first] { paired.append(.make(p, b.name, valuesA: values, valuesB: perQuestion(b), seed: seed)) }
            for q in prms[(i + 1)...] { paired.append(.make(p, q, valuesA: values, valuesB: perQuestion(.prm(q, aggregation, tie: tieRule)), seed: seed)) }
        }
        var questionAUROC: [String: Double] = [:]
        var chainAUROC: [String: Double] = [:], stepAUROC: [String: Double] = [:], distributions: [String: ScoreDistribution] = [:]
        for p in prms {
            let chains = questions.flatMap { q in zip(q.stepLogits[p] ?? [], q.correct).map { (aggregation.rankingScore(logits: $0), $1) } }
            chainAUROC[p] = AUROC.compute(scores: chains.map(\.0), positive: chains.map(\.1))
            let withinQuestions = questions.compactMap { q in
                q.stepLogits[p].flatMap { AUROC.compute(scores: $0.map(aggregation.rankingScore), positive: q.correct) }
            }
            if !withinQuestions.isEmpty { questionAUROC[p] = withinQuestions.reduce(0, +) / Double(withinQuestions.count) }
            distributions[p] = ScoreDistribution.make(scores: chains.map(\.0), correct: chains.map(\.1))
            let steps = questions.flatMap { q -> [(Double, Bool)] in
                guard let wrong = q.firstWrongStep, let z = q.stepLogits[p] else { return [] }
                return zip(z, wrong).flatMap { logits, first in logits.enumerated().map { k, v in (v, first.map { k < $0 } ?? true) } }
            }
            stepAUROC[p] = AUROC.compute(scores: steps.map(\.0), positive: steps.map(\.1))
        }
        let curves = BestOfNEvaluation.scaling(questions, methods: main, seed: seed)
        var stepLevel: [String: StepLevelResult] = [:]
        for p in prms {
            let chains = questions.flatMap { q -> [(stepLogits: [Double], firstWrongStep: Int?)] in
                guard let wrong = q.firstWrongStep, let z = q.stepLogits[p] else { return [] }
                return zip(z, wrong).map { ($0, $1) }
            }
            if !chains.isEmpty { stepLevel[p] = StepLevelResult.evaluate(chains) }
        }
        return EvaluationReport(testFile: testFile, questions: questions.count, candidatesPerQuestion: questions.map(\.count).min() ?? 0,
                                tieRule: tieRule, aggregation: aggregation, methods: main.map(\.name),
                                aggregations: aggregations, accuracy: accuracy,
                                scaling: curves.mapValues { Dictionary(uniqueKeysWithValues: $0.map { (String($0.key), $0.value) }) },
                                stepLevel: stepLevel, chainAUROC: chainAUROC, questionAUROC: questionAUROC, stepAUROC: stepAUROC, pairedDifferences: paired,
                                scoreDistributions: distributions)
    }

    public var datasets: [String] {
        let names = Set(accuracy.values.flatMap(\.keys)).subtracting([BestOfNEvaluation.overall])
        return names.sorted() + [BestOfNEvaluation.overall]
    }

    public var markdown: String {
        func pct(_ x: Double) -> String { String(format: "%.1f", 100 * x) }
        func cell(_ a: Accuracy?) -> String { a.map { "\(pct($0.accuracy)) [\(pct($0.interval.low)), \(pct($0.interval.high))]" } ?? "–" }
        var out = ["Best-of-\(candidatesPerQuestion) accuracy (%) on \(questions) questions of `\((testFile as NSString).lastPathComponent)`, "
                   + "95 % bootstrap intervals; PRM aggregation `\(aggregation.rawValue)`, ties: `\(tieRule.rawValue)`.", ""]
        out.append("| method | overall |")
        out.append("|---|---|")
        for m in methods { out.append("| \(m) | \(cell(accuracy[m]?[BestOfNEvaluation.overall])) |") }
        if !chainAUROC.isEmpty {
            out += ["", "Threshold-free (AUROC, 50 = chance: chains by the `\(aggregation.rawValue)` score against correctness, within each "
                    + "question (averaged) and pooled over all questions; steps by their logit against \"no error yet\"):", "",
                    "| PRM | within-question AUROC | pooled chain AUROC | step AUROC |", "|---|---|---|---|"]
            for p in chainAUROC.keys.sorted() {
                out.append("| \(p) | \(questionAUROC[p].map(pct) ?? "–") | \(chainAUROC[p].map(pct) ?? "–") | \(stepAUROC[p].map(pct) ?? "–") |")
            }
        }
        if !pairedDifferences.isEmpty {
            out += ["", "Paired differences of best-of-\(candidatesPerQuestion) accuracy (points; 95 % bootstrap over questions):", "",
                    "| A − B | difference |", "|---|---|"]
            for d in pairedDifferences {
                out.append("| \(d.a) − \(d.b) | \(String(format: "%+.1f", 100 * d.difference)) [\(String(format: "%+.1f", 100 * d.interval.low)), \(String(format: "%+.1f", 100 * d.interval.high))] |")
            }
        }
        let perDataset = datasets.dropLast()
        if perDataset.count > 1 {
            out += ["", "Per dataset (%; questions in brackets):", "", "| dataset | " + methods.joined(separator: " | ") + " |",
                    "|---|" + String(repeating: "---|", count: methods.count)]
            for d in perDataset {
                let n = accuracy[methods[0]]?[d]?.questions ?? 0
                out.append("| \(d) (\(n)) | " + methods.map { m in accuracy[m]?[d].map { pct($0.accuracy) } ?? "–" }.joined(separator: " | ") + " |")
            }
        }
        let sizes = Set(scaling.values.flatMap(\.keys)).compactMap(Int.init).sorted()
        if sizes.count > 1 {
            out += ["", "Scaling (overall %, mean over candidate subsets):", "", "| method | " + sizes.map { "N=\($0)" }.joined(separator: " | ") + " |",
                    "|---|" + String(repeating: "---|", count: sizes.count)]
            for m in methods { out.append("| \(m) | " + sizes.map { n in scaling[m]?[String(n)].map(pct) ?? "–" }.joined(separator: " | ") + " |") }
        }
        if !aggregations.isEmpty {
            let names = Aggregation.allCases.map(\.rawValue)
            out += ["", "PRM selection by aggregation (overall %):", "", "| PRM | " + names.joined(separator: " | ") + " |",
                    "|---|" + String(repeating: "---|", count: names.count)]
            for p in aggregations.keys.sorted() { out.append("| \(p) | " + names.map { aggregations[p]?[$0].map { pct($0.accuracy) } ?? "–" }.joined(separator: " | ") + " |") }
        }
        if !stepLevel.isEmpty {
            out += ["", "Step level (ProcessBench-style, threshold 0.5):", "", "| PRM | erroneous acc | correct acc | F1 | chains (err/ok) |", "|---|---|---|---|---|"]
            for (p, s) in stepLevel.sorted(by: { $0.key < $1.key }) {
                out.append("| \(p) | \(pct(s.erroneousAccuracy)) | \(pct(s.correctAccuracy)) | \(pct(s.f1)) | \(s.erroneousChains)/\(s.correctChains) |")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }
}
