import Torch

/// The lower level: the model being trained (θ) and its per-sample training losses.
public protocol LowerProblem: AnyObject {
    associatedtype Batch
    /// θ: the parameters the lower optimiser updates.
    var parameters: [Tensor] { get }
    func nextBatch() throws -> Batch
    /// Per-sample losses at the current θ with their weights' keys (and features).
    func losses(_ batch: Batch) throws -> LowerLosses
    /// The model's parameters outside θ (frozen layers): darts runs them in float32 beside a
    /// float32 perturbation of low-precision θ.
    var frozenParameters: [Tensor] { get }
    /// The batch whose losses the upper step differentiates with respect to the weights; nil
    /// means the last lower batch (Betty's choice).
    func hypergradientBatch() throws -> Batch?
    /// θ's indices by group name ("head", "layers"), for the gradient-alignment diagnostics.
    var parameterGroups: [String: [Int]] { get }
    /// The batch the alignment diagnostics of upper step `upperStep` read (every key in it);
    /// nil: the hypergradient batch. A function of the step alone, so a resumed run draws the same.
    func alignmentBatch(upperStep: Int) throws -> Batch?
}

extension LowerProblem {
    public var frozenParameters: [Tensor] { [] }
    public func hypergradientBatch() throws -> Batch? { nil }
    public var parameterGroups: [String: [Int]] { ["all": Array(parameters.indices)] }
    public func alignmentBatch(upperStep: Int) throws -> Batch? { nil }
}

/// The upper level: a loss on clean meta data that depends on θ only.
public protocol UpperProblem: AnyObject {
    associatedtype Batch
    func nextBatch() throws -> Batch
    func loss(_ batch: Batch) throws -> Tensor
}

// Small vector algebra over parameter lists.
enum ParameterVector {
    /// Σ ⟨a_i, b_i⟩, each term in the tensors' own dtype (no full-size copies), summed in Double.
    static func dot(_ a: [Tensor], _ b: [Tensor]) throws -> Double {
        try zip(a, b).reduce(0) { $0 + (try $1.0.dot($1.1.to($1.0.dtype)).item()) }
    }

    static func norm(_ a: [Tensor]) throws -> Double { try dot(a, a).squareRoot() }

    static func clone(_ a: [Tensor]) throws -> [Tensor] { try a.map { try $0.detach().clone() } }

    static func copy(_ source: [Tensor], into params: [Tensor]) throws {
        try Autograd.noGrad { for (p, s) in zip(params, source) { try p.copy_(s) } }
    }

    /// Gradients of a scalar for each input, zeros where it does not depend on one.
    static func gradients(_ output: Tensor, _ inputs: [Tensor], retain: Bool = false, createGraph: Bool = false) throws -> [Tensor] {
        let gs = try Autograd.grad(of: [output], wrt: inputs, retainGraph: retain, createGraph: createGraph)
        return try zip(gs, inputs).map { try $0 ?? Tensor.zeros(like: $1) }
    }

    /// Vector-Jacobian product: d/dinputs Σ_i ⟨outputs_i, vectors_i⟩.
    static func vjp(_ outputs: [Tensor], _ vectors: [Tensor], _ inputs: [Tensor], retain: Bool = true,
                    createGraph: Bool = false) throws -> [Tensor] {
        let gs = try Autograd.grad(of: outputs, wrt: inputs, gradOutputs: vectors, retainGraph: retain, createGraph: createGraph)
        return try zip(gs, inputs).map { try $0 ?? Tensor.zeros(like: $1) }
    }
}
