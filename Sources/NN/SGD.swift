import Foundation
import Torch

/// SGD with PyTorch's semantics (`torch.optim.SGD`): L2 weight decay added to the gradient,
/// momentum buffer initialised to the first gradient, dampening, Nesterov.
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Double
    public let momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool
    private var buffers: [Tensor?]
    private let master: MasterWeights

    public init(_ parameters: [Tensor], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false, masterWeights: Bool = true) throws {
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw OptimizerStateError(message: "Nesterov momentum requires a momentum and zero dampening")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        buffers = Array(repeating: nil, count: parameters.count)
        master = try MasterWeights(parameters, enabled: masterWeights)
    }

    public func step() throws {
        try master.update(parameters) { i, param, gradient in
            var grad = gradient
            if weightDecay != 0 { grad = try grad + param * weightDecay }
            if momentum != 0 {
                if let buf = buffers[i] {
                    try buf.mul_(momentum)
                    try buf.add_(grad, alpha: 1 - dampening)
                } else {
                    buffers[i] = try grad.detach().clone()
                }
                grad = nesterov ? try grad + buffers[i]! * momentum : buffers[i]!
            }
            try param.add_(grad, alpha: -learningRate)
        }
    }

    /// η·d; with momentum, the new gradient enters the buffer times (1 − dampening) once there is
    /// one, and Nesterov adds it again times the momentum.
    public func stepDirection(_ direction: [Tensor]) throws -> [Tensor] {
        try direction.enumerated().map { i, d in
            var factor = learningRate
            if momentum != 0, buffers[i] != nil { factor *= 1 - dampening }
            if nesterov { factor *= 1 + momentum }
            return try d * factor
        }
    }

    public func stateDict() throws -> [String: Tensor] {
        var state: [String: Tensor] = [:]
        for (i, b) in buffers.enumerated() { if let b { state["\(i).momentum_buffer"] = b } }
        master.save(into: &state)
        return state
    }

    public func load(stateDict state: [String: Tensor]) throws {
        buffers = try parameters.indices.map { try state["\($0).momentum_buffer"]?.clone() }
        try master.load(state)
    }
}
