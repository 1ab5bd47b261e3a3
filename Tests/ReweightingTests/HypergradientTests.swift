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
