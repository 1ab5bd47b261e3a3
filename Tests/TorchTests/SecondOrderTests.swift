import Foundation
import TestSupport
import Torch
import XCTest

/// Second-order autograd: a hypergradient through one unrolled SGD step equals its closed form.
final class SecondOrderTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    /// Weighted regression across K domains. Lower loss L(θ, λ) = Σ_i λ_{d(i)} (x_i·θ − y_i)² / N,
    /// one SGD step θ' = θ − η ∇θL, meta loss M(θ') = Σ_j (m_j·θ' − t_j)² / M. Differentiating
    /// θ' with respect to λ_k gives the closed form
    ///   dM/dλ_k = −η · (2/N) Σ_{i∈k} (x_i·θ − y_i) x_i · ∇M(θ'),  ∇M(θ') = (2/M) Σ_j (m_j·θ' − t_j) m_j.
    func testHypergradientThroughOneSGDStepMatchesClosedForm() throws {
        let n = 12, m = 7, d = 3, k = 4, eta = 0.1
        var rng = SplitMix(seed: 42)
        let x = (0..<n).map { _ in (0..<d).map { _ in rng.normal() } }
        let y = (0..<n).map { _ in rng.normal() }
        let mx = (0..<m).map { _ in (0..<d).map { _ in rng.normal() } }
        let my = (0..<m).map { _ in rng.normal() }
        let theta0 = (0..<d).map { _ in rng.normal() }
        let lambda0 = (0..<k).map { _ in 0.5 + rng.uniform() }
        let domain = (0..<n).map { $0 % k }

        // Autograd with create_graph through the inner step.
        let X = try Tensor(x.flatMap { $0 }, shape: [n, d]), Y = try Tensor(y)
        let MX = try Tensor(mx.flatMap { $0 }, shape: [m, d]), MY = try Tensor(my)
        let theta = try Tensor(theta0).requiringGrad()
        let lambda = try Tensor(lambda0).requiringGrad()
        let perSample = try (X.matmul(theta) - Y).square()
        let weights = try lambda.indexSelect(dim: 0, index: Tensor(domain.map(Int64.init)))
        let lower = try (weights * perSample).sum() / Double(n)
        let g = try Autograd.grad(of: [lower], wrt: [theta], createGraph: true)[0]!
        let thetaNext = try theta - g * eta
        let meta = try (MX.matmul(thetaNext) - MY).square().mean()
        let hyper = try Autograd.grad(of: [meta], wrt: [lambda])[0]!

        // Closed form in plain Swift doubles.
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        var grad = [Double](repeating: 0, count: d)
        for i in 0..<n {
            let r = dot(x[i], theta0) - y[i]
            for j in 0..<d { grad[j] += lambda0[domain[i]] * 2 * r * x[i][j] / Double(n) }
        }
        let next = (0..<d).map { theta0[$0] - eta * grad[$0] }
        var metaGrad = [Double](repeating: 0, count: d)
        for j in 0..<m {
            let r = dot(mx[j], next) - my[j]
            for c in 0..<d { metaGrad[c] += 2 * r * mx[j][c] / Double(m) }
        }
        var expected = [Double](repeating: 0, count: k)
        for i in 0..<n {
            let r = dot(x[i], theta0) - y[i]
            expected[domain[i]] += -eta * (2 / Double(n)) * r * dot(x[i], metaGrad)
        }
        try assertClose(hyper, expected, rtol: 1e-10, atol: 1e-12, "dM/dλ")
    }
}

