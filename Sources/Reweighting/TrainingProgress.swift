import Foundation
import Torch

/// A progress line on the terminal: losses, weights, it/s, ETA.
final class Progress {
    let total: Int
    let log: (String) -> Void
    private let meter: ProgressMeter
    private var lastPrint = Date.distantPast
    private var lastMeta: Double?
    private var lastMetaAccuracy: Double?

    init(total: Int, start: Int, log: @escaping (String) -> Void) {
        self.total = total
        self.log = log
        meter = ProgressMeter(total: total, done: start, unit: "it")
    }

    var elapsed: Double { meter.elapsed }

    func update(_ iteration: Int, lowerLoss: Double, metaLoss: Double?, metaAccuracy: Double?, logits: LogitStatistics,
                weights: [String: Double]?) {
        if let metaLoss { lastMeta = metaLoss }
        if let metaAccuracy { lastMetaAccuracy = metaAccuracy }
        guard Date().timeIntervalSince(lastPrint) >= 1 || iteration == total else { return }
        lastPrint = Date()
        meter.done = iteration
        var parts = ["it \(iteration)/\(total)", String(format: "loss %.4f", lowerLoss)]
        parts.append(String(format: "sat %.2f |z| %.2f", logits.saturatedFraction, logits.meanAbs))
        if let m = lastMeta { parts.append(String(format: "meta %.4f", m)) }
        if let a = lastMetaAccuracy { parts.append(String(format: "meta-acc %.2f", a)) }
        if let w = weights { parts.append("w " + w.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%.2f", $0.value))" }.joined(separator: " ")) }
        parts.append(String(format: "%.2f it/s", meter.rate))
        parts.append("ETA " + meter.eta)
        log(parts.joined(separator: " | "))
    }
}
