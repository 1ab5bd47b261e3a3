import CTorch
import Foundation

/// How a loss reduces its per-element values.
public enum Reduction: Int32, Sendable {
    case none = 0, mean = 1, sum = 2
}

// Neural-network functions: products, normalisation, attention, losses, sampling.

extension Tensor {
    public func matmul(_ other: Tensor) throws -> Tensor {
        try check(ct_matmul(handle, other.handle), "Tensor.matmul(\(shape), \(other.shape))")
    }

    /// The inner product of the two tensors' elements (flattened; same count and dtype).
    public func dot(_ other: Tensor) throws -> Tensor {
        try check(ct_dot(handle, other.handle), "Tensor.dot(\(shape), \(other.shape))")
    }

    /// self + alpha · other in one pass.
    public func adding(_ other: Tensor, alpha: Double) throws -> Tensor {
        try check(ct_add_scaled(handle, other.handle, alpha), "Tensor.adding(alpha:)")
    }

    /// Batched matrix product of [B, n, m] and [B, m, p].
    public func bmm(_ other: Tensor) throws -> Tensor {
        try check(ct_bmm(handle, other.handle), "Tensor.bmm(\(shape), \(other.shape))")
    }

    /// `self · weightᵀ + bias`, as `torch.nn.functional.linear`.
    public func linear(_ weight: Tensor, _ bias: Tensor? = nil) throws -> Tensor {
        try check(ct_linear(handle, weight.handle, bias?.handle), "linear(\(shape), weight \(weight.shape))")
    }

    public func softmax(dim: Int) throws -> Tensor { try check(ct_softmax(handle, Int64(dim)), "Tensor.softmax") }
    public func logSoftmax(dim: Int) throws -> Tensor { try check(ct_log_softmax(handle, Int64(dim)), "Tensor.logSoftmax") }

    public func layerNorm(_ normalizedShape: [Int], weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) throws -> Tensor {
        let d = normalizedShape.map(Int64.init)
        return try check(d.withUnsafeBufferPointer {
            ct_layer_norm(handle, $0.baseAddress, Int32(d.count), weight?.handle, bias?.handle, eps)
        }, "Tensor.layerNorm")
    }

    public func rmsNorm(_ normalizedShape: [Int], weight: Tensor?, eps: Double = 1e-6) throws -> Tensor {
        let d = normalizedShape.map(Int64.init)
        return try check(d.withUnsafeBufferPointer {
            ct_rms_norm(handle, $0.baseAddress, Int32(d.count), weight?.handle, eps)
        }, "Tensor.rmsNorm")
    }

    /// Rows of `weight` picked by the integer tensor `indices`.
    public static func embedding(_ weight: Tensor, _ indices: Tensor) throws -> Tensor {
        try check(ct_embedding(weight.handle, indices.handle), "embedding(weight \(weight.shape), indices \(indices.shape))")
    }

    /// Scaled dot-product attention over [..., L, E] queries and [..., S, E] keys/values.
    /// `mask` is boolean (true = attend) or additive; `scale` defaults to 1/√E.
    /// Inside `AttentionKernel.twiceDifferentiable` it runs as plain matmul and softmax.
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                                 isCausal: Bool = false, scale: Double? = nil,
                                                 enableGQA: Bool = false) throws -> Tensor {
        if AttentionKernel.differentiableTwice {
            return try AttentionKernel.math(query: query, key: key, value: value, mask: mask, isCausal: isCausal, scale: scale)
        }
        return try check(ct_sdpa(query.handle, key.handle, value.handle, mask?.handle, isCausal ? 1 : 0,
                          scale ?? .nan, enableGQA ? 1 : 0), "scaledDotProductAttention")
    }

    /// Draws `count` category indices per row from the (unnormalised) probabilities.
    public func multinomial(_ count: Int, replacement: Bool = false) throws -> Tensor {
        try check(ct_multinomial(handle, Int64(count), replacement ? 1 : 0), "Tensor.multinomial")
    }
}

/// Loss functions with PyTorch's semantics.
public enum Loss {
    public static func mse(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) throws -> Tensor {
        try check(ct_mse_loss(input.handle, target.handle, reduction.rawValue), "Loss.mse")
    }

    /// Cross-entropy over class logits. `target` holds class indices (int64; `ignoreIndex`
    /// entries contribute nothing) or class probabilities of the logits' shape (soft targets).
    public static func crossEntropy(_ logits: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean,
                                    ignoreIndex: Int = -100, labelSmoothing: Double = 0) throws -> Tensor {
        try check(ct_cross_entropy(logits.handle, target.handle, weight?.handle, reduction.rawValue,
                                   Int64(ignoreIndex), labelSmoothing), "Loss.crossEntropy")
    }

    /// Binary cross-entropy on logits; `target` may be soft (any value in [0, 1]).
    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, _ target: Tensor, weight: Tensor? = nil,
                                                    posWeight: Tensor? = nil, reduction: Reduction = .mean) throws -> Tensor {
        try check(ct_bce_with_logits(logits.handle, target.handle, weight?.handle, posWeight?.handle, reduction.rawValue),
                  "Loss.binaryCrossEntropyWithLogits")
    }
}

/// Which attention kernel runs. LibTorch's fused CPU attention has no derivative of its
/// backward, so second-order hypergradients (reverse, neumann, cg) run attention as plain
/// differentiable ops; everything else keeps the fused kernel.
public enum AttentionKernel {
    nonisolated(unsafe) static var differentiableTwice = false

    /// Runs `body` with attention built from matmul and softmax.
    public static func twiceDifferentiable<R>(_ body: () throws -> R) rethrows -> R {
        let before = differentiableTwice
        differentiableTwice = true
        defer { differentiableTwice = before }
        return try body()
    }

    /// softmax(q kᵀ · scale + mask) v, with key/value heads repeated for grouped queries and
    /// the causal mask aligned top-left, as the fused kernel's `is_causal`.
    static func math(query q: Tensor, key: Tensor, value: Tensor, mask: Tensor?, isCausal: Bool, scale: Double?) throws -> Tensor {
        let (l, s, e) = (q.size(-2), key.size(-2), q.size(-1))
        func repeatHeads(_ t: Tensor) throws -> Tensor {
            let (heads, kvHeads) = (q.size(-3), t.size(-3))
            guard heads != kvHeads else { return t }
            let outer = Array(t.shape.dropLast(3))
            return try t.unsqueeze(t.shape.count - 2).expand(outer + [kvHeads, heads / kvHeads, s, e]).reshape(outer + [heads, s, e])
        }
        var scores = try q.matmul(repeatHeads(key).transpose(-2, -1)) * (scale ?? 1 / Double(e).squareRoot())
        if isCausal {
            let allowed = try Tensor.ones([l, s], dtype: .bool, device: q.device).tril()
            scores = try scores.maskedFill(allowed.logicalNot(), -.infinity)
        }
        if let mask {
            scores = mask.dtype == .bool ? try scores.maskedFill(mask.logicalNot(), -.infinity) : try scores + mask.to(scores.dtype)
        }
        return try scores.softmax(dim: -1).matmul(repeatHeads(value))
    }
}
