import Foundation
import Torch

/// AdamW with PyTorch's semantics (`torch.optim.AdamW`, single-tensor path): decoupled
/// weight decay θ ← θ(1 − lr·wd), moments by lerp/addcmul, bias correction, optional amsgrad.
public final class AdamW: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Double
    public let beta1: Double, beta2: Double, eps: Double, weightDecay: Double, amsgrad: Bool
    public private(set) var steps: [Int]
    private var expAvg: [Tensor?]
    private var expAvgSq: [Tensor?]
    private var maxExpAvgSq: [Tensor?]
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
        expAvg = Array(repeating: nil, count: parameters.count)
        expAvgSq = expAvg
        maxExpAvgSq = expAvg
        master = try MasterWeights(parameters, enabled: masterWeights)
    }

    public func step() throws {
        try master.update(parameters) { i, param, grad in
            if expAvg[i] == nil {
                expAvg[i] = try Tensor.zeros(like: param)
                expAvgSq[i] = try Tensor.zeros(like: param)
                if amsgrad { maxExpAvgSq[i] = try Tensor.zeros(like: param) }
            }
            let m = expAvg[i]!, v = expAvgSq[i]!
            steps[i] += 1
            if weightDecay != 0 { try param.mul_(1 - learningRate * weightDecay) }
            try m.lerp_(grad, weight: 1 - beta1)
            try v.mul_(beta2)
            try v.addcmul_(grad, grad, value: 1 - beta2)
            let step = Double(steps[i])
            let stepSize = learningRate / (1 - Foundation.pow(beta1, step))
            let correction2Sqrt = (1 - Foundation.pow(beta2, step)).squareRoot()
            var second = v
            if amsgrad {
                try maxExpAvgSq[i]!.maximum_(v)
                second = maxExpAvgSq[i]!
            }
            let denom = try second.sqrt() / correction2Sqrt
            try denom.add_(eps)
            try param.addcdiv_(m, denom, value: -stepSize)
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
            guard steps[i] > 0 else { continue }
            expAvg[i] = try required(state, "\(i).exp_avg").clone()
            expAvgSq[i] = try required(state, "\(i).exp_avg_sq").clone()
            if amsgrad { maxExpAvgSq[i] = try required(state, "\(i).max_exp_avg_sq").clone() }
        }
        try master.load(state)
    }
}
