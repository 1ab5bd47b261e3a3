import Foundation
import Torch

/// How the upper level's gradient with respect to the data weights λ is computed, given
/// v = ∇θ L_meta(θ) (Betty's method names; METHOD.md §5). Each returns one gradient per
/// weight parameter; the training loss L_tr(θ, λ) = Σ_i w_λ(i) ℓ_i(θ) / B is on the hypergradient batch.
public enum HypergradientMethod: Equatable, Codable, Sendable {
    /// Finite difference: ε = r/‖v‖, g = [∇λ L_tr(θ − εv) − ∇λ L_tr(θ + εv)] / 2ε. Since λ
    /// enters only through the weights, this needs two forwards of the PRM without a graph
    /// and a backward through the weights alone.
    case darts(radius: Double)
    /// darts along the lower optimiser's step instead of v: u = P v, P the optimiser's
    /// per-parameter step sizes (`Optimizer.stepDirection`: the learning rate of each parameter
    /// group, AdamW's 1/(√v̂ + ε)), rescaled to ‖v‖. Plain darts is the hypergradient of one SGD
    /// step with one rate for every parameter; this is the one-step hypergradient of the step the
    /// optimiser takes, so a head at rate 0.05 and a trunk at 1e-5 count as they move.
    case dartsStep(radius: Double)
    /// Implicit function theorem, H⁻¹v by a Neumann series of `iterations` terms with step α.
    case neumann(iterations: Int, alpha: Double)
    /// Implicit function theorem, H⁻¹v by `iterations` steps of conjugate gradient.
    case conjugateGradient(iterations: Int)
    /// Exact: back-propagation through the unrolled (plain SGD) lower steps of the window.
    case reverse

    public static let `default` = HypergradientMethod.darts(radius: 0.01)

    /// Parses `darts`, `darts-step`, `neumann`, `cg`, `reverse`; the settings default to Betty's
    /// (`darts_alpha` 0.01, `neumann_iterations`/`cg_iterations` 1, `neumann_alpha` 1).
    public init(name: String, radius: Double = 0.01, iterations: Int = 1, alpha: Double = 1) throws {
        switch name {
        case "darts": self = .darts(radius: radius)
        case "darts-step": self = .dartsStep(radius: radius)
        case "neumann": self = .neumann(iterations: iterations, alpha: alpha)
        case "cg": self = .conjugateGradient(iterations: iterations)
        case "reverse": self = .reverse
        default: throw EngineError("unknown hypergradient method '\(name)' (darts, darts-step, neumann, cg, reverse)")
        }
    }
}

public struct EngineError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The pieces a hypergradient needs, bound to the engine's current state.
struct HypergradientContext {
    let theta: [Tensor]
    /// The model's other parameters (frozen layers).
    var frozen: [Tensor] = []
    let lambda: [Tensor]
    /// Per-sample losses and weight inputs of the hypergradient batch at the current θ.
    let lowerLosses: () throws -> LowerLosses
    /// L_tr(θ, λ) with λ in the graph.
    let weightedLoss: (LowerLosses) throws -> Tensor
    /// Whether the lower gradient passes through the weights' inputs (an undetached instance
    /// net): then L_tr's dependence on θ includes its weights'.
    var weightsFollowModel = false
    /// The lower optimiser's step sizes applied to a direction (`Optimizer.stepDirection`), for darts-step.
    var stepDirection: (([Tensor]) throws -> [Tensor])?

    func trainingLoss() throws -> Tensor { try weightedLoss(try lowerLosses()) }

    /// −∂λ⟨∇θ L_tr, p⟩: the implicit-gradient form shared by neumann, cg and reverse.
    func mixed(_ gradTheta: [Tensor], _ p: [Tensor]) throws -> [Tensor] {
        try ParameterVector.vjp(gradTheta, p, lambda).map { try -$0 }
    }
}

extension HypergradientMethod {
    func compute(v: [Tensor], _ c: HypergradientContext) throws -> [Tensor] {
        switch self {
        case .dartsStep(let radius):
            guard let stepDirection = c.stepDirection else {
                throw EngineError("darts-step needs the lower optimiser's step sizes")
            }
            let u = try stepDirection(v)
            let scale = try ParameterVector.norm(v) / (try ParameterVector.norm(u) + 1e-30)
            return try HypergradientMethod.darts(radius: radius).compute(v: try u.map { try $0 * scale }, c)
        case .darts(let radius):
            let eps = radius / (try ParameterVector.norm(v) + 1e-12)
            // θ ± εv are fresh tensors swapped in with setData, so θ's own storage is never
            // changed and comes back exactly. Low-precision weights are perturbed as float32
            // copies (the two forwards then run in float32): a step of ε‖v‖ = r spread over
            // millions of weights is far below bfloat16's resolution. Frozen low-precision
            // layers run as float32 copies too, so a float32 hidden state never meets a bf16
            // weight (and the perturbation is not rounded away after θ).
            let originals = try c.theta.map { try $0.detach() }
            let lowPrecision = c.theta.contains { $0.dtype == .bfloat16 || $0.dtype == .float16 }
            let base = lowPrecision ? try originals.map { try $0.to(.float32) } : originals
            let frozen = lowPrecision ? c.frozen.filter { $0.dtype == .bfloat16 || $0.dtype == .float16 } : []
            let frozenOriginals = try frozen.map { try $0.detach() }
            for (p, o) in zip(frozen, frozenOriginals) { try p.setData(o.to(.float32)) }
            defer {
                for (p, o) in zip(c.theta, originals) { try? p.setData(o) }
                for (p, o) in zip(frozen, frozenOriginals) { try? p.setData(o) }
            }
            func lossesAt(_ alpha: Double) throws -> LowerLosses {
                for (p, (b, d)) in zip(c.theta, zip(base, v)) { try p.setData(try b.adding(d.to(b.dtype), alpha: alpha)) }
                return try Autograd.noGrad { try c.lowerLosses() }
            }
            let minus = try lossesAt(-eps), plus = try lossesAt(eps)
            let difference: Tensor
            if c.weightsFollowModel {
                // The lower gradient includes the path through the weights' inputs, so each side
                // is weighted by its own: L_tr(θ − εv) − L_tr(θ + εv).
                difference = try (c.weightedLoss(minus) - c.weightedLoss(plus)) / (2 * eps)
            } else {
                // Weights are constants to the lower gradient: both sides take the weights at θ,
                // read from the mean of the two sides' features (θ's own, to O(ε²)).
                var both = plus
                both.perSample = try minus.perSample - plus.perSample
                if let a = minus.features, let b = plus.features { both.features = try (a + b) * 0.5 }
                difference = try c.weightedLoss(both) / (2 * eps)
            }
            return try ParameterVector.gradients(difference, c.lambda)
        case let .neumann(iterations, alpha):
            let gradTheta = try ParameterVector.gradients(c.trainingLoss(), c.theta, retain: true, createGraph: true)
            var current = v, sum = v
            for _ in 0..<iterations {
                let hvp = try ParameterVector.vjp(gradTheta, current, c.theta)
                current = try zip(current, hvp).map { try $0 - $1 * alpha }
                sum = try zip(sum, current).map { try $0 + $1 }
            }
            return try c.mixed(gradTheta, try sum.map { try $0 * alpha })
        case .conjugateGradient(let iterations):
            let gradTheta = try ParameterVector.gradients(c.trainingLoss(), c.theta, retain: true, createGraph: true)
            var x = try v.map { try Tensor.zeros(like: $0) }, r = v, p = v
            var rr = try ParameterVector.dot(r, r)
            for _ in 0..<iterations where rr > 1e-30 {
                let hp = try ParameterVector.vjp(gradTheta, p, c.theta)
                let step = rr / (try ParameterVector.dot(p, hp))
                x = try zip(x, p).map { try $0 + $1 * step }
                r = try zip(r, hp).map { try $0 - $1 * step }
                let next = try ParameterVector.dot(r, r)
                p = try zip(r, p).map { try $0 + $1 * (next / rr) }
                rr = next
            }
            return try c.mixed(gradTheta, x)
        case .reverse:
            throw EngineError("reverse mode runs through the engine's window history") // see BilevelEngine.reverseHypergradient
        }
    }
}
