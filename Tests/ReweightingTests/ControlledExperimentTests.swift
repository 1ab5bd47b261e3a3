import Foundation
import NN
import Reweighting
import TestSupport
import Torch
import XCTest

/// Synthetic PRM-like data: soft labels a = σ(w*·x) over four domains, one of which has its
/// labels permuted among its own samples; a linear scorer σ(θ·x + b) trained by MSE.
final class CorruptedDomainProblem: LowerProblem, UpperProblem {
    static let domains = ["easy", "medium", "noisy-features", "corrupted"]
    let scorer: Linear
    let x: Tensor, accuracy: Tensor, keys: Tensor, metaX: Tensor, metaY: Tensor
    let batchSize = 32
    private(set) var position = 0
    private let order: [Int]
    var parameters: [Tensor] { scorer.parameters() }

    init(seed: UInt64, perDomain: Int = 256) throws {
        Runtime.manualSeed(seed)
        let d = 8
        let truth = try Tensor.randn([d])
        var xs: [Tensor] = [], accs: [Tensor] = [], ks: [Int64] = []
        for k in 0..<4 {
            var features = try Tensor.randn([perDomain, d])
            if k == 2 { features = try features + Tensor.randn([perDomain, d]) * 0.5 }  // harder, still informative
            var a = try features.matmul(truth).sigmoid()
            if k == 3 { a = try a.indexSelect(dim: 0, index: Tensor(Array((0..<perDomain).map(Int64.init).shuffledDeterministically(seed: seed)))) }
            xs.append(features)
            accs.append(a)
            ks += [Int64](repeating: Int64(k), count: perDomain)
        }
        x = try Tensor.cat(xs)
        accuracy = try Tensor.cat(accs)
        keys = try Tensor(ks)
        metaX = try Tensor.randn([128, d])
        metaY = try metaX.matmul(truth).gt(0).to(.float32)  // clean chains: correct or not
        scorer = try Linear(d, 1)
        order = Array(0..<(4 * perDomain)).shuffledDeterministically(seed: seed + 1)
    }

    func nextBatch() throws -> Tensor {
        let idx = (0..<batchSize).map { Int64(order[(position + $0) % order.count]) }
        position += batchSize
        return try Tensor(idx)
    }

    func losses(_ batch: Tensor) throws -> LowerLosses {
        let z = try scorer(x.indexSelect(dim: 0, index: batch)).squeeze(-1)
        return LowerLosses(try (z.sigmoid() - accuracy.indexSelect(dim: 0, index: batch)).square(), keys: try keys.indexSelect(dim: 0, index: batch))
    }

    func loss(_ batch: Tensor) throws -> Tensor {
        try (scorer(metaX).squeeze(-1).sigmoid() - metaY).square().mean()
    }
}

extension Array {
    /// A Fisher–Yates shuffle driven by SplitMix, so the order is the same on every platform.
    func shuffledDeterministically(seed: UInt64) -> [Element] {
        var g = SplitMix(seed: seed), a = self
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        return a
    }
}

final class ControlledExperimentTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private func train(baseline: Bool, rollback: Bool = false, iterations: Int = 600) throws -> [String: Double] {
        let problem = try CorruptedDomainProblem(seed: 11)
        let table = try DomainTable(domains: CorruptedDomainProblem.domains)
        let engine = try BilevelEngine(
            lower: problem, upper: problem, weights: table,
            lowerOptimizer: AdamW(problem.parameters, learningRate: 0.02, weightDecay: 0),
            upperOptimizer: AdamW(table.trainableParameters(), learningRate: 0.05, weightDecay: 1e-3),
            configuration: EngineConfiguration(unrollSteps: 5, hypergradient: .darts(radius: 0.01), rollback: rollback, baseline: baseline))
        for _ in 0..<iterations { try engine.step() }
        return try table.snapshot()
    }

    func testTheCorruptedDomainGetsTheLowestWeightWithAMargin() throws {
        let w = try train(baseline: false)
        print("learned domain weights: \(w.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%.3f", $0.value))" }.joined(separator: " "))")
        let corrupted = try XCTUnwrap(w["corrupted"])
        let others = w.filter { $0.key != "corrupted" }.map(\.value)
        XCTAssertLessThan(corrupted, others.min()! - 0.1, "corrupted domain is not clearly the lowest: \(w)")
    }

    func testBaselineLearnsNoWeights() throws {
        let w = try train(baseline: true, iterations: 100)
        XCTAssertEqual(Set(w.values), [1], "baseline must leave every weight at 1: \(w)")
    }

    func testRollbackStillFindsTheCorruptedDomain() throws {
        let w = try train(baseline: false, rollback: true)
        XCTAssertEqual(w.min { $0.value < $1.value }?.key, "corrupted", "\(w)")
    }
}
