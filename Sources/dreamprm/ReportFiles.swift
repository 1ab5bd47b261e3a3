import Evaluation
import Foundation
import Plotting
import PRM
import Reweighting
import Torch

/// Writes what users read after a run: JSON, Markdown and PNG plots.
enum ReportFiles {
    static func write(_ report: EvaluationReport, to dir: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(report), to: dir.appendingPathComponent("report.json"))
        try AtomicFile.write(Data(report.markdown.utf8), to: dir.appendingPathComponent("report.md"))
        let distributions = report.scoreDistributions.sorted { $0.key < $1.key }.flatMap { name, d in
            [LineChart.Series(name: "\(name): correct chains", points: zip(d.centers, d.correct).map { (x: $0, y: Double($1)) }, markers: true),
             LineChart.Series(name: "\(name): wrong chains", points: zip(d.centers, d.wrong).map { (x: $0, y: Double($1)) }, markers: true, dashed: true)]
        }
        if !distributions.isEmpty {
            let chart = LineChart(title: "Chain scores (\(report.aggregation.rawValue), before the sigmoid) of correct and wrong chains",
                                  xLabel: "score", yLabel: "chains", series: distributions)
            try AtomicFile.write(chart.render(width: 900, height: 480).png(), to: dir.appendingPathComponent("score_distributions.png"))
        }
        let series = report.methods.compactMap { m -> LineChart.Series? in
            guard let curve = report.scaling[m], curve.count > 1 else { return nil }
            let points = curve.compactMap { k, v in Int(k).map { (x: Double($0), y: 100 * v) } }.sorted { $0.x < $1.x }
            return LineChart.Series(name: m, points: points, markers: true, dashed: m.hasSuffix("last-step score"))
        }
        guard !series.isEmpty else { return }
        let sizes = Set(series.flatMap { $0.points.map(\.x) }).sorted()
        let chart = LineChart(title: "Best-of-N accuracy vs number of candidates", xLabel: "N (candidates)", yLabel: "accuracy (%)",
                              series: series, logX: true, xTicks: sizes)
        try AtomicFile.write(chart.render(width: 900, height: 480).png(), to: dir.appendingPathComponent("scaling.png"))
    }
}

/// Plots of a training run from its metrics.jsonl and domain_weights.json.
enum TrainingPlots {
    /// Writes domain_weights.png (when weights were learned), training_losses.png,
    /// weight_trajectories.png and gradient_alignment.png into the run directory; returns their paths.
    @discardableResult
    static func write(run dir: URL, highlight: Set<String> = []) throws -> [String] {
        let metricsURL = dir.appendingPathComponent("metrics.jsonl")
        let lines = try MetricsLog.read(metricsURL)
        guard !lines.isEmpty else { throw DataError(file: metricsURL.path, message: "no metrics lines") }
        var written: [String] = []
        func save(_ canvas: Canvas, _ name: String) throws {
            let url = dir.appendingPathComponent(name)
            try AtomicFile.write(canvas.png(), to: url)
            written.append(url.path)
        }
        let lower = lines.map { (x: Double($0.iteration), y: $0.lowerLoss) }
        let meta = lines.compactMap { l in l.metaLoss.map { (x: Double(l.iteration), y: $0) } }
        var series = [LineChart.Series(name: "lower loss (moving mean of 25)", points: movingMean(lower, window: 25))]
        if !meta.isEmpty { series.append(LineChart.Series(name: "meta loss (moving mean of 10)", points: movingMean(meta, window: 10))) }
        let hedged = lines.compactMap { l in l.metaLossHedged.map { (x: Double(l.iteration), y: $0) } }
        if !hedged.isEmpty {
            series.append(LineChart.Series(name: "meta loss, scores pulled halfway to 0.5 (moving mean of 10)",
                                           points: movingMean(hedged, window: 10), dashed: true))
        }
        try save(LineChart(title: "Training losses", xLabel: "iteration", yLabel: "loss", series: series).render(), "training_losses.png")

        written += try instancePlots(run: dir, lines: lines)
        let trajectories = lines.compactMap { l in l.domainWeights.map { (Double(l.iteration), $0) } }
        guard let final = trajectories.last?.1, !final.isEmpty else { return written }
        let domains = final.keys.sorted()
        let weightSeries = domains.map { d in
            LineChart.Series(name: d, points: trajectories.compactMap { i, w in w[d].map { (x: i, y: $0) } }, dashed: highlight.contains(d))
        }
        try save(LineChart(title: "Domain weights during training", xLabel: "iteration", yLabel: "weight", series: weightSeries).render(),
                 "weight_trajectories.png")
        let alignment = lines.compactMap { l in l.alignment.map { (Double(l.iteration), $0) } }
        if !alignment.isEmpty {
            let keys = Set(alignment.flatMap { $0.1.keys.filter { $0.hasSuffix("/cosine") } }).sorted()
            // One measurement is one meta batch against a few records: smoothed, the sign shows.
            let series = keys.map { key in
                LineChart.Series(name: String(key.dropLast("/cosine".count)),
                                 points: movingMean(alignment.compactMap { i, a in a[key].map { (x: i, y: $0) } },
                                                    window: 10),
                                 dashed: key.contains("/head/"))
            }
            let title = "Cosine of each domain's gradient with the meta gradient (moving mean of 10; head dashed)"
            try save(LineChart(title: title, xLabel: "iteration", yLabel: "cosine", series: series).render(),
                     "gradient_alignment.png")
        }
        let bars = domains.map { (label: $0, value: final[$0]!) }
        try save(BarChart(title: "Learned domain weights (1 = unweighted)", xLabel: "domain", yLabel: "weight", bars: bars, reference: 1,
                          highlight: highlight).render(), "domain_weights.png")
        return written
    }

    /// For instance weights: their quantiles during training, a histogram of the learned
    /// weights, and each instance's weight against its mean training loss.
    static func instancePlots(run dir: URL, lines: [MetricsLine]) throws -> [String] {
        let weightsURL = dir.appendingPathComponent("instance_weights.json")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else { return [] }
        var written: [String] = []
        func save(_ canvas: Canvas, _ name: String) throws {
            let url = dir.appendingPathComponent(name)
            try AtomicFile.write(canvas.png(), to: url)
            written.append(url.path)
        }
        let quantiles = lines.compactMap { l in l.weightQuantiles.map { (Double(l.iteration), $0) } }
        if !quantiles.isEmpty {
            let series = ["max", "q75", "median", "q25", "min"].map { q in
                LineChart.Series(name: q, points: quantiles.compactMap { i, w in w[q].map { (x: i, y: $0) } }, dashed: q != "median")
            }
            try save(LineChart(title: "Instance weight quantiles during training", xLabel: "iteration", yLabel: "weight", series: series).render(),
                     "weight_quantiles.png")
        }
        let weights = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: weightsURL))
        guard let low = weights.values.min(), let high = weights.values.max() else { return written }
        let bins = 12, width = Swift.max(high - low, 1e-12) / Double(bins)
        var counts = [Int](repeating: 0, count: bins)
        for w in weights.values { counts[Swift.min(bins - 1, Int((w - low) / width))] += 1 }
        let bars = counts.enumerated().map { (label: String(format: "%.3g", low + (Double($0.offset) + 0.5) * width), value: Double($0.element)) }
        try save(BarChart(title: "Learned instance weights (\(weights.count) instances)", xLabel: "weight (bin centre)", yLabel: "instances",
                          bars: bars).render(), "weight_histogram.png")
        let lossesURL = dir.appendingPathComponent("instance_losses.json")
        if let losses = try? JSONDecoder().decode([String: Double].self, from: Data(contentsOf: lossesURL)) {
            let points = losses.compactMap { id, loss in weights[id].map { (x: loss, y: $0) } }.sorted { $0.x < $1.x }
            try save(LineChart(title: "Instance weight against its mean training loss", xLabel: "mean training loss", yLabel: "weight",
                               series: [LineChart.Series(name: "instance", points: points, markers: true, lines: false)]).render(),
                     "weight_vs_loss.png")
        }
        return written
    }

    static func movingMean(_ points: [(x: Double, y: Double)], window: Int) -> [(x: Double, y: Double)] {
        guard !points.isEmpty else { return [] }
        var out: [(x: Double, y: Double)] = [], sum = 0.0
        for (i, p) in points.enumerated() {
            sum += p.y
            if i >= window { sum -= points[i - window].y }
            out.append((p.x, sum / Double(Swift.min(i + 1, window))))
        }
        return out
    }
}
