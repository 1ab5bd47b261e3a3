import Foundation
import PRM
import TestSupport
import Torch
import XCTest

final class AggregationTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    /// Two chains: three steps, and two steps padded to three.
    private let z: [[Double]] = [[0.4, -1.2, 2.0], [1.5, 0.3, 9.9]]
    private let lengths = [3, 2]

    private func inputs() throws -> (Tensor, Tensor) {
        (try Tensor(z.flatMap { $0 }, shape: [2, 3]), try Tensor([true, true, true, true, true, false], shape: [2, 3]))
    }

    private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    func testEveryAggregationAgainstItsDefinition() throws {
        let (logits, mask) = try inputs()
        let steps = zip(z, lengths).map { Array($0.prefix($1)) }
        let p = steps.map { $0.map(sigmoid) }
        let expected: [Aggregation: [Double]] = [
            .mean: p.map { $0.reduce(0, +) / Double($0.count) },
            .min: p.map { $0.min()! },
            .max: p.map { $0.max()! },
            .product: p.map { $0.reduce(1, *) },
            .last: p.map { $0.last! },
            .meanLogOdds: steps.map { sigmoid($0.reduce(0, +) / Double($0.count)) },
            .sumLogOdds: steps.map { sigmoid($0.reduce(0, +)) },
            .logMean: p.map { exp($0.map(log).reduce(0, +) / Double($0.count)) },
        ]
        XCTAssertEqual(Set(expected.keys), Set(Aggregation.allCases))
        for (aggregation, want) in expected {
            try assertClose(aggregation(logits: logits, mask: mask), want, rtol: 1e-12, "\(aggregation)")
            for (i, chain) in steps.enumerated() {
                XCTAssertEqual(aggregation.score(logits: chain), want[i], accuracy: 1e-12, "\(aggregation) (Double) chain \(i)")
            }
        }
    }

    func testLogOddsStayFiniteWhenProbabilitiesRoundToOne() throws {
        // In float32 σ(40) == 1, so log(p / (1 − p)) would be infinite; from z it is exact.
        let logits = try Tensor([Float(40), 50], shape: [1, 2]), mask = try Tensor([true, true], shape: [1, 2])
        let s = try Aggregation.meanLogOdds(logits: logits, mask: mask).doubles()[0]
        XCTAssertEqual(s, 1, accuracy: 1e-7)
        let g = try Aggregation.logMean(logits: logits.requiringGrad(), mask: mask)
        XCTAssertTrue(try g.isFinite().toArray(Bool.self).allSatisfy { $0 })
    }

    func testMetaLossesAreDifferentiableAndMatchFiniteDifferences() throws {
        let (logits, mask) = try inputs()
        let y = try Tensor([1.0, 0.0])
        for aggregation in Aggregation.allCases where aggregation != .min && aggregation != .max {
            try assertGradientsMatchFiniteDifferences([logits], "v1 meta loss, \(aggregation)") {
                try PRMLoss.v1Meta(stepLogits: $0[0], mask: mask, label: y, aggregation: aggregation)
            }
        }
    }

    /// The three meta objectives over a weighted batch, against their definitions: chains of
    /// 3, 2 and 1 steps labelled right, wrong, right, weighted 1, 2 and 0.5.
    func testMetaObjectivesAgainstTheirDefinitions() throws {
        let steps: [[Double]] = [[0.4, -1.2, 2.0], [1.5, 0.3], [-0.7]]
        let labels: [Float] = [1, 0, 1], weights = [1.0, 2.0, 0.5]
        let chains = try steps.map { try Tensor($0, shape: [1, $0.count]) }
        func softplus(_ x: Double) -> Double { log(1 + exp(x)) }
        for aggregation in [Aggregation.meanLogOdds, .mean] {
            let s = steps.map { aggregation.score(logits: $0) }
            let a = s.map { log($0 / (1 - $0)) }
            let y = labels.map(Double.init)
            let expected: [MetaObjective: Double] = [
                .squared: (0..<3).map { weights[$0] * pow(s[$0] - y[$0], 2) }.reduce(0, +) / 3,
                .log: (0..<3).map { weights[$0] * (y[$0] > 0.5 ? -log(s[$0]) : -log(1 - s[$0])) }.reduce(0, +) / 3,
                // pairs (right 0, wrong 1) weighted 1·2 and (right 2, wrong 1) weighted 0.5·2
                .rank: (2 * softplus(-(a[0] - a[1])) + 1 * softplus(-(a[2] - a[1]))) / 3,
            ]
            XCTAssertEqual(Set(expected.keys), Set(MetaObjective.allCases))
            for (objective, want) in expected {
                let got = try PRMLoss.v1Meta(chainLogits: chains, labels: labels, weights: weights, aggregation: aggregation, objective: objective)
                XCTAssertEqual(try got.item(), want, accuracy: 1e-9, "\(objective), \(aggregation)")
                try assertGradientsMatchFiniteDifferences(chains, "\(objective), \(aggregation)") {
                    try PRMLoss.v1Meta(chainLogits: $0, labels: labels, weights: weights, aggregation: aggregation, objective: objective)
                }
            }
        }
        // A batch of one label has no pair to rank: no loss and no gradient.
        let same = try PRMLoss.v1Meta(chainLogits: chains, labels: [1, 1, 1], weights: weights, aggregation: .meanLogOdds, objective: .rank)
        XCTAssertEqual(try same.item(), 0)
    }

    func testGenerativeMetaLossTargets() throws {
        let plus = try Tensor([0.9, 0.7, 0.0, 0.2, 0.4, 0.0], shape: [2, 3])
        let minus = try Tensor([0.1, 0.2, 0.0, 0.8, 0.5, 0.0], shape: [2, 3])
        let mask = try Tensor([true, true, false, true, true, false], shape: [2, 3])
        let y = try Tensor([1.0, 0.0])
        let (logPlus, logMinus) = (try plus.log(), try minus.log())
        try assertClose(PRMLoss.generativeMeta(logProbabilityPlus: logPlus, logProbabilityMinus: logMinus, mask: mask, label: y, target: .plus),
                        [(0.8 - 1) * (0.8 - 1), 0.3 * 0.3], rtol: 1e-9)
        // "both": the negative chain is judged by P(−): mean 0.65, loss (1 − 0.65)².
        try assertClose(PRMLoss.generativeMeta(logProbabilityPlus: logPlus, logProbabilityMinus: logMinus, mask: mask, label: y),
                        [0.2 * 0.2, 0.35 * 0.35], rtol: 1e-9)
        // Other aggregations of the judged probabilities: min (0.7 and 0.5), geometric mean, last.
        try assertClose(PRMLoss.generativeMeta(logProbabilityPlus: logPlus, logProbabilityMinus: logMinus, mask: mask, label: y, aggregation: .min),
                        [0.3 * 0.3, 0.5 * 0.5], rtol: 1e-9)
        let geometric = [(0.9 * 0.7).squareRoot(), (0.8 * 0.5).squareRoot()]
        try assertClose(PRMLoss.generativeMeta(logProbabilityPlus: logPlus, logProbabilityMinus: logMinus, mask: mask, label: y, aggregation: .logMean),
                        geometric.map { (1 - $0) * (1 - $0) }, rtol: 1e-9)
        try assertClose(PRMLoss.generativeMeta(logProbabilityPlus: logPlus, logProbabilityMinus: logMinus, mask: mask, label: y, aggregation: .last),
                        [0.3 * 0.3, 0.5 * 0.5], rtol: 1e-9)
        for aggregation in Aggregation.allCases {
            let loss = try PRMLoss.generativeMeta(logProbabilityPlus: logPlus, logProbabilityMinus: logMinus, mask: mask, label: y, aggregation: aggregation)
            XCTAssertTrue(try loss.doubles().allSatisfy(\.isFinite), "\(aggregation)")
        }
    }

    /// Hard and soft label cross-entropy over a softmax of the whole vocabulary, by hand.
    func testGenerativeLowerLoss() throws {
        let logits: [[Double]] = [[2.0, -1.0, 0.5, 0.0], [0.0, 3.0, -2.0, 1.0]]
        let logP = try Tensor(logits.flatMap { $0 }, shape: [2, 4]).logSoftmax(dim: 1)
        func logSoftmax(_ row: [Double], _ i: Int) -> Double { row[i] - log(row.map(exp).reduce(0, +)) }
        let (plus, minus) = (2, 1)
        let hard = try PRMLoss.generativeCE(logProbabilities: logP, plus: plus, minus: minus, target: Tensor([1.0, 0.0]))
        try assertClose(hard, [-logSoftmax(logits[0], plus), -logSoftmax(logits[1], minus)], rtol: 1e-12)
        let soft = try PRMLoss.generativeCE(logProbabilities: logP, plus: plus, minus: minus, target: Tensor([0.25, 0.75]))
        try assertClose(soft, logits.indices.map { k in
            let a = [0.25, 0.75][k]
            return -(a * logSoftmax(logits[k], plus) + (1 - a) * logSoftmax(logits[k], minus))
        }, rtol: 1e-12)
    }

    func testLowerLossesPerSample() throws {
        let z = try Tensor([0.0, 2.0]), acc = try Tensor([0.25, 1.0])
        try assertClose(PRMLoss.mse(logits: z, accuracy: acc), [0.0625, (sigmoid(2) - 1) * (sigmoid(2) - 1)], rtol: 1e-12)
        let bce = [-(0.25 * log(0.5) + 0.75 * log(0.5)), -log(sigmoid(2))]
        try assertClose(PRMLoss.softBCE(logits: z, accuracy: acc), bce, rtol: 1e-12)
    }
}


final class ScalarAggregationTests: XCTestCase {
    /// The Double version used by best-of-N gives the tensor version's value for every function.
    func testScalarAggregationEqualsTheTensorOne() throws {
        Runtime.threadCount = 1
        let chains: [[Double]] = [[0.4, -1.2, 2.0], [1.5, 0.3], [-30, 25, 0.1, 4], [60]]
        let width = chains.map(\.count).max()!
        let z = try Tensor(chains.flatMap { $0 + [Double](repeating: 0, count: width - $0.count) }, shape: [chains.count, width])
        let mask = try Tensor(chains.flatMap { c in (0..<width).map { $0 < c.count } }, shape: [chains.count, width])
        for a in Aggregation.allCases {
            let want = try a(logits: z, mask: mask).doubles()
            for (i, c) in chains.enumerated() { XCTAssertEqual(a.score(logits: c), want[i], accuracy: 1e-12 * max(1, abs(want[i])), "\(a) chain \(i)") }
        }
    }

    /// Near-certain chains rank by their logits under every aggregation: `mean`'s ranking
    /// value is the log-odds of the mean probability, and `complement` is 1 − score without
    /// rounding (what the weighted vote counts).
    func testNearCertainChainsStillRank() {
        let sure: [Double] = [40, 41], surer: [Double] = [42, 43]
        XCTAssertEqual(Aggregation.mean.score(logits: sure), Aggregation.mean.score(logits: surer), "the premise: both scores are 1.0")
        for a in Aggregation.allCases {
            XCTAssertLessThan(a.rankingScore(logits: sure), a.rankingScore(logits: surer), "\(a)")
            XCTAssertGreaterThan(a.complement(logits: sure), a.complement(logits: surer), "\(a)")
        }
        // mean: log-odds of (σ(z₁) + σ(z₂)) / 2 and its complement, against the analytic values.
        let z: [Double] = [0.5, -2]
        let p = z.map { 1 / (1 + Foundation.exp(-$0)) }.reduce(0, +) / 2
        XCTAssertEqual(Aggregation.mean.rankingScore(logits: z), Foundation.log(p / (1 - p)), accuracy: 1e-12)
        XCTAssertEqual(Aggregation.mean.complement(logits: [40, 41]), (Foundation.exp(-40) + Foundation.exp(-41)) / 2, accuracy: 1e-30)
        for a in Aggregation.allCases { XCTAssertEqual(a.complement(logits: z), 1 - a.score(logits: z), accuracy: 1e-12, "\(a)") }
    }

    /// A generative step's log-odds is logit(+) − logsumexp(other logits), which keeps apart
    /// the steps that a float32 log-softmax rounds to one value (27.63 for every P(+) > 1 − 6e-8).
    func testGenerativeLogOddsDoNotTie() throws {
        Runtime.threadCount = 1
        let vocabulary = 1000
        func row(margin: Double) -> [Double] { (0..<vocabulary).map { $0 == 7 ? margin : 0 } }
        for margin in [30.0, 35.0, 2.0] {
            // Analytic: the other 999 logits are all 0.
            XCTAssertEqual(GenerativePRM.logOdds(row(margin: margin)[...], of: 7), margin - Foundation.log(999), accuracy: 1e-12)
        }
        let float32 = try [30.0, 35.0].map { m -> Double in
            let lp = try Tensor(row(margin: m), shape: [vocabulary]).to(.float32).logSoftmax(dim: 0).doubles()[7]
            let l = Swift.min(lp, -1e-12)
            return l - Foundation.log(-Foundation.expm1(l))
        }
        XCTAssertEqual(float32[0], float32[1], "the old float32 way ties them")
    }
}
