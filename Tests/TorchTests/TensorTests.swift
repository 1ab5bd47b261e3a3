import Foundation
import TestSupport
import Torch
import XCTest

final class TensorTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    func testRoundTripOfEveryDType() throws {
        XCTAssertEqual(try Tensor([1.5, -2, 3], shape: [3]).toArray(Double.self), [1.5, -2, 3])
        XCTAssertEqual(try Tensor([Float(1.5), 2, 3, 4], shape: [2, 2]).toArray(Float.self), [1.5, 2, 3, 4])
        XCTAssertEqual(try Tensor([Float16(0.5), 2]).toArray(Float16.self), [0.5, 2])
        XCTAssertEqual(try Tensor([Int64.max, -1]).toArray(Int64.self), [Int64.max, -1])
        XCTAssertEqual(try Tensor([Int32(7), -8]).toArray(Int32.self), [7, -8])
        XCTAssertEqual(try Tensor([Int16(7), -8]).toArray(Int16.self), [7, -8])
        XCTAssertEqual(try Tensor([Int8(7), -8]).toArray(Int8.self), [7, -8])
        XCTAssertEqual(try Tensor([UInt8(255), 0]).toArray(UInt8.self), [255, 0])
        XCTAssertEqual(try Tensor([true, false]).toArray(Bool.self), [true, false])
        // bfloat16 has no Swift type: raw bytes in, raw bytes out. 0x3FC0 is 1.5, 0xC000 is −2.
        let bf = try [UInt8]([0xC0, 0x3F, 0x00, 0xC0]).withUnsafeBytes {
            try Tensor(bytes: $0, shape: [2], dtype: .bfloat16)
        }
        XCTAssertEqual(bf.dtype, .bfloat16)
        XCTAssertEqual(try bf.doubles(), [1.5, -2])
        XCTAssertEqual(try bf.bytes(), [0xC0, 0x3F, 0x00, 0xC0])
        XCTAssertEqual(try Tensor([1.0, 2.5]).to(.bfloat16).bytes(), [0x80, 0x3F, 0x20, 0x40])
    }

    func testMetadataAndCreation() throws {
        let t = try Tensor.zeros([2, 3, 4], dtype: .bfloat16)
        XCTAssertEqual(t.shape, [2, 3, 4])
        XCTAssertEqual(t.rank, 3)
        XCTAssertEqual(t.count, 24)
        XCTAssertEqual(t.dtype, .bfloat16)
        XCTAssertEqual(t.device, .cpu)
        XCTAssertEqual(try Tensor.arange(0, 5).toArray(Int64.self), [0, 1, 2, 3, 4])
        XCTAssertEqual(try Tensor.full([2], 3.5, dtype: .float64).toArray(Double.self), [3.5, 3.5])
        XCTAssertEqual(try Tensor.eye(2).toArray(Float.self), [1, 0, 0, 1])
        XCTAssertEqual(try Tensor(scalar: 4.0).shape, [])
        XCTAssertEqual(try Tensor(scalar: 4.0).item(), 4)
    }

    func testSeededRandomIsReproducible() throws {
        Runtime.manualSeed(7)
        let a = try Tensor.randn([5]).toArray(Float.self)
        let state = try Runtime.rngState()
        let b = try Tensor.rand([5]).toArray(Float.self)
        Runtime.manualSeed(7)
        XCTAssertEqual(try Tensor.randn([5]).toArray(Float.self), a)
        try Runtime.setRNGState(state)
        XCTAssertEqual(try Tensor.rand([5]).toArray(Float.self), b)
        let ints = try Tensor.randint(3, 6, [100]).toArray(Int64.self)
        XCTAssertTrue(ints.allSatisfy { (3..<6).contains($0) })
    }

    func testElementwiseValuesAgainstAnalyticForms() throws {
        let x = try Tensor([-2.0, -0.5, 0, 0.7, 3])
        let xs: [Double] = [-2, -0.5, 0, 0.7, 3]
        try assertClose(x.sigmoid(), xs.map { 1 / (1 + exp(-$0)) }, rtol: 1e-12)
        try assertClose(x.silu(), xs.map { $0 / (1 + exp(-$0)) }, rtol: 1e-12)
        try assertClose(x.gelu(), xs.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }, rtol: 1e-12, atol: 1e-15)
        try assertClose(x.gelu(approximate: true),
                        xs.map { 0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) },
                        rtol: 1e-12, atol: 1e-15)
        try assertClose(x.softplus(), xs.map { log1p(exp($0)) }, rtol: 1e-12)
        try assertClose(x.leakyRelu(slope: 0.01), xs.map { $0 > 0 ? $0 : 0.01 * $0 }, rtol: 1e-12)
        try assertClose(x.clamp(min: -1, max: 1), xs.map { Swift.min(Swift.max($0, -1), 1) })
        try assertClose(x.clamp(max: 0), xs.map { Swift.min($0, 0) })
        let e = xs.map { exp($0) }, s = e.reduce(0, +)
        try assertClose(x.softmax(dim: 0), e.map { $0 / s }, rtol: 1e-12)
        try assertClose(x.logSoftmax(dim: 0), e.map { log($0 / s) }, rtol: 1e-12)
    }

    func testReductionsAndSelection() throws {
        let m = try Tensor([3.0, 1, 4, 1, 5, 9], shape: [2, 3])
        try assertClose(m.sum(), [23])
        try assertClose(m.sum(dim: 0), [4, 6, 13])
        try assertClose(m.mean(dim: 1, keepDim: true), [8.0 / 3, 5])
        XCTAssertEqual(try m.mean(dim: 1, keepDim: true).shape, [2, 1])
        try assertClose(m.max(dim: 1), [4, 9])
        try assertClose(m.min(), [1])
        try assertClose(m.prod(dim: 1), [12, 45])
        try assertClose(m.variance(), [((3 - 23.0 / 6) * (3 - 23.0 / 6) + (1 - 23.0 / 6) * (1 - 23.0 / 6) * 2 + (4 - 23.0 / 6) * (4 - 23.0 / 6)
                                        + (5 - 23.0 / 6) * (5 - 23.0 / 6) + (9 - 23.0 / 6) * (9 - 23.0 / 6)) / 5], rtol: 1e-12)
        try assertClose(m.norm(), [(9.0 + 1 + 16 + 1 + 25 + 81).squareRoot()], rtol: 1e-12)
        XCTAssertEqual(try m.argmax(dim: 1).toArray(Int64.self), [2, 2])
        XCTAssertEqual(try m.argmin(dim: 0).toArray(Int64.self), [1, 0, 0])
        let top = try m.reshape([-1]).topk(2)
        XCTAssertEqual(try top.values.toArray(Double.self), [9, 5])
        XCTAssertEqual(try top.indices.toArray(Int64.self), [5, 4])
        let sorted = try m.reshape([-1]).sort(descending: false)
        XCTAssertEqual(try sorted.values.toArray(Double.self), [1, 1, 3, 4, 5, 9])
        XCTAssertEqual(try sorted.indices.toArray(Int64.self), [1, 3, 0, 2, 4, 5]) // stable: equal keys keep order
        XCTAssertEqual(try m.cumsum(dim: 1).toArray(Double.self), [3, 4, 8, 1, 6, 15])
    }

    func testShapeOperations() throws {
        let a = try Tensor((0..<24).map(Double.init), shape: [2, 3, 4])
        XCTAssertEqual(try a.permute([2, 0, 1]).shape, [4, 2, 3])
        XCTAssertEqual(try a.transpose(0, 2).contiguous().reshape([-1]).toArray(Double.self)[0..<4], [0, 12, 4, 16])
        XCTAssertEqual(try a.slice(dim: 2, start: 1, end: 4, step: 2).reshape([-1]).toArray(Double.self)[0..<4], [1, 3, 5, 7])
        XCTAssertEqual(try a.slice(dim: 0, start: -1).shape, [1, 3, 4])
        XCTAssertEqual(try a[1].shape, [3, 4])
        XCTAssertEqual(try a.flatten().shape, [24])
        XCTAssertEqual(try a.chunk(3, dim: 2).map(\.shape), [[2, 3, 2], [2, 3, 2]])
        XCTAssertEqual(try a.split(size: 2, dim: 1).map(\.shape), [[2, 2, 4], [2, 1, 4]])
        XCTAssertEqual(try Tensor.cat([a, a], dim: 1).shape, [2, 6, 4])
        XCTAssertEqual(try Tensor.stack([a, a], dim: 0).shape, [2, 2, 3, 4])
        XCTAssertEqual(try a.unsqueeze(1).expand([2, 5, 3, 4]).shape, [2, 5, 3, 4])
        let g = try a[0].gather(dim: 1, index: Tensor([Int64(3), 0, 1], shape: [3, 1]))
        XCTAssertEqual(try g.toArray(Double.self), [3, 4, 9])
        let filled = try a[0].maskedFill(a[0].gt(9), -1)
        XCTAssertEqual(try filled.reshape([-1]).toArray(Double.self).suffix(3), [9, -1, -1])
        let picked = try Tensor.where(Tensor([true, false]), Tensor([1.0, 2]), Tensor([7.0, 8]))
        XCTAssertEqual(try picked.toArray(Double.self), [1, 8])
        XCTAssertThrowsError(try a.view([5, -1]))
    }

    func testMultinomialIsSeededAndRespectsZeroProbability() throws {
        let probs = try Tensor([0.0, 0.3, 0.7, 0], shape: [1, 4])
        Runtime.manualSeed(3)
        let first = try probs.multinomial(50, replacement: true).toArray(Int64.self)
        Runtime.manualSeed(3)
        XCTAssertEqual(try probs.multinomial(50, replacement: true).toArray(Int64.self), first)
        XCTAssertTrue(first.allSatisfy { $0 == 1 || $0 == 2 })
    }

    func testAutogradBasicsAndNoGrad() throws {
        let w = try Tensor([1.0, 2, 3]).requiringGrad()
        XCTAssertTrue(w.requiresGrad)
        XCTAssertNil(w.grad)
        try (w * w).sum().backward()
        try assertClose(XCTUnwrap(w.grad), [2, 4, 6])
        try (w * 3.0).sum().backward() // accumulates
        try assertClose(XCTUnwrap(w.grad), [5, 7, 9])
        try w.setGrad(nil)
        XCTAssertNil(w.grad)
        let y = try Autograd.noGrad { try w * 2.0 }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(Autograd.isEnabled)
        XCTAssertFalse(try w.detach().requiresGrad)
        // In-place update outside the graph keeps the leaf a leaf.
        try Autograd.noGrad { try w.add_(Tensor([1.0, 1, 1]), alpha: -0.5) }
        try assertClose(w, [0.5, 1.5, 2.5])
        XCTAssertTrue(w.requiresGrad)
        // An input the output does not depend on gives nil.
        let unused = try Tensor([1.0]).requiringGrad()
        let grads = try Autograd.grad(of: [(w * 2.0).sum()], wrt: [w, unused])
        XCTAssertNotNil(grads[0])
        XCTAssertNil(grads[1])
    }

    func testInPlaceOptimiserPrimitives() throws {
        let a = try Tensor([1.0, 2]), b = try Tensor([3.0, 4]), c = try Tensor([2.0, 8])
        try a.addcmul_(b, c, value: 0.5)       // 1+3, 2+16
        try assertClose(a, [4, 18])
        try a.addcdiv_(b, c, value: 2)         // 4+3, 18+1
        try assertClose(a, [7, 19])
        try a.lerp_(b, weight: 0.25)           // 7-1, 19-3.75
        try assertClose(a, [6, 15.25])
        try a.maximum_(Tensor([10.0, 0]))
        try assertClose(a, [10, 15.25])
        try a.mul_(2)
        try a.sqrt_()
        try assertClose(a, [(20.0).squareRoot(), (30.5).squareRoot()], rtol: 1e-12)
        try a.copy_(Tensor([Float(1), 2]))     // casts
        try assertClose(a, [1, 2])
        try a.zero_()
        try assertClose(a, [0, 0])
    }
}
