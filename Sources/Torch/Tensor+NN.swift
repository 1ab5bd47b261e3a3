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
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                                 isCausal: Bool = false, scale: Double? = nil,
                                                 enableGQA: Bool = false) throws -> Tensor {
        try check(ct_sdpa(query.handle, key.handle, value.handle, mask?.handle, isCausal ? 1 : 0,
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
