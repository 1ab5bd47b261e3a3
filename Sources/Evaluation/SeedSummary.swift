import Foundation

/// Results of the same experiment repeated with several seeds: each method's overall best-of-N
/// accuracy and each PRM's AUROCs per seed with their mean, and, where runs learned domain
/// weights, the weights per seed and which domain ended lowest in each.
public struct SeedSummary: Codable {
    public struct Figure: Codable, Equatable {
        public var perSeed: [Double]
        public var mean: Double { perSeed.reduce(0, +) / Double(Swift.max(perSeed.count, 1)) }
    }

    public var seeds: [String]
    public var methods: [String]
    /// method → overall accuracy per seed.
    public var accuracy: [String: Figure]
    public var questionAUROC: [String: Figure]
    public var chainAUROC: [String: Figure]
    public var stepAUROC: [String: Figure]
    /// "A − B" → paired difference per seed.
    public var differences: [String: Figure]
    /// domain → weight per seed (runs that learned weights).
    public var domainWeights: [String: Figure]
    /// Per seed, the domain with the lowest learned weight.
    public var lowestDomain: [String]

    /// `reports` and `weights` are per seed, in the same order (weights may be empty).
    public static func make(seeds: [String], reports: [EvaluationReport], weights: [[String: Double]]) -> SeedSummary {
        func figure(_ values: [Double?]) -> Figure? {
            let present = values.compactMap { $0 }
            return present.count == values.count ? Figure(perSeed: present) : nil
        }
        let methods = reports.first?.methods ?? []
        var question: [String: Figure] = [:]
        var accuracy: [String: Figure] = [:], chain: [String: Figure] = [:], step: [String: Figure] = [:], differences: [String: Figure] = [:]
        for m in methods { accuracy[m] = figure(reports.map { $0.accuracy[m]?[BestOfNEvaluation.overall]?.accuracy }) }
        for p in reports.first?.chainAUROC.keys.sorted() ?? [] {
            question[p] = figure(reports.map { $0.questionAUROC[p] })
            chain[p] = figure(reports.map { $0.chainAUROC[p] })
            step[p] = figure(reports.map { $0.stepAUROC[p] })
        }
        for d in reports.first?.pairedDifferences ?? [] {
            let key = "\(d.a) − \(d.b)"
            differences[key] = figure(reports.map { r in r.pairedDifferences.first { $0.a == d.a && $0.b == d.b }?.difference })
        }
        var domainWeights: [String: Figure] = [:]
        for domain in Set(weights.flatMap(\.keys)).sorted() { domainWeights[domain] = figure(weights.map { $0[domain] }) }
        let lowest = weights.compactMap { w in w.min { $0.value < $1.value }?.key }
        return SeedSummary(seeds: seeds, methods: methods, accuracy: accuracy, questionAUROC: question, chainAUROC: chain, stepAUROC: step,
                           differences: differences, domainWeights: domainWeights, lowestDomain: lowest)
    }

    public var markdown: String {
        func pct(_ x: Double) -> String { String(format: "%.1f", 100 * x) }
        func row(_ name: String, _ f: Figure, scale: (Double) -> String) -> String {
            "| \(name) | \(scale(f.mean)) | " + f.perSeed.map(scale).joined(separator: " | ") + " |"
        }
        let header = "| | mean | " + seeds.map { "seed \($0)" }.joined(separator: " | ") + " |"
        let rule = "|---|---|" + String(repeating: "---|", count: seeds.count)
        var out = ["Best-of-N accuracy (%), overall, over \(seeds.count) seeds:", "", header, rule]
        out += methods.compactMap { m in accuracy[m].map { row(m, $0, scale: pct) } }
        if !chainAUROC.isEmpty {
            out += ["", "AUROC (%; 50 = chance):", "", header, rule]
            for (p, f) in questionAUROC.sorted(by: { $0.key < $1.key }) { out.append(row("\(p) within-question", f, scale: pct)) }
            for (p, f) in chainAUROC.sorted(by: { $0.key < $1.key }) { out.append(row("\(p) pooled chain", f, scale: pct)) }
            for (p, f) in stepAUROC.sorted(by: { $0.key < $1.key }) { out.append(row("\(p) step", f, scale: pct)) }
        }
        if !differences.isEmpty {
            out += ["", "Paired differences of accuracy (points):", "", header, rule]
            for (k, f) in differences.sorted(by: { $0.key < $1.key }) { out.append(row(k, f) { String(format: "%+.1f", 100 * $0) }) }
        }
        if !domainWeights.isEmpty {
            out += ["", "Learned domain weights:", "", header, rule]
            for (d, f) in domainWeights.sorted(by: { $0.key < $1.key }) { out.append(row(d, f) { String(format: "%.2f", $0) }) }
            out += ["", "Lowest weight per seed: " + lowestDomain.joined(separator: ", ")]
        }
        return out.joined(separator: "\n") + "\n"
    }
}
