import Torch

public enum GradientClipping {
    /// Scales all gradients together so their global L2 norm is at most `maxNorm`, as
    /// `torch.nn.utils.clip_grad_norm_` does (coefficient maxNorm / (norm + 1e-6), capped at 1).
    /// Returns the norm before clipping.
    @discardableResult
    public static func clipGradNorm(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
        let grads = parameters.compactMap(\.grad)
        guard !grads.isEmpty else { return 0 }
        return try Autograd.noGrad {
            let norms = try grads.map { try $0.to(.float32).norm() }
            let total = try Tensor.stack(norms).norm().item()
            let coefficient = Swift.min(maxNorm / (total + 1e-6), 1)
            for g in grads { try g.mul_(coefficient) }
            return total
        }
    }
}

/// Counts micro-batches so that k backward passes of loss/k make one optimiser step whose
/// gradient is that of the mean over the k micro-batches.
public struct GradientAccumulation: Codable, Equatable, Sendable {
    public let steps: Int
    public private(set) var pending = 0

    public init(steps: Int) { self.steps = Swift.max(1, steps) }

    /// The factor each micro-batch loss is multiplied by before backward.
    public var lossScale: Double { 1 / Double(steps) }

    /// Records one backward pass; true when the optimiser should now step.
    public mutating func recordMicroBatch() -> Bool {
        pending += 1
        if pending == steps {
            pending = 0
            return true
        }
        return false
    }
}
