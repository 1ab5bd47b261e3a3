import Foundation
import Torch

/// How per-step scores become one chain score in (0, 1), shared by the meta loss and
/// best-of-N. Inputs are per-step logits z [B, K] (p = σ(z)) with a mask [B, K] marking real
/// steps, so chains with different step counts batch together. Everything is computed from z
/// (log σ, σ of sums), never from log(p / (1 − p)), which overflows once p rounds to 1.
public enum Aggregation: String, CaseIterable, Codable, Sendable {
    case mean, min, max, product, last
    /// σ(mean z): DreamPRM's code (METHOD.md §4).
    case meanLogOdds = "mean-log-odds"
    /// σ(Σ z): the DreamPRM paper's formula.
    case sumLogOdds = "sum-log-odds"
    /// exp(mean log p): the geometric mean of the step probabilities.
    case logMean = "log-mean"

    public func callAsFunction(logits z: Tensor, mask: Tensor) throws -> Tensor {
        let valid = try mask.to(.bool)
        let m = try valid.to(z.dtype)
        let count = try m.sum(dim: 1).clamp(min: 1)
        let p = try z.sigmoid()
        switch self {
        case .mean: return try (p * m).sum(dim: 1) / count
        case .min: return try p.maskedFill(valid.logicalNot(), .infinity).min(dim: 1)
        case .max: return try p.maskedFill(valid.logicalNot(), -.infinity).max(dim: 1)
        case .product: return try (z.logSigmoid() * m).sum(dim: 1).exp()
        case .last:
            let lastIndex = try (count - 1).to(.int64).unsqueeze(1)
            return try p.gather(dim: 1, index: lastIndex).squeeze(1)
        case .meanLogOdds: return try ((z * m).sum(dim: 1) / count).sigmoid()
        case .sumLogOdds: return try (z * m).sum(dim: 1).sigmoid()
        case .logMean: return try ((z.logSigmoid() * m).sum(dim: 1) / count).exp()
        }
    }
}

/// What the v1 upper level minimises over a meta batch of chain scores s = aggregate(z).
public enum MetaObjective: String, Codable, CaseIterable, Sendable {
    /// (s − y)², the reference: a PRM that scores every chain 0.5 costs 0.25, less than a
    /// confident PRM that is sometimes wrong, so it rewards hedging.
    case squared
    /// −y log s − (1 − y) log(1 − s), on the aggregate's log-odds.
    case log
    /// log(1 + exp(−(a_r − a_w))) over every pair of a right chain r and a wrong chain w of the
    /// batch, a the aggregate's log-odds: only their order counts, so neither hedging nor a
    /// shift of every score lowers it (needs batches holding both labels: `--batch_strata label`).
    case rank
}

/// Per-sample losses of the PRM (METHOD.md §3–4). Each returns one value per sample so the
/// bi-level engine can weight them; reduce with the weights afterwards.
public enum PRMLoss {
    /// v1 lower level: (p − accuracy)² with p = σ(z), z the head's logit [B].
    public static func mse(logits z: Tensor, accuracy: Tensor) throws -> Tensor {
        try (z.sigmoid() - accuracy).square()
    }

    /// Soft-label binary cross-entropy on the head's logit against the Monte-Carlo accuracy.
    public static func softBCE(logits z: Tensor, accuracy: Tensor) throws -> Tensor {
        try Loss.binaryCrossEntropyWithLogits(z, accuracy, reduction: .none)
    }

    /// v1 upper level: (aggregate(z) − y)² per chain; `.meanLogOdds` is the reference code,
    /// `.sumLogOdds` the paper.
    public static func v1Meta(stepLogits z: Tensor, mask: Tensor, label y: Tensor,
                              aggregation: Aggregation = .meanLogOdds) throws -> Tensor {
        try (aggregation(logits: z, mask: mask) - y).square()
    }

    /// v1 upper level over a meta batch: `objective` of each chain's aggregate against its
    /// label, each chain counting `weights[i]` in the batch mean. `chainLogits[i]` is [1, K_i].
    public static func v1Meta(chainLogits: [Tensor], labels: [Float], weights: [Double], aggregation: Aggregation,
                              objective: MetaObjective) throws -> Tensor {
        let device = chainLogits[0].device
        let ones = { (z: Tensor) in try Tensor.ones(z.shape, dtype: .bool, device: device) }
        let dtype = chainLogits[0].dtype
        let y = try Tensor(labels).to(dtype).to(device)
        let w = try Tensor(weights).to(dtype).to(device)
        switch objective {
        case .squared:
            let s = try Tensor.cat(chainLogits.map { try aggregation(logits: $0, mask: ones($0)) })
            return try ((s - y).square() * w).sum() / Double(labels.count)
        case .log:
            let a = try Tensor.cat(chainLogits.map { try aggregation.logOdds(logits: $0, mask: ones($0)) })
            return try (Loss.binaryCrossEntropyWithLogits(a, y, reduction: .none) * w).sum() / Double(labels.count)
        case .rank:
            // Every (right r, wrong w) pair of the batch: log(1 + exp(−(a_r − a_w))), weighted w_r·w_w.
            let a = try Tensor.cat(chainLogits.map { try aggregation.logOdds(logits: $0, mask: ones($0)) })
            var pairs: [Float] = []
            for i in labels.indices {
                for j in labels.indices {
                    pairs.append(labels[i] > 0.5 && labels[j] < 0.5 ? Float(weights[i] * weights[j]) : 0)
                }
            }
            let n = labels.count
            let pairWeights = try Tensor(pairs, shape: [n, n]).to(dtype).to(device)
            let total = pairs.reduce(0, +)
            guard total > 0 else { return try a.sum() * 0 }
            let margins = try a.unsqueeze(1) - a.unsqueeze(0)
            return try (-(margins.logSigmoid()) * pairWeights).sum() / Double(total)
        }
    }

    /// 1.5 upper level, from the log-probabilities of the `+` and `-` tokens at each step
    /// [B, K]: `target: .plus` gives (agg P(+) − y)²; `.both` (the default) judges negative
    /// chains by P(−) and gives (1 − agg P(label token))². `aggregation` acts on the judged
    /// token's log-odds log p − log(1 − p), so `.mean` is the plain mean probability, and
    /// every aggregation works. No sigmoid on top: these are probabilities.
    public enum GenerativeTarget: String, Codable, CaseIterable, Sendable { case plus = "+", both }

    /// 1.5 lower level, per step: cross-entropy of the label token, the softmax taken over the
    /// whole vocabulary. `logProbabilities` [K, V] (as `GenerativePRM.labelLogProbabilities`
    /// gives them), `target` [K] the probability that step k is right: 1 or 0 for hard `+`/`-`
    /// labels, a Monte-Carlo accuracy for soft ones (−a log P(+) − (1 − a) log P(−)).
    public static func generativeCE(logProbabilities: Tensor, plus: Int, minus: Int, target a: Tensor) throws -> Tensor {
        let logPlus = try logProbabilities.narrow(dim: 1, start: plus, length: 1).squeeze(1)
        let logMinus = try logProbabilities.narrow(dim: 1, start: minus, length: 1).squeeze(1)
        return try -(a * logPlus + (1.0 - a) * logMinus)
    }

    public static func generativeMeta(logProbabilityPlus logPlus: Tensor, logProbabilityMinus logMinus: Tensor, mask: Tensor,
                                      label y: Tensor, target: GenerativeTarget = .both, aggregation: Aggregation = .mean) throws -> Tensor {
        let valid = try mask.to(.bool)
        let judged = target == .plus ? logPlus : try Tensor.where(y.gt(0.5).unsqueeze(1), logPlus, logMinus)
        // log(1 − p) = log(−expm1(log p)); p is kept just below 1 so the log-odds stay finite.
        let logP = try judged.clamp(max: -1e-6)
        let logOdds = try (logP - (-logP.expm1()).log()).maskedFill(valid.logicalNot(), 0)
        let score = try aggregation(logits: logOdds, mask: valid)
        switch target {
        case .plus: return try (score - y).square()
        case .both: return try (1.0 - score).square()
        }
    }
}

extension Aggregation {
    /// The aggregate's log-odds [B]: σ's argument itself for the log-odds aggregations (exact
    /// however confident), else log s − log(1 − s) with s kept inside (0, 1).
    public func logOdds(logits z: Tensor, mask: Tensor) throws -> Tensor {
        let m = try mask.to(.bool).to(z.dtype)
        switch self {
        case .meanLogOdds: return try (z * m).sum(dim: 1) / m.sum(dim: 1).clamp(min: 1)
        case .sumLogOdds: return try (z * m).sum(dim: 1)
        default:
            let s = try self(logits: z, mask: mask).clamp(min: 1e-7, max: 1 - 1e-7)
            return try s.log() - (-s).log1p()
        }
    }

    /// The same aggregation of one chain's step logits, in Double, for scoring outside autograd.
    public func score(logits z: [Double]) -> Double {
        precondition(!z.isEmpty, "a chain with no steps has no score")
        func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
        let logSigmoid = Self.logSigmoid
        let n = Double(z.count)
        switch self {
        case .mean: return z.map(sigmoid).reduce(0, +) / n
        case .min: return sigmoid(z.min()!)
        case .max: return sigmoid(z.max()!)
        case .product: return exp(z.map(logSigmoid).reduce(0, +))
        case .last: return sigmoid(z.last!)
        case .meanLogOdds: return sigmoid(z.reduce(0, +) / n)
        case .sumLogOdds: return sigmoid(z.reduce(0, +))
        case .logMean: return exp(z.map(logSigmoid).reduce(0, +) / n)
        }
    }

    /// A value that orders chains exactly as `score` does but never rounds to a tie: the
    /// argument of σ or of exp (σ(Σ z) is 1.0 in Double for every Σ z above ~37, so ranking
    /// on it ties chains the PRM tells apart). For `mean` it is the log-odds of the mean
    /// probability, log Σσ(z) − log Σσ(−z), each sum taken in log space.
    public func rankingScore(logits z: [Double]) -> Double {
        precondition(!z.isEmpty, "a chain with no steps has no score")
        let logSigmoid = Self.logSigmoid
        let n = Double(z.count)
        switch self {
        case .mean: return Self.logSumExp(z.map(logSigmoid)) - Self.logSumExp(z.map { logSigmoid(-$0) })
        case .min: return z.min()!
        case .max: return z.max()!
        case .product: return z.map(logSigmoid).reduce(0, +)
        case .last: return z.last!
        case .meanLogOdds: return z.reduce(0, +) / n
        case .sumLogOdds: return z.reduce(0, +)
        case .logMean: return z.map(logSigmoid).reduce(0, +) / n
        }
    }

    /// 1 − score, without the rounding of 1 − score near 1 (where every saturated chain's
    /// score is 1.0): the weighted vote counts the weights by what they lack.
    public func complement(logits z: [Double]) -> Double {
        let r = rankingScore(logits: z)
        switch self {
        case .product, .logMean: return -expm1(r)
        default: return r >= 0 ? exp(-r) / (1 + exp(-r)) : 1 / (1 + exp(r))
        }
    }

    private static func logSumExp(_ x: [Double]) -> Double {
        let top = x.max()!
        guard top.isFinite else { return top }
        return top + log(x.reduce(0) { $0 + exp($1 - top) })
    }

    /// log σ(x) without overflow: −log(1 + e^(−x)).
    private static func logSigmoid(_ x: Double) -> Double { Swift.min(x, 0) - log1p(exp(-abs(x))) }
}
