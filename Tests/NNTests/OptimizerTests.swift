import Foundation
import NN
import TestSupport
import Torch
import XCTest

/// Optimisers and schedulers against `torch.optim` (fixtures from tools/fixtures).
final class OptimizerTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private struct Trajectories: Decodable {
        struct Run: Decodable { let parameters: [[[Float]]] }
        let steps: Int
        let shapes: [[Int]]
        let initial: [[Float]]
        let gradients: [[[Float]]]
        let trajectories: [String: Run]
    }

    private func load<T: Decodable>(_ name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: fixtureURL(name, bundle: .module)))
    }

    private func replay(_ name: String, _ make: ([Tensor]) throws -> Optimizer) throws {
        let fx: Trajectories = try load("optimizer_trajectories.json")
        let params = try zip(fx.initial, fx.shapes).map { try Tensor($0, shape: $1).requiringGrad() }
        let optimizer = try make(params)
        let run = try XCTUnwrap(fx.trajectories[name])
        for k in 0..<fx.steps {
            for (p, g) in zip(params, fx.gradients[k]) { try p.setGrad(Tensor(g, shape: p.shape)) }
            try optimizer.step()
            for (i, p) in params.enumerated() {
                assertClose(try p.doubles(), run.parameters[k][i].map(Double.init), rtol: 1e-6, atol: 1e-7,
                            "\(name) step \(k + 1) parameter \(i)")
            }
        }
    }

    func testAdamWTrajectoriesMatchTorch() throws {
        try replay("adamw_default") { try AdamW($0, learningRate: 1e-2) }
        try replay("adamw_amsgrad") {
            try AdamW($0, learningRate: 5e-3, betas: (0.8, 0.99), eps: 1e-6, weightDecay: 0.1, amsgrad: true)
        }
        try replay("adamw_no_decay") { try AdamW($0, learningRate: 5e-7, eps: 1e-6, weightDecay: 0) }
    }

    func testSGDTrajectoriesMatchTorch() throws {
        try replay("sgd_plain") { try SGD($0, learningRate: 0.1) }
        try replay("sgd_momentum") { try SGD($0, learningRate: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) }
        try replay("sgd_nesterov") { try SGD($0, learningRate: 0.05, momentum: 0.9, weightDecay: 0.001, nesterov: true) }
    }

    func testScheduleSequencesMatchTorchAndTransformers() throws {
        let fx: [String: AnyDecodableSequence] = try load("lr_schedules.json")
        let base = 0.1
        let cases: [(String, LearningRateSchedule)] = [
            ("constant", .constant),
            ("step_7_0.5", .step(stepSize: 7, gamma: 0.5)),
            ("step_5000_0.5", .step(stepSize: 5000, gamma: 0.5)),
            ("cosine_warmup_4_30", .cosineWithWarmup(warmupSteps: 4, totalSteps: 30)),
            ("linear_warmup_5_32", .linearWithWarmup(warmupSteps: 5, totalSteps: 32)),
        ]
        for (name, schedule) in cases {
            let want = try XCTUnwrap(fx[name]?.values, name)
            // Drive a real optimiser through the scheduler, reading the rate before each step.
            let p = try Tensor([0.0]).requiringGrad()
            let optimizer = try SGD([p], learningRate: base)
            let scheduler = LearningRateScheduler(optimizer, schedule: schedule)
            var got: [Double] = []
            for _ in want.indices {
                got.append(optimizer.learningRate)
                scheduler.step()
            }
            assertClose(got, want, rtol: 1e-12, atol: 1e-15, name)
        }
    }

    /// Values of lr_schedules.json: a list for each schedule, a number for "base".
    private struct AnyDecodableSequence: Decodable {
        let values: [Double]?
        init(from decoder: Decoder) throws {
            values = try? decoder.singleValueContainer().decode([Double].self)
        }
    }

    func testGradientClippingMatchesTorch() throws {
        struct Case: Decodable { let max_norm: Double; let total_norm: Double; let clipped: [[Float]] }
        struct Fixture: Decodable { let gradients: [[Float]]; let shapes: [[Int]]; let cases: [Case] }
        let fx: Fixture = try load("grad_clipping.json")
        for c in fx.cases {
            let params = try fx.shapes.map { try Tensor.zeros($0).requiringGrad() }
            for (p, (g, s)) in zip(params, zip(fx.gradients, fx.shapes)) { try p.setGrad(Tensor(g, shape: s)) }
            let total = try GradientClipping.clipGradNorm(params, maxNorm: c.max_norm)
            XCTAssertEqual(total, c.total_norm, accuracy: 1e-5 * c.total_norm)
            for (p, want) in zip(params, c.clipped) {
                assertClose(try XCTUnwrap(p.grad).doubles(), want.map(Double.init), rtol: 1e-6, atol: 1e-7, "max_norm \(c.max_norm)")
            }
        }
    }

    func testOptimizerStateRoundTripContinuesTheSameTrajectory() throws {
        Runtime.manualSeed(5)
        let initial = try Tensor.randn([6])
        let grads = try (0..<6).map { _ in try Tensor.randn([6]) }
        func run(split: Int?) throws -> [Double] {
            var p = try initial.clone().requiringGrad()
            var opt = try AdamW([p], learningRate: 0.01, amsgrad: true)
            for (k, g) in grads.enumerated() {
                if k == split {
                    let saved = try opt.stateDict(), values = try p.detach().clone()
                    p = try values.requiringGrad()
                    opt = try AdamW([p], learningRate: 0.01, amsgrad: true)
                    try opt.load(stateDict: saved)
                }
                try p.setGrad(g)
                try opt.step()
            }
            return try p.doubles()
        }
        XCTAssertEqual(try run(split: 3), try run(split: nil))
    }

    /// A rollback to a state taken before the first step (a window that starts the run)
    /// restores exactly: the steps taken since leave no moments or step counts behind, so the
    /// next step is a first step again.
    func testLoadingAStateFromBeforeTheFirstStepForgetsLaterMoments() throws {
        Runtime.manualSeed(6)
        let initial = try Tensor.randn([5]), first = try Tensor.randn([5])
        let p = try initial.clone().requiringGrad()
        let opt = try AdamW([p], learningRate: 0.1)
        let fresh = try opt.stateDict()
        for _ in 0..<3 {
            try p.setGrad(try Tensor.randn([5]))
            try opt.step()
        }
        try Autograd.noGrad { try p.copy_(initial) }
        try opt.load(stateDict: fresh)
        try p.setGrad(first)
        try opt.step()
        let q = try initial.clone().requiringGrad()
        let reference = try AdamW([q], learningRate: 0.1)
        try q.setGrad(first)
        try reference.step()
        XCTAssertEqual(try p.doubles(), try q.doubles())
        XCTAssertEqual(opt.steps, [1])
    }

    func testBF16ParametersKeepFloat32MasterWeights() throws {
        // lr 1e-4 on a weight of 1.0: each update (≈1e-4) is far below bf16's spacing at 1
        // (2^-7 ≈ 0.0078), so without a master copy the parameter would never move.
        let p = try Tensor.ones([4], dtype: .bfloat16).requiringGrad()
        let opt = try SGD([p], learningRate: 1e-4)
        for _ in 0..<100 {
            try p.setGrad(Tensor.ones([4], dtype: .bfloat16))
            try opt.step()
        }
        // Master: 1 − 100·1e-4 = 0.99, which bf16 rounds to 0.98828125 (nearest representable).
        XCTAssertEqual(try p.doubles(), [0.98828125, 0.98828125, 0.98828125, 0.98828125])
        let naive = try Tensor.ones([4], dtype: .bfloat16).requiringGrad()
        let plain = try SGD([naive], learningRate: 1e-4, masterWeights: false)
        for _ in 0..<100 {
            try naive.setGrad(Tensor.ones([4], dtype: .bfloat16))
            try plain.step()
        }
        XCTAssertEqual(try naive.doubles(), [1, 1, 1, 1])
    }

    func testGradientAccumulationGivesTheMeanOfMicroBatchGradients() throws {
        Runtime.manualSeed(9)
        let x = try Tensor.randn([8, 3]), y = try Tensor.randn([8])
        let w = try Tensor.randn([3]).requiringGrad()
        try Loss.mse(x.matmul(w), y).backward()
        let full = try XCTUnwrap(w.grad).doubles()
        try w.setGrad(nil)
        var acc = GradientAccumulation(steps: 4)
        var stepped: [Bool] = []
        for chunk in 0..<4 {
            let xs = try x.narrow(dim: 0, start: chunk * 2, length: 2), ys = try y.narrow(dim: 0, start: chunk * 2, length: 2)
            try (Loss.mse(xs.matmul(w), ys) * acc.lossScale).backward()
            stepped.append(acc.recordMicroBatch())
        }
        XCTAssertEqual(stepped, [false, false, false, true])
        assertClose(try XCTUnwrap(w.grad).doubles(), full, rtol: 1e-5, atol: 1e-7)
    }
}
