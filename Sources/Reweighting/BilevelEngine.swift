import Foundation
import NN
import Torch

/// The schedule of the bi-level loop (METHOD.md §5), Betty's semantics.
public struct EngineConfiguration: Codable, Equatable, Sendable {
    public var unrollSteps = 1
    public var hypergradient = HypergradientMethod.default
    /// After each upper step: restore θ and the lower optimiser to the window's start and redo
    /// one lower step on the last batch with the new weights.
    public var rollback = false
    /// Lower level only, unweighted: a vanilla PRM (and 1.5's cold start).
    public var baseline = false
    /// Micro-batches per lower step (loss scaled by 1/k, one optimiser step).
    public var gradientAccumulation = 1
    public var lowerClipNorm: Double?
    public var upperClipNorm: Double?
    /// Every this many upper steps, measure how each key's (domain's) lower gradient lines up
    /// with the meta gradient, by parameter group, on the lower problem's `alignmentBatch` (else
    /// the hypergradient batch); 0: never. It costs a forward with a graph and one backward per key.
    public var alignmentEvery = 0

    public init(unrollSteps: Int = 1, hypergradient: HypergradientMethod = .default, rollback: Bool = false, baseline: Bool = false,
                gradientAccumulation: Int = 1, lowerClipNorm: Double? = nil, upperClipNorm: Double? = nil) {
        self.unrollSteps = unrollSteps
        self.hypergradient = hypergradient
        self.rollback = rollback
        self.baseline = baseline
        self.gradientAccumulation = gradientAccumulation
        self.lowerClipNorm = lowerClipNorm
        self.upperClipNorm = upperClipNorm
    }
}

/// What one iteration did.
public struct IterationReport: Sendable {
    public var iteration: Int
    /// Weighted training loss of the iteration's lower step (mean over micro-batches).
    public var lowerLoss: Double
    /// Meta loss and hypergradient norm when the iteration ended a window.
    public var metaLoss: Double?
    public var hypergradientNorm: Double?
    public var lowerLearningRate: Double
    /// Seconds spent in the upper step's phases: meta loss and v = ∇θ L_meta, hypergradient, update.
    public var upperPhaseSeconds: [String: Double] = [:]
    /// The hypergradient itself, flattened, when the weights have at most 64 parameters (a domain table).
    public var hypergradient: [Double]?
    /// On upper steps that measured it: for each key of the batch read, the alignment of its
    /// mean lower loss's gradient with the meta gradient v, by parameter group.
    public var alignment: [Int: [String: GradientAlignment]]?
}

/// ⟨v, ∇θ ℓ_key⟩ over one parameter group, and its cosine. Darts' hypergradient of a domain is
/// minus this inner product (over all of θ, times the key's weight derivative): a domain whose
/// gradient points along the meta gradient's descent is pushed up.
public struct GradientAlignment: Equatable, Sendable {
    public var dot: Double
    public var cosine: Double
}

/// Runs the bi-level loop: lower steps on weighted training data, and every `unrollSteps`
/// an upper step that moves the weights along the hypergradient of the meta loss.
public final class BilevelEngine<Lower: LowerProblem, Upper: UpperProblem> {
    public let lower: Lower
    public let upper: Upper
    public let weights: DataWeights
    public let lowerOptimizer: Optimizer
    public let upperOptimizer: Optimizer
    public let lowerScheduler: LearningRateScheduler
    public let upperScheduler: LearningRateScheduler
    public let configuration: EngineConfiguration
    public private(set) var iteration = 0

    private var lastBatch: Lower.Batch?
    /// Plain-SGD window history for reverse mode: θ before each lower step, its batch and rate.
    private var window: [(theta: [Tensor], batch: Lower.Batch, rate: Double)] = []
    private var windowStart: (theta: [Tensor], optimizer: [String: Tensor])?

    public init(lower: Lower, upper: Upper, weights: DataWeights, lowerOptimizer: Optimizer, upperOptimizer: Optimizer,
                lowerSchedule: LearningRateSchedule = .constant, upperSchedule: LearningRateSchedule = .constant,
                configuration: EngineConfiguration) throws {
        if configuration.hypergradient == .reverse {
            guard let sgd = lowerOptimizer as? SGD, sgd.momentum == 0, sgd.weightDecay == 0 else {
                throw EngineError("reverse mode differentiates plain SGD lower steps; use SGD without momentum or weight decay, or another method")
            }
            guard configuration.gradientAccumulation == 1 else { throw EngineError("reverse mode needs gradientAccumulation = 1") }
        }
        guard configuration.unrollSteps >= 1, configuration.gradientAccumulation >= 1 else {
            throw EngineError("unrollSteps and gradientAccumulation must be at least 1")
        }
        self.lower = lower
        self.upper = upper
        self.weights = weights
        self.lowerOptimizer = lowerOptimizer
        self.upperOptimizer = upperOptimizer
        lowerScheduler = LearningRateScheduler(lowerOptimizer, schedule: lowerSchedule)
        upperScheduler = LearningRateScheduler(upperOptimizer, schedule: upperSchedule)
        self.configuration = configuration
    }

    /// L_tr = Σ_i w(key_i, features_i) ℓ_i / B, or the plain mean for the baseline.
    func weightedLoss(_ l: LowerLosses, detachWeights: Bool) throws -> Tensor {
        if configuration.baseline { return try l.perSample.mean() }
        var w = try weights.weights(for: l)
        if detachWeights { w = try w.detach() }
        return try (w.to(l.perSample.dtype) * l.perSample).sum() / Double(l.perSample.size(0))
    }

    /// One iteration: a lower step, then an upper step when a window ends.
    @discardableResult
    public func step() throws -> IterationReport {
        iteration += 1
        let startsWindow = (iteration - 1) % configuration.unrollSteps == 0
        if startsWindow && configuration.rollback && !configuration.baseline {
            windowStart = (try ParameterVector.clone(lower.parameters), try lowerOptimizer.stateDict().mapValues { try $0.clone() })
        }
        if startsWindow { window.removeAll() }
        let rate = lowerOptimizer.learningRate
        var report = IterationReport(iteration: iteration, lowerLoss: try lowerStep(), lowerLearningRate: rate)
        if !configuration.baseline && iteration % configuration.unrollSteps == 0 {
            let upper = try upperStep()
            (report.metaLoss, report.hypergradientNorm, report.upperPhaseSeconds) = (upper.metaLoss, upper.norm, upper.phases)
            (report.hypergradient, report.alignment) = (upper.hypergradient, upper.alignment)
            if configuration.rollback, let start = windowStart, let batch = lastBatch {
                try ParameterVector.copy(start.theta, into: lower.parameters)
                try lowerOptimizer.load(stateDict: start.optimizer)
                _ = try lowerUpdate([batch])
            }
        }
        return report
    }

    private func lowerStep() throws -> Double {
        let batches = try (0..<configuration.gradientAccumulation).map { _ in try lower.nextBatch() }
        if configuration.hypergradient == .reverse {
            window.append((try ParameterVector.clone(lower.parameters), batches[0], lowerOptimizer.learningRate))
        }
        let loss = try lowerUpdate(batches)
        lastBatch = batches.last
        lowerScheduler.step()
        return loss
    }

    /// Accumulates the weighted loss over micro-batches and takes one optimiser step.
    private func lowerUpdate(_ batches: [Lower.Batch]) throws -> Double {
        try lowerOptimizer.zeroGrad()
        var total = 0.0
        for batch in batches {
            // Weights are constants to θ, unless they read θ's outputs undetached (the 1.5 reference's net).
            let loss = try weightedLoss(try lower.losses(batch), detachWeights: !weights.gradientReachesModel)
            let value = try loss.item()
            guard value.isFinite else { throw EngineError("lower loss is \(value) at iteration \(iteration)") }
            total += value
            try (loss / Double(batches.count)).backward()
        }
        if let clip = configuration.lowerClipNorm { try GradientClipping.clipGradNorm(lower.parameters, maxNorm: clip) }
        try lowerOptimizer.step()
        return total / Double(batches.count)
    }

    private func upperStep() throws -> (metaLoss: Double, norm: Double, phases: [String: Double],
                                        hypergradient: [Double]?, alignment: [Int: [String: GradientAlignment]]?) {
        guard let lastBatch else { throw EngineError("upper step before any lower step") }
        // Reverse mode differentiates the window's own batches.
        let batch = configuration.hypergradient == .reverse ? lastBatch : try lower.hypergradientBatch() ?? lastBatch
        var clock = DispatchTime.now().uptimeNanoseconds
        var phases: [String: Double] = [:]
        func lap(_ name: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            phases[name] = Double(now - clock) / 1e9
            clock = now
        }
        let metaLoss = try upper.loss(upper.nextBatch())
        let metaValue = try metaLoss.item()
        guard metaValue.isFinite else { throw EngineError("meta loss is \(metaValue) at iteration \(iteration)") }
        let v = try ParameterVector.gradients(metaLoss, lower.parameters)
        lap("meta_loss_and_v")
        let upperSteps = iteration / configuration.unrollSteps
        var alignment: [Int: [String: GradientAlignment]]?
        if configuration.alignmentEvery > 0, (upperSteps - 1) % configuration.alignmentEvery == 0 {
            let probe = try lower.alignmentBatch(upperStep: upperSteps) ?? batch
            alignment = try self.alignment(of: try lower.losses(probe), with: v)
            lap("alignment")
        }
        let lambda = weights.trainableParameters()
        let g: [Tensor]
        // Methods through second derivatives of the PRM need attention they can differentiate twice.
        func secondOrder<R>(_ body: () throws -> R) throws -> R { try AttentionKernel.twiceDifferentiable(body) }
        if configuration.hypergradient == .reverse {
            g = try secondOrder { try reverseHypergradient(v: v, lambda: lambda) }
        } else {
            let context = HypergradientContext(theta: lower.parameters, frozen: lower.frozenParameters, lambda: lambda,
                                               lowerLosses: { try self.lower.losses(batch) },
                                               weightedLoss: { try self.weightedLoss($0, detachWeights: false) },
                                               weightsFollowModel: weights.gradientReachesModel,
                                               stepDirection: { try self.lowerOptimizer.stepDirection($0) })
            switch configuration.hypergradient {
            case .darts, .dartsStep:
                g = try configuration.hypergradient.compute(v: v, context)
            default:
                g = try secondOrder { try configuration.hypergradient.compute(v: v, context) }
            }
        }
        lap("hypergradient")
        for (p, grad) in zip(lambda, g) { try p.setGrad(grad.to(p.dtype)) }
        let norm = try ParameterVector.norm(g)
        let flat = g.reduce(0) { $0 + $1.shape.reduce(1, *) } <= 64 ? try g.flatMap { try $0.doubles() } : nil
        if let clip = configuration.upperClipNorm { try GradientClipping.clipGradNorm(lambda, maxNorm: clip) }
        try upperOptimizer.step()
        try upperOptimizer.zeroGrad()
        upperScheduler.step()
        lap("update")
        return (metaValue, norm, phases, flat, alignment)
    }

    /// For each key in `losses`, the gradient of its samples' mean loss against v, by group.
    private func alignment(of losses: LowerLosses, with v: [Tensor]) throws -> [Int: [String: GradientAlignment]] {
        let keys = try losses.keys.doubles().map { Int($0) }
        let members = Dictionary(grouping: keys.indices) { keys[$0] }
        let groups = lower.parameterGroups
        var out: [Int: [String: GradientAlignment]] = [:]
        for (n, key) in members.keys.sorted().enumerated() {
            let index = try Tensor(members[key]!.map(Int64.init)).to(losses.perSample.device)
            let loss = try losses.perSample.indexSelect(dim: 0, index: index).mean()
            let grads = try ParameterVector.gradients(loss, lower.parameters, retain: n < members.count - 1)
            out[key] = try groups.mapValues { indices in
                let a = indices.map { v[$0] }, b = indices.map { grads[$0] }
                let dot = try ParameterVector.dot(a, b)
                let norms = try ParameterVector.norm(a) * ParameterVector.norm(b)
                return GradientAlignment(dot: dot, cosine: norms > 0 ? dot / norms : 0)
            }
        }
        return out
    }

    /// Exact hypergradient through the window's SGD steps θ_{t+1} = θ_t − η_t ∇θ L_tr(θ_t, λ):
    /// walking back, g += −η_t ∂λ⟨∇θL_t, v⟩ and v ← v − η_t H_t v.
    private func reverseHypergradient(v start: [Tensor], lambda: [Tensor]) throws -> [Tensor] {
        let theta = lower.parameters
        let final = try ParameterVector.clone(theta)
        defer { try? ParameterVector.copy(final, into: theta) }
        var v = start
        var g = try lambda.map { try Tensor.zeros(like: $0) }
        for step in window.reversed() {
            try ParameterVector.copy(step.theta, into: theta)
            let gradTheta = try ParameterVector.gradients(try weightedLoss(try lower.losses(step.batch), detachWeights: false), theta,
                                                          retain: true, createGraph: true)
            let mixed = try ParameterVector.vjp(gradTheta, v, lambda)
            let hvp = try ParameterVector.vjp(gradTheta, v, theta, retain: false)
            g = try zip(g, mixed).map { try $0 - $1 * step.rate }
            v = try zip(v, hvp).map { try ($0 - $1 * step.rate).detach() }
        }
        return g
    }

    /// Counters for checkpoints; the problems and optimisers save their own state.
    public var state: [String: Int] {
        ["iteration": iteration, "lower_scheduler_steps": lowerScheduler.stepCount, "upper_scheduler_steps": upperScheduler.stepCount]
    }

    public func restore(_ state: [String: Int]) throws {
        guard let it = state["iteration"], let lowerSteps = state["lower_scheduler_steps"],
              let upperSteps = state["upper_scheduler_steps"] else { throw EngineError("engine state lacks its counters") }
        iteration = it
        lowerScheduler.restore(stepCount: lowerSteps)
        upperScheduler.restore(stepCount: upperSteps)
    }
}
