import Foundation
import NN
@testable import Reweighting
import TestSupport
import Torch
import XCTest

/// Weighted ridge regression across K domains: ℓ_i = (x_i·θ − y_i)² + ρ‖θ‖², weights w_k = λ_k
/// (identity instance table over domains), meta loss ‖X_m θ − y_m‖² / M.
final class RidgeProblem: LowerProblem, UpperProblem {
    let x: [[Double]], y: [Double], domain: [Int], mx: [[Double]], my: [Double]
    let rho = 0.1
    let theta: Tensor
    var parameters: [Tensor] { [theta] }

    init(seed: UInt64, n: Int = 16, m: Int = 10, d: Int = 3, k: Int = 4) throws {
        var g = SplitMix(seed: seed)
        x = (0..<n).map { _ in (0..<d).map { _ in g.normal() } }
        y = (0..<n).map { _ in g.normal() }
        domain = (0..<n).map { $0 % k }
        mx = (0..<m).map { _ in (0..<d).map { _ in g.normal() } }
        my = (0..<m).map { _ in g.normal() }
        theta = try Tensor((0..<d).map { _ in g.normal() }).requiringGrad()
    }

    func nextBatch() throws -> Int { 0 }  // always the whole set

    func losses(_ batch: Int) throws -> LowerLosses {
        let X = try Tensor(x.flatMap { $0 }, shape: [x.count, x[0].count])
        let residual = try (X.matmul(theta) - Tensor(y)).square()
        return LowerLosses(try residual + theta.square().sum() * rho, keys: try Tensor(domain.map(Int64.init)))
    }

    func loss(_ batch: Int) throws -> Tensor {
        try (Tensor(mx.flatMap { $0 }, shape: [mx.count, mx[0].count]).matmul(theta) - Tensor(my)).square().mean()
    }

    // Closed forms in plain doubles.
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    /// ∇θ L_tr and its derivative in λ_k (rows), at θ.
    func lowerGradient(_ t: [Double], _ w: [Double]) -> [Double] {
        let n = Double(x.count), meanW = domain.reduce(0) { $0 + w[$1] } / n
        var g = t.map { 2 * rho * meanW * $0 }
        for i in x.indices { for j in t.indices { g[j] += 2 * w[domain[i]] * (dot(x[i], t) - y[i]) * x[i][j] / n } }
        return g
    }

    func mixedJacobian(_ t: [Double]) -> [[Double]] {  // [k][j] = ∂λ_k ∇θ_j L_tr
        let n = Double(x.count), k = (domain.max() ?? 0) + 1
        var out = [[Double]](repeating: [Double](repeating: 0, count: t.count), count: k)
        for i in x.indices { for j in t.indices { out[domain[i]][j] += 2 * (dot(x[i], t) - y[i]) * x[i][j] / n } }
        for kk in 0..<k {
            let share = Double(domain.filter { $0 == kk }.count) / n
            for j in t.indices { out[kk][j] += 2 * rho * share * t[j] }
        }
        return out
    }

    func hessian(_ w: [Double]) -> [[Double]] {
        let n = Double(x.count), d = x[0].count, meanW = domain.reduce(0) { $0 + w[$1] } / n
        var h = (0..<d).map { r in (0..<d).map { c in r == c ? 2 * rho * meanW : 0 } }
        for i in x.indices { for r in 0..<d { for c in 0..<d { h[r][c] += 2 * w[domain[i]] * x[i][r] * x[i][c] / n } } }
        return h
    }

    func metaGradient(_ t: [Double]) -> [Double] {
        var g = [Double](repeating: 0, count: t.count)
        for i in mx.indices { for j in t.indices { g[j] += 2 * (dot(mx[i], t) - my[i]) * mx[i][j] / Double(mx.count) } }
        return g
    }

    func metaLoss(_ t: [Double]) -> Double { mx.indices.reduce(0) { $0 + pow(dot(mx[$1], t) - my[$1], 2) } / Double(mx.count) }

    /// θ*(λ): the minimiser, H θ = (2/N) Σ w x y.
    func optimum(_ w: [Double]) -> [Double] {
        var b = [Double](repeating: 0, count: x[0].count)
        for i in x.indices { for j in b.indices { b[j] += 2 * w[domain[i]] * y[i] * x[i][j] / Double(x.count) } }
        return solve(hessian(w), b)
    }
}

/// Gaussian elimination with partial pivoting.
func solve(_ a: [[Double]], _ b: [Double]) -> [Double] {
    var m = a.enumerated().map { $1 + [b[$0]] }
    let n = b.count
    for c in 0..<n {
        let p = (c..<n).max { abs(m[$0][c]) < abs(m[$1][c]) }!
        m.swapAt(c, p)
        for r in 0..<n where r != c {
            let f = m[r][c] / m[c][c]
            for k in c...n { m[r][k] -= f * m[c][k] }
        }
    }
    return (0..<n).map { m[$0][n] / m[$0][$0] }
}

final class HypergradientTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private let lambda0 = [0.6, 1.3, 0.9, 1.1]

    private func context(_ p: RidgeProblem, _ table: InstanceTable) -> HypergradientContext {
        HypergradientContext(theta: p.parameters, lambda: [table.raw], lowerLosses: { try p.losses(0) }, weightedLoss: { l in
            try (table.weights(for: l.keys) * l.perSample).sum() / Double(l.perSample.size(0))
        })
    }

    private func setup(at theta: [Double]? = nil) throws -> (RidgeProblem, InstanceTable) {
        let p = try RidgeProblem(seed: 7)
        let table = try InstanceTable(count: 4, dtype: .float64)
        try Autograd.noGrad { try table.raw.copy_(Tensor(lambda0)) }
        try p.theta.setData(Tensor(theta ?? p.optimum(lambda0)))
        try p.theta.requiringGrad()
        return (p, table)
    }

    /// At θ*(λ): −(∂λ∇θL)ᵀ H⁻¹ ∇L_meta, in closed form.
    private func implicitExact(_ p: RidgeProblem) -> [Double] {
        let t = p.optimum(lambda0)
        let u = solve(p.hessian(lambda0), p.metaGradient(t))
        return p.mixedJacobian(t).map { -p.dot($0, u) }
    }

    private func v(_ p: RidgeProblem) throws -> [Tensor] { [try Tensor(p.metaGradient(try p.theta.doubles()))] }

    func testConjugateGradientEqualsTheImplicitHypergradient() throws {
        let (p, table) = try setup()
        let g = try HypergradientMethod.conjugateGradient(iterations: 3).compute(v: try v(p), context(p, table))
        assertClose(try g[0].doubles(), implicitExact(p), rtol: 1e-8, atol: 1e-10, "cg (3 iterations, d = 3)")
    }

    func testNeumannSeriesConvergesToTheImplicitHypergradient() throws {
        let (p, table) = try setup()
        let trace = (0..<3).reduce(0) { $0 + p.hessian(lambda0)[$1][$1] }
        let g = try HypergradientMethod.neumann(iterations: 400, alpha: 1 / trace).compute(v: try v(p), context(p, table))
        assertClose(try g[0].doubles(), implicitExact(p), rtol: 1e-4, atol: 1e-7, "neumann (400 terms)")
    }

    func testDartsEqualsTheMixedSecondDerivativeAlongV() throws {
        // darts approximates −(∂λ∇θL)ᵀ v at the current θ (no inverse Hessian), to O(ε²).
        let (p, table) = try setup(at: [0.3, -0.7, 1.1])
        let before = try p.theta.doubles()
        let vv = p.metaGradient(before)
        let g = try HypergradientMethod.darts(radius: 0.01).compute(v: [try Tensor(vv)], context(p, table))
        assertClose(try g[0].doubles(), p.mixedJacobian(before).map { -p.dot($0, vv) }, rtol: 1e-6, atol: 1e-9, "darts")
        XCTAssertEqual(try p.theta.doubles(), before, "θ restored exactly")
    }

    /// bf16 weights of 1.0: εv ≈ 6e-4 per weight is far below bf16's spacing there (2⁻⁷), so a
    /// perturbation applied in bf16 would round away and give g = 0. Done on float32 copies it
    /// must give the mixed derivative −(2/N) Σ_{i∈k} r_i (x_i·v).
    func testDartsSurvivesBFloat16Weights() throws {
        let n = 256, samples = 8
        var g = SplitMix(seed: 21)
        let x = (0..<samples).map { _ in (0..<n).map { _ in g.normal() / 16 } }
        let y = (0..<samples).map { _ in g.normal() }
        let keys = (0..<samples).map { Int64($0 % 2) }
        let theta = try Tensor.ones([n], dtype: .bfloat16).requiringGrad()
        let X = try Tensor(x.flatMap { $0.map(Float.init) }, shape: [samples, n])
        let table = try InstanceTable(count: 2, dtype: .float64)
        let v = (0..<n).map { _ in g.normal() }
        let context = HypergradientContext(theta: [theta], lambda: [table.raw], lowerLosses: {
            LowerLosses(try (X.to(theta.dtype).matmul(theta).to(.float32) - Tensor(y.map(Float.init))).square(), keys: try Tensor(keys))
        }, weightedLoss: { l in try (table.weights(for: l.keys) * l.perSample.to(.float64)).sum() / Double(l.perSample.size(0)) })
        let got = try HypergradientMethod.darts(radius: 0.01).compute(v: [try Tensor(v.map(Float.init))], context)[0].doubles()
        var want = [0.0, 0.0]
        for i in 0..<samples {
            let r = x[i].reduce(0, +) - y[i]  // θ = 1
            want[i % 2] -= 2 * r * zip(x[i], v).reduce(0) { $0 + $1.0 * $1.1 } / Double(samples)
        }
        assertClose(got, want, rtol: 0.05, atol: 1e-3, "darts on bf16 weights")
        XCTAssertEqual(theta.dtype, .bfloat16)
        XCTAssertEqual(Set(try theta.doubles()), [1], "θ restored")
    }

    /// Weights computed from the model's outputs without detaching (the 1.5 reference's net)
    /// differ at θ − εv and θ + εv, and the lower gradient runs through them, so darts must
    /// weight each side with its own: with w_i = λ·f_i(θ), f_i = x_i·θ and ℓ_i = (x_i·θ − y_i)²,
    /// g = [S(θ − εv) − S(θ + εv)] / 2ε where S(θ) = Σ f_i ℓ_i / N.
    func testDartsWeightsEachPerturbedSideWithItsOwnFeatures() throws {
        let n = 3, samples = 6
        var g = SplitMix(seed: 5)
        let x = (0..<samples).map { _ in (0..<n).map { _ in g.normal() } }
        let y = (0..<samples).map { _ in g.normal() }
        let t0 = (0..<n).map { _ in g.normal() }, v = (0..<n).map { _ in g.normal() }
        let theta = try Tensor(t0).requiringGrad()
        let X = try Tensor(x.flatMap { $0 }, shape: [samples, n])
        let lambda = try Tensor([0.7]).requiringGrad()
        let context = HypergradientContext(theta: [theta], lambda: [lambda], lowerLosses: {
            let f = try X.matmul(theta)
            return LowerLosses(try (f - Tensor(y)).square(), keys: try Tensor.zeros([samples], dtype: .int64), features: f)
        }, weightedLoss: { l in try (lambda * l.features! * l.perSample).sum() / Double(samples) }, weightsFollowModel: true)
        let radius = 0.01
        let got = try HypergradientMethod.darts(radius: radius).compute(v: [try Tensor(v)], context)[0].doubles()
        let eps = radius / v.map { $0 * $0 }.reduce(0, +).squareRoot()
        func S(_ alpha: Double) -> Double {
            let t = zip(t0, v).map { $0 + alpha * $1 }
            return x.indices.map { i in
                let f = zip(x[i], t).reduce(0) { $0 + $1.0 * $1.1 }
                return f * (f - y[i]) * (f - y[i])
            }.reduce(0, +) / Double(samples)
        }
        assertClose(got, [(S(-eps) - S(eps)) / (2 * eps)], rtol: 1e-6, atol: 1e-9, "darts with θ-dependent weights")
    }

    /// Reverse mode through two plain-SGD steps equals the derivative of the whole unrolled
    /// procedure λ ↦ L_meta(θ₂(λ)), taken by central differences in plain doubles.
    func testReverseModeEqualsFiniteDifferencesOfTheUnrolledProcedure() throws {
        let (p, table) = try setup(at: [0.3, -0.7, 1.1])
        let start = try p.theta.doubles(), eta = 0.05
        let engine = try BilevelEngine(lower: p, upper: p, weights: table, lowerOptimizer: SGD([p.theta], learningRate: eta),
                                       upperOptimizer: SGD([table.raw], learningRate: 1),
                                       configuration: EngineConfiguration(unrollSteps: 2, hypergradient: .reverse))
        try engine.step()
        try engine.step()
        let g = zip(lambda0, try table.raw.doubles()).map { $0 - $1 }  // SGD with rate 1: Δλ = −g
        func unrolled(_ w: [Double]) -> Double {
            var t = start
            for _ in 0..<2 { t = zip(t, p.lowerGradient(t, w)).map { $0 - eta * $1 } }
            return p.metaLoss(t)
        }
        let h = 1e-6
        let numeric = lambda0.indices.map { k -> Double in
            var plus = lambda0, minus = lambda0
            plus[k] += h
            minus[k] -= h
            return (unrolled(plus) - unrolled(minus)) / (2 * h)
        }
        assertClose(g, numeric, rtol: 1e-6, atol: 1e-9, "reverse through 2 SGD steps")
    }

    /// On a tiny MLP (non-linear), one SGD step θ₁ = θ₀ − η∇θL(θ₀): reverse gives
    /// −η (∂λ∇θL(θ₀))ᵀ v with v = ∇L_meta(θ₁); darts at θ₀ with the same v, times η, must match.
    func testDartsMatchesReverseOnATinyMLPForOneStep() throws {
        let problem = try TinyMLPProblem(seed: 3)
        let lambda0 = [0.7, 1.2, 1.0], eta = 0.1
        let table = try InstanceTable(count: 3, dtype: .float64)
        try Autograd.noGrad { try table.raw.copy_(Tensor(lambda0)) }
        let theta0 = try ParameterVector.clone(problem.parameters)
        let engine = try BilevelEngine(lower: problem, upper: problem, weights: table,
                                       lowerOptimizer: SGD(problem.parameters, learningRate: eta),
                                       upperOptimizer: SGD([table.raw], learningRate: 1),
                                       configuration: EngineConfiguration(unrollSteps: 1, hypergradient: .reverse))
        try engine.step()
        let reverse = zip(lambda0, try table.raw.doubles()).map { $0 - $1 }
        let v = try ParameterVector.gradients(problem.loss(0), problem.parameters)
        try ParameterVector.copy(theta0, into: problem.parameters)
        let fresh = try InstanceTable(count: 3, dtype: .float64)
        try Autograd.noGrad { try fresh.raw.copy_(Tensor(lambda0)) }
        let darts = try HypergradientMethod.darts(radius: 1e-3).compute(v: v, HypergradientContext(
            theta: problem.parameters, lambda: [fresh.raw], lowerLosses: { try problem.losses(0) },
            weightedLoss: { l in try (fresh.weights(for: l.keys) * l.perSample).sum() / Double(l.perSample.size(0)) }))
        assertClose(try darts[0].doubles().map { $0 * eta }, reverse, rtol: 1e-5, atol: 1e-10, "darts × η vs reverse")
    }
}

/// A 2-layer MLP regression over three domains, float64.
final class TinyMLPProblem: LowerProblem, UpperProblem {
    let fc1: Linear, fc2: Linear
    let x: Tensor, y: Tensor, keys: Tensor, mx: Tensor, my: Tensor
    var parameters: [Tensor] { fc1.parameters() + fc2.parameters() }

    init(seed: UInt64) throws {
        Runtime.manualSeed(seed)
        fc1 = try Linear(4, 6, dtype: .float64)
        fc2 = try Linear(6, 1, dtype: .float64)
        x = try Tensor.randn([12, 4], dtype: .float64)
        y = try Tensor.randn([12], dtype: .float64)
        keys = try Tensor((0..<12).map { Int64($0 % 3) })
        mx = try Tensor.randn([8, 4], dtype: .float64)
        my = try Tensor.randn([8], dtype: .float64)
    }

    func forward(_ input: Tensor) throws -> Tensor { try fc2(fc1(input).tanh()).squeeze(-1) }
    func nextBatch() throws -> Int { 0 }
    func losses(_ batch: Int) throws -> LowerLosses { LowerLosses(try (forward(x) - y).square(), keys: keys) }
    func loss(_ batch: Int) throws -> Tensor { try (forward(mx) - my).square().mean() }
}

/// darts-step against the derivative of what AdamW actually does: λ ↦ L_meta(θ after one real
/// AdamW step), by central differences, with the optimiser's statistics built by earlier steps
/// and two parameter groups at rates 100 apart (a head and a trunk).
final class OptimizerStepHypergradientTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private let lambda0 = [0.7, 1.2, 1.0]

    private func table(_ values: [Double]) throws -> InstanceTable {
        let t = try InstanceTable(count: 3, dtype: .float64)
        try Autograd.noGrad { try t.raw.copy_(Tensor(values)) }
        return t
    }

    /// A TinyMLP and an AdamW that has taken 200 unweighted steps (fc1 at 1e-4, fc2 at 1e-2): the
    /// second moment then holds many gradients, as in a run, and the new one moves it little.
    private func warmedUp() throws -> (TinyMLPProblem, AdamW) {
        let problem = try TinyMLPProblem(seed: 5)
        let optimizer = try AdamW(problem.parameters, learningRate: 1e-2, eps: 1e-8, weightDecay: 0)
        optimizer.learningRateScales = [1e-2, 1e-2, 1, 1]
        for _ in 0..<200 {
            try optimizer.zeroGrad()
            try problem.losses(0).perSample.mean().backward()
            try optimizer.step()
        }
        return (problem, optimizer)
    }

    private func cosine(_ a: [Double], _ b: [Double]) -> Double {
        let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        return dot / (sqrt(a.reduce(0) { $0 + $1 * $1 }) * sqrt(b.reduce(0) { $0 + $1 * $1 }))
    }

    func testDartsStepFollowsTheDerivativeOfARealAdamWStep() throws {
        let (problem, optimizer) = try warmedUp()
        let theta0 = try ParameterVector.clone(problem.parameters), state0 = try optimizer.stateDict().mapValues { try $0.clone() }
        func metaLossAfterOneStep(_ w: [Double]) throws -> Double {
            try ParameterVector.copy(theta0, into: problem.parameters)
            try optimizer.load(stateDict: state0.mapValues { try $0.clone() })
            let t = try table(w)
            try optimizer.zeroGrad()
            let l = try problem.losses(0)
            try ((t.weights(for: l.keys).detach() * l.perSample).sum() / Double(l.perSample.size(0))).backward()
            try optimizer.step()
            return try Autograd.noGrad { try problem.loss(0).item() }
        }
        let h = 1e-5
        let exact = try lambda0.indices.map { k -> Double in
            var plus = lambda0, minus = lambda0
            plus[k] += h
            minus[k] -= h
            return (try metaLossAfterOneStep(plus) - metaLossAfterOneStep(minus)) / (2 * h)
        }
        // Both darts forms at θ₀ with v = ∇L_meta(θ₀), the optimiser back at its warmed-up state.
        try ParameterVector.copy(theta0, into: problem.parameters)
        try optimizer.load(stateDict: state0)
        let v = try ParameterVector.gradients(problem.loss(0), problem.parameters)
        let t = try table(lambda0)
        func context() -> HypergradientContext {
            HypergradientContext(theta: problem.parameters, lambda: [t.raw], lowerLosses: { try problem.losses(0) },
                                 weightedLoss: { l in try (t.weights(for: l.keys) * l.perSample).sum() / Double(l.perSample.size(0)) },
                                 stepDirection: { try optimizer.stepDirection($0) })
        }
        let step = try HypergradientMethod.dartsStep(radius: 1e-4).compute(v: v, context())[0].doubles()
        let plain = try HypergradientMethod.darts(radius: 1e-4).compute(v: v, context())[0].doubles()
        // The exact derivative of a step is negative where raising a weight lowers the meta loss;
        // darts' sign convention is the same (the upper optimiser descends it).
        XCTAssertGreaterThan(cosine(step, exact), 0.999, "darts-step \(step) vs exact \(exact)")
        XCTAssertEqual(step.map { $0 > 0 }, exact.map { $0 > 0 })
        XCTAssertLessThan(cosine(plain, exact), 0.99, "plain darts \(plain) weighs the slow group as the fast one")
    }

    /// SGD's step sizes are its rate: darts-step is plain darts rescaled (same direction).
    func testWithSGDDartsStepIsDarts() throws {
        let problem = try TinyMLPProblem(seed: 3)
        let optimizer = try SGD(problem.parameters, learningRate: 0.1)
        let v = try ParameterVector.gradients(problem.loss(0), problem.parameters)
        let t = try table(lambda0)
        let c = HypergradientContext(theta: problem.parameters, lambda: [t.raw], lowerLosses: { try problem.losses(0) },
                                     weightedLoss: { l in try (t.weights(for: l.keys) * l.perSample).sum() / Double(l.perSample.size(0)) },
                                     stepDirection: { try optimizer.stepDirection($0) })
        let step = try HypergradientMethod.dartsStep(radius: 1e-3).compute(v: v, c)[0].doubles()
        let plain = try HypergradientMethod.darts(radius: 1e-3).compute(v: v, c)[0].doubles()
        assertClose(step, plain, rtol: 1e-6, atol: 1e-12, "darts-step with SGD")
    }
}

/// The engine's alignment diagnostics against closed forms on the ridge problem.
final class AlignmentDiagnosticsTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    func testAlignmentIsEachDomainsMeanLossGradientAgainstTheMetaGradient() throws {
        let p = try RidgeProblem(seed: 11)
        let table = try InstanceTable(count: 4, dtype: .float64)
        try Autograd.noGrad { try table.raw.copy_(Tensor([1.0, 1, 1, 1])) }
        var configuration = EngineConfiguration(unrollSteps: 1)
        configuration.alignmentEvery = 1
        let engine = try BilevelEngine(lower: p, upper: p, weights: table, lowerOptimizer: SGD([p.theta], learningRate: 0.01),
                                       upperOptimizer: SGD([table.raw], learningRate: 0.1), configuration: configuration)
        let report = try engine.step()
        let t = try p.theta.doubles()  // the upper step moves λ only: θ is where the alignment was measured
        let v = p.metaGradient(t)
        for k in 0..<4 {
            let members = p.x.indices.filter { p.domain[$0] == k }
            var g = [Double](repeating: 0, count: t.count)
            for i in members { for j in t.indices { g[j] += (2 * (p.dot(p.x[i], t) - p.y[i]) * p.x[i][j] + 2 * p.rho * t[j]) / Double(members.count) } }
            let dot = p.dot(v, g), cosine = dot / (sqrt(p.dot(v, v)) * sqrt(p.dot(g, g)))
            let measured = try XCTUnwrap(report.alignment?[k]?["all"])
            assertClose([measured.dot, measured.cosine], [dot, cosine], rtol: 1e-9, atol: 1e-12, "domain \(k)")
        }
        XCTAssertEqual(report.hypergradient?.count, 4)
    }

    /// A domain whose centred hypergradient is 2δ ± δ over 10 steps stands 6 standard errors
    /// out (mean 2δ, sd δ√(10/9), t = 2δ√10/(δ√(10/9)) = 6); at δ/2 ± δ it is 1.5: noise.
    func testVerdictSeparatesAConsistentPushFromNoise() {
        func lines(offset: Double) -> [MetricsLine] {
            (0..<10).map { s in
                var line = MetricsLine(iteration: s + 1, lowerLoss: 0, lr: 0, saturatedFraction: 0, meanAbsLogit: 0, time: 0, tokensPerSecond: 0)
                let e = s % 2 == 0 ? 0.1 : -0.1
                line.hypergradientByDomain = ["good": -(offset + e), "bad": offset + e]
                return line
            }
        }
        let clear = WeightVerdict(metrics: lines(offset: 0.2), finalWeights: ["good": 1.4, "bad": 0.6])
        XCTAssertTrue(clear.separated)
        XCTAssertEqual(clear.signalToNoise["bad"] ?? 0, 6, accuracy: 1e-9)
        XCTAssertEqual(clear.signalToNoise["good"] ?? 0, -6, accuracy: 1e-9)
        XCTAssertEqual(clear.lowest, "bad")
        XCTAssertTrue(clear.summary.contains("yes"), clear.summary)
        let noise = WeightVerdict(metrics: lines(offset: 0.05), finalWeights: ["good": 1.02, "bad": 0.98])
        XCTAssertFalse(noise.separated)
        XCTAssertEqual(noise.signalToNoise["bad"] ?? 0, 1.5, accuracy: 1e-9)
        XCTAssertTrue(noise.summary.contains("no"), noise.summary)
        XCTAssertFalse(WeightVerdict(metrics: Array(lines(offset: 1).prefix(5)), finalWeights: [:]).separated, "too few steps")
    }
}
