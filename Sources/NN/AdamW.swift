import Foundation
import Torch

/// AdamW with PyTorch's semantics (`torch.optim.AdamW`, single-tensor path): decoupled
/// weight decay θ ← θ(1 − lr·wd), moments by lerp/addcmul, bias correction, optional amsgrad.
public final class AdamW: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Double
    /// Per-parameter multipliers of `learningRate` (a schedule scales them all alike); all 1
    /// by default. A parameter's weight decay scales with its rate, as in a PyTorch param group.
    public var learningRateScales: [Double]
    public let beta1: Double, beta2: Double, eps: Double, weightDecay: Double, amsgrad: Bool
    public private(set) var steps: [Int]
    private var expAvg: [Tensor?]
    private var expAvgSq: [Tensor?]
    private var maxExpAvgSq: [Tensor?]
    /// The fused kernel's float step counters (mirrors `steps`).
    private var stepCounters: [Tensor?]
    private let master: MasterWeights

    /// `masterWeights`: keep float32 copies of bf16/f16 parameters (on by default).
    public init(_ parameters: [Tensor], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, masterWeights: Bool = true) throws {
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.eps = eps
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        steps = Array(repeating: 0, count: parameters.count)
        learningRateScales = Array(repeating: 1, count: parameters.count)
        expAvg = Array(repeating: nil, count: parameters.count)
        expAvgSq = expAvg
        maxExpAvgSq = expAvg
        stepCounters = expAvg
        master = try MasterWeights(parameters, enabled: masterWeights)
    }

    /// One step with ATen's fused AdamW kernel (the formula of `torch.optim.AdamW`, one pass
    /// per tensor instead of eight, and no temporaries).
    public func step() throws {
        try Autograd.noGrad {
            let items = try master.targets(parameters)
            for (i, param, _) in items where expAvg[i] == nil {
                expAvg[i] = try Tensor.zeros(like: param)
                expAvgSq[i] = try Tensor.zeros(like: param)
                if amsgrad { maxExpAvgSq[i] = try Tensor.zeros(like: param) }
                stepCounters[i] = try Tensor.zeros([], dtype: .float32, device: param.device)
            }
            // One fused call per distinct rate (one call in the common case).
            for scale in Set(items.map { learningRateScales[$0.index] }).sorted() {
                let group = items.filter { learningRateScales[$0.index] == scale }
                try FusedOptimizers.adamw(parameters: group.map(\.target), gradients: group.map(\.grad),
                                          expAvg: group.map { expAvg[$0.index]! }, expAvgSq: group.map { expAvgSq[$0.index]! },
                                          maxExpAvgSq: amsgrad ? group.map { maxExpAvgSq[$0.index]! } : nil,
                                          steps: group.map { stepCounters[$0.index]! }, learningRate: learningRate * scale,
                                          beta1: beta1, beta2: beta2, weightDecay: weightDecay, eps: eps)
            }
            for item in items { steps[item.index] += 1 }
            try master.writeBack(parameters, items.map(\.index))
        }
    }

    /// η_i (1 − β₁)/(1 − β₁ᵗ⁺¹) · d / (√(β₂ v / (1 − β₂ᵗ⁺¹)) + ε): the new gradient's share
    /// of the first moment, over the second moment it will see, neglecting its own share
    /// (1 − β₂) of that moment. A parameter that has not stepped yet has no statistics: η_i d (its first
    /// step is η·sign(g), whose derivative is zero almost everywhere).
    public func stepDirection(_ direction: [Tensor]) throws -> [Tensor] {
        try Autograd.noGrad {
            try direction.enumerated().map { i, d in
                let rate = learningRate * learningRateScales[i]
                guard steps[i] > 0, let secondMoment = expAvgSq[i] else { return try d * rate }
                let t = Double(steps[i] + 1)
                let first = (1 - beta1) / (1 - Foundation.pow(beta1, t))
                let precision: DType = d.dtype == .float64 ? .float64 : .float32
                let moment = try secondMoment.to(precision) * (beta2 / (1 - Foundation.pow(beta2, t)))
                return try (d.to(precision) * (rate * first) / (moment.sqrt() + eps)).to(d.dtype)
            }
        }
    }

    public func stateDict() throws -> [String: Tensor] {
        var state: [String: Tensor] = [:]
        for i in parameters.indices {
            state["\(i).step"] = try Tensor(scalar: Int64(steps[i]))
            if let m = expAvg[i] { state["\(i).exp_avg"] = m }
            if let v = expAvgSq[i] { state["\(i).exp_avg_sq"] = v }
            if let mx = maxExpAvgSq[i] { state["\(i).max_exp_avg_sq"] = mx }
        }
        master.save(into: &state)
        return state
    }

    public func load(stateDict state: [String: Tensor]) throws {
        for i in parameters.indices {
            steps[i] = try required(state, "\(i).step").itemInt()
            // A state from before the parameter's first step has no moments: drop the ones
            // this optimiser has since made (a rollback to a window's start relies on it).
            guard steps[i] > 0 else {
                (expAvg[i], expAvgSq[i], maxExpAvgSq[i], stepCounters[i]) = (nil, nil, nil, nil)
                continue
            }
            stepCounters[i] = try Tensor.full([], Double(steps[i]), device: parameters[i].device)
            expAvg[i] = try required(state, "\(i).exp_avg").clone()
            expAvgSq[i] = try required(state, "\(i).exp_avg_sq").clone()
            if amsgrad { maxExpAvgSq[i] = try required(state, "\(i).max_exp_avg_sq").clone() }
        }
        try master.load(state)
    }
}
