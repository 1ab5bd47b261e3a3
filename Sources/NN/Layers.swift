import Foundation
import Torch

/// Whether layers initialise their parameters. A model whose weights are about to be loaded
/// strictly is built inside `skipped`, where allocation is all that happens: drawing random
/// values for 1.5 B parameters costs more than loading them.
public enum ParameterInitialization {
    private static let key = "dreamprm.skipParameterInitialization"

    static var isSkipped: Bool { Thread.current.threadDictionary[key] as? Bool ?? false }

    public static func skipped<R>(_ body: () throws -> R) rethrows -> R {
        let was = isSkipped
        Thread.current.threadDictionary[key] = true
        defer { Thread.current.threadDictionary[key] = was }
        return try body()
    }
}

/// Uniform initialisation on [−bound, bound), PyTorch's default for Linear and its bias
/// (kaiming_uniform with a = √5 gives bound = 1/√fan_in).
func uniformParameter(_ shape: [Int], bound: Double, dtype: DType) throws -> Tensor {
    if ParameterInitialization.isSkipped { return try Tensor.empty(shape, dtype: dtype).requiringGrad() }
    // In place: out-of-place temporaries the size of every weight leave a freed-heap hole beside
    // each parameter, and a 2B model then holds twice its size in resident memory.
    let t = try Tensor.rand(shape, dtype: .float32)
    try t.mul_(2 * bound)
    try t.add_(-bound)
    return try t.to(dtype).requiringGrad()
}

/// y = x Wᵀ + b, weight [out, in] as in PyTorch checkpoints.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, dtype: DType = .float32) throws {
        let bound = 1 / Double(inFeatures).squareRoot()
        weight = try uniformParameter([outFeatures, inFeatures], bound: bound, dtype: dtype)
        self.bias = bias ? try uniformParameter([outFeatures], bound: bound, dtype: dtype) : nil
        super.init()
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.linear(weight, bias) }
}

/// A lookup table of `count` vectors of size `dimensions`.
public final class Embedding: Module {
    public let weight: Tensor

    public init(_ count: Int, _ dimensions: Int, dtype: DType = .float32) throws {
        weight = ParameterInitialization.isSkipped
            ? try Tensor.empty([count, dimensions], dtype: dtype).requiringGrad()
            : try Tensor.randn([count, dimensions], dtype: .float32).to(dtype).requiringGrad()
        super.init()
    }

    public func callAsFunction(_ ids: Tensor) throws -> Tensor { try Tensor.embedding(weight, ids) }
}

/// RMSNorm as Llama/Qwen2 checkpoints define it: normalise in float32, cast back, then scale.
public final class RMSNorm: Module {
    public let weight: Tensor
    public let eps: Double

    public init(_ dimensions: Int, eps: Double = 1e-6, dtype: DType = .float32) throws {
        weight = try Tensor.ones([dimensions], dtype: dtype).requiringGrad()
        self.eps = eps
        super.init()
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try x.to(.float32)
        let normalized = try h * (h.square().mean(dim: -1, keepDim: true) + eps).rsqrt()
        return try weight * normalized.to(x.dtype)
    }
}

/// LayerNorm over the last dimension with learned scale and shift.
public final class LayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Double

    public init(_ dimensions: Int, eps: Double = 1e-5, dtype: DType = .float32) throws {
        weight = try Tensor.ones([dimensions], dtype: dtype).requiringGrad()
        bias = try Tensor.zeros([dimensions], dtype: dtype).requiringGrad()
        self.eps = eps
        super.init()
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.layerNorm([weight.size(0)], weight: weight, bias: bias, eps: eps)
    }
}
