import Foundation
import PRM
import Torch

/// One iteration's line of `metrics.jsonl`. The upper-step fields are present only on
/// iterations that ended an unroll window.
public struct MetricsLine: Codable, Equatable {
    public var iteration: Int
    public var lowerLoss: Double
    public var lr: Double
    public var saturatedFraction: Double
    public var meanAbsLogit: Double
    public var time: Double
    public var tokensPerSecond: Double
    public var metaLoss: Double?
    public var metaAccuracy: Double?
    public var metaSaturatedFraction: Double?
    public var hypergradientNorm: Double?
    /// Named weights (domain weights; for instance weights, their quantiles).
    public var domainWeights: [String: Double]?
    public var weightQuantiles: [String: Double]?
    public var metaTokens: Int?
    public var metaTokensPerPrefix: Int?
    public var upperPhaseSeconds: [String: Double]?
    /// The meta loss of the same batch with every step score pulled halfway to 0.5: when it is
    /// below `metaLoss`, hedging alone would lower the meta loss.
    public var metaLossHedged: Double?
    /// Domain weights: the hypergradient's entry of each domain's raw weight.
    public var hypergradientByDomain: [String: Double]?
    /// Domain weights, every `--alignment_every` upper steps: "<domain>/<group>/dot" (⟨v, ∇ℓ_d⟩
    /// over that parameter group) and "<domain>/<group>/cosine".
    public var alignment: [String: Double]?

    enum CodingKeys: String, CodingKey {
        case iteration, lr, time
        case lowerLoss = "lower_loss", saturatedFraction = "saturated_fraction", meanAbsLogit = "mean_abs_logit"
        case tokensPerSecond = "tokens_per_second", metaLoss = "meta_loss", metaAccuracy = "meta_accuracy"
        case metaSaturatedFraction = "meta_saturated_fraction", hypergradientNorm = "hypergradient_norm"
        case domainWeights = "domain_weights", weightQuantiles = "weight_quantiles", metaTokens = "meta_tokens"
        case metaTokensPerPrefix = "meta_tokens_per_prefix", upperPhaseSeconds = "upper_phase_seconds"
        case metaLossHedged = "meta_loss_hedged", hypergradientByDomain = "hypergradient_by_domain", alignment
    }

    /// The line's numbers as TensorBoard scalars (`weight/<name>`, `weight_quantile/<q>`).
    public var scalars: [String: Double] {
        var s: [String: Double] = ["lower_loss": lowerLoss, "lr": lr, "saturated_fraction": saturatedFraction,
                                   "mean_abs_logit": meanAbsLogit, "tokens_per_second": tokensPerSecond]
        let optional: [String: Double?] = ["meta_loss": metaLoss, "meta_accuracy": metaAccuracy, "meta_saturated_fraction": metaSaturatedFraction,
                                           "hypergradient_norm": hypergradientNorm, "meta_loss_hedged": metaLossHedged,
                                           "meta_tokens": metaTokens.map(Double.init),
                                           "meta_tokens_per_prefix": metaTokensPerPrefix.map(Double.init)]
        for (k, v) in optional { if let v { s[k] = v } }
        for (name, w) in domainWeights ?? [:] { s["weight/\(name)"] = w }
        for (q, w) in weightQuantiles ?? [:] { s["weight_quantile/\(q)"] = w }
        for (name, g) in hypergradientByDomain ?? [:] { s["hypergradient/\(name)"] = g }
        for (key, a) in alignment ?? [:] { s["alignment/\(key)"] = a }
        return s
    }
}

/// Metrics as JSON lines, one `MetricsLine` per iteration, appended as the run goes.
public final class MetricsLog {
    private let handle: FileHandle
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    public init(_ url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) { FileManager.default.createFile(atPath: url.path, contents: nil) }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    public func append(_ line: MetricsLine) throws {
        var data = try encoder.encode(line)
        data.append(0x0A)
        try handle.write(contentsOf: data)
    }

    /// The lines of a metrics file; a line that does not read is an error naming it.
    public static func read(_ url: URL) throws -> [MetricsLine] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").enumerated().map { n, line in
            do { return try JSONDecoder().decode(MetricsLine.self, from: Data(line.utf8)) } catch {
                throw DataError(file: url.path, record: n, message: "is not a metrics line: \(error)")
            }
        }
    }

    /// Keeps the lines up to `iteration` (a resumed run rewrites what came after its checkpoint).
    static func truncate(_ url: URL, after iteration: Int) throws {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let it = obj["iteration"] as? Int else { return false }
            return it <= iteration
        }
        try AtomicFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: url)
    }
}
