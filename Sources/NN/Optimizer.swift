import Foundation
import Torch

/// An optimiser updates a fixed list of parameters from their `.grad`.
public protocol Optimizer: AnyObject {
    var parameters: [Tensor] { get }
    var learningRate: Double { get set }
    /// One update with the gradients currently accumulated.
    func step() throws
    /// Optimiser state (moments, steps, master weights) by name, for checkpoints.
    func stateDict() throws -> [String: Tensor]
    func load(stateDict: [String: Tensor]) throws
    /// How the next step's update −Δθ answers a change of the gradients, to first order and
    /// with the optimiser's statistics as they stand, applied to `direction` (one tensor per
    /// parameter): the per-parameter step sizes a hypergradient through this optimiser weighs
    /// the gradients with.
    func stepDirection(_ direction: [Tensor]) throws -> [Tensor]
}

extension Optimizer {
    /// Clears every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() throws {
        for p in parameters { try p.setGrad(nil) }
    }
}

public struct OptimizerStateError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Full-precision copies of low-precision parameters. The optimiser updates the float32
/// master and writes it back rounded; without it an update smaller than bf16's resolution
/// would be lost entirely.
struct MasterWeights {
    private(set) var masters: [Tensor?]

    init(_ parameters: [Tensor], enabled: Bool) throws {
        masters = try parameters.map { p in
            enabled && (p.dtype == .bfloat16 || p.dtype == .float16) ? try p.detach().to(.float32) : nil
        }
    }

    /// The parameters that have a gradient: index, the tensor to change (the master where
    /// there is one) and the gradient in its dtype.
    func targets(_ parameters: [Tensor]) throws -> [(index: Int, target: Tensor, grad: Tensor)] {
        try parameters.enumerated().compactMap { i, p in
            guard let grad = p.grad else { return nil }
            if let m = masters[i] { return (i, m, try grad.to(.float32)) }
            return (i, p, grad)
        }
    }

    /// Writes updated masters back to their low-precision parameters.
    func writeBack(_ parameters: [Tensor], _ indices: [Int]) throws {
        for i in indices { if let m = masters[i] { try parameters[i].copy_(m) } }
    }

    /// Runs one update per parameter that has a gradient, outside the graph.
    func update(_ parameters: [Tensor], _ update: (Int, Tensor, Tensor) throws -> Void) throws {
        try Autograd.noGrad {
            let items = try targets(parameters)
            for item in items { try update(item.index, item.target, item.grad) }
            try writeBack(parameters, items.map(\.index))
        }
    }

    func save(into state: inout [String: Tensor]) {
        for (i, m) in masters.enumerated() { if let m { state["\(i).master"] = m } }
    }

    func load(_ state: [String: Tensor]) throws {
        for (i, m) in masters.enumerated() {
            guard let m else { continue }
            guard let saved = state["\(i).master"] else { throw OptimizerStateError(message: "optimizer state lacks \(i).master") }
            try m.copy_(saved)
        }
    }
}

/// Reads tensor `key` from an optimiser state dict, or explains what is missing.
func required(_ state: [String: Tensor], _ key: String) throws -> Tensor {
    guard let t = state[key] else { throw OptimizerStateError(message: "optimizer state lacks '\(key)'") }
    return t
}
