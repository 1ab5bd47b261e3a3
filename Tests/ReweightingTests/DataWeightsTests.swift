import Foundation
import Reweighting
import TestSupport
import Torch
import XCTest

final class DomainTableTests: XCTestCase {
    func testWeightsStartEqualAndAverageToOne() throws {
        let table = try DomainTable(domains: ["a", "b", "c"])
        try assertClose(table.all(), [1, 1, 1])
        try Autograd.noGrad { try table.raw.copy_(Tensor([Float(-1), 0, 2])) }
        let s = [-1.0, 0, 2].map { log1p(exp($0)) }, mean = s.reduce(0, +) / 3
        try assertClose(table.all(), s.map { $0 / mean }, rtol: 1e-6)
        try assertClose(table.all().mean(), [1], rtol: 1e-6)
        try assertClose(table.weights(for: Tensor([Int64(2), 0, 2])), [s[2] / mean, s[0] / mean, s[2] / mean], rtol: 1e-6)
        XCTAssertEqual(try table.snapshot()["b"] ?? 0, s[1] / mean, accuracy: 1e-6)
        XCTAssertEqual(table.namedParameters().map(\.0), ["raw"])
    }
}

final class InstanceTableTests: XCTestCase {
    func testActivations() throws {
        let t = try InstanceTable(count: 5, initialization: 1, activation: .identity)
        try assertClose(t.all(), [1, 1, 1, 1, 1])
        try Autograd.noGrad { try t.raw.copy_(Tensor([Float(-2), -0.5, 0, 2, 4])) }
        let x: [Double] = [-2, -0.5, 0, 2, 4]
        let cases: [(InstanceTable.Activation, [Double])] = [
            (.relu, x.map { max($0, 0) }), (.leakyRelu, x.map { $0 > 0 ? $0 : 0.01 * $0 }), (.identity, x),
            (.clip, x.map { min(max($0, -1), 3) }), (.sigmoid, x.map { 1 / (1 + exp(-$0)) }),
        ]
        for (activation, want) in cases {
            let table = try InstanceTable(count: 5, activation: activation)
            try Autograd.noGrad { try table.raw.copy_(t.raw) }
            try assertClose(table.all(), want, rtol: 1e-6, "\(activation)")
        }
    }
}

/// The instance net against a PyTorch transcription of METHOD.md §3
/// (tools/fixtures/make_instance_net_fixture.py): weights, and the gradient that reaches the
/// PRM's label logits through the net when its input is not detached (none when it is).
final class InstanceNetTests: XCTestCase {
    private struct Fixture: Decodable {
        let hidden: Int, layers: Int
        let parameters: [String: [Double]]
        let logits: [Double], mask: [Bool], coefficients: [Double], weights: [Double]
        let logit_gradient: [Double]
    }

    func testWeightsAndBothDetachModesEqualPyTorch() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/instance_net.json")
        let f = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        for detach in [true, false] {
            let net = try InstanceNet(hidden: f.hidden, hiddenLayers: f.layers, activation: .sigmoid, detachInput: detach, dtype: .float64)
            let named = Dictionary(uniqueKeysWithValues: net.namedParameters())
            XCTAssertEqual(Set(named.keys), Set(f.parameters.keys))
            try Autograd.noGrad { for (name, p) in named { try p.copy_(Tensor(f.parameters[name]!, shape: p.shape)) } }
            let logits = try Tensor(f.logits, shape: [3, 4, 2]).requiringGrad()
            let mask = try Tensor(f.mask.map { $0 ? 1.0 : 0.0 }, shape: [3, 4]).gt(0.5)
            let w = try net.weights(for: LowerLosses(Tensor.zeros([3]), keys: Tensor.zeros([3], dtype: .int64),
                                                     features: logits.softmax(dim: -1), featureMask: mask))
            assertClose(try w.doubles(), f.weights, rtol: 1e-12, "weights")
            XCTAssertEqual(net.gradientReachesModel, !detach)
            try (w * Tensor(f.coefficients)).sum().backward()
            if detach {
                XCTAssertNil(logits.grad, "a detached input passes no gradient to the PRM")
            } else {
                assertClose(try XCTUnwrap(logits.grad).doubles(), f.logit_gradient, rtol: 1e-10, atol: 1e-14, "gradient into the PRM's logits")
            }
        }
    }
}
