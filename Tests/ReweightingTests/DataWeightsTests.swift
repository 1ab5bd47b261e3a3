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
