import TestSupport
import Torch
import XCTest

/// Every differentiable op: LibTorch's backward against a central finite difference in f64.
final class GradientCheckTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private func randn(_ shape: [Int], seed: UInt64) throws -> Tensor {
        Runtime.manualSeed(seed)
        return try Tensor.randn(shape, dtype: .float64)
    }

    /// Values bounded away from 0 (for log, sqrt, division, abs).
    private func positive(_ shape: [Int], seed: UInt64) throws -> Tensor {
        Runtime.manualSeed(seed)
        return try Tensor.rand(shape, dtype: .float64) + 0.5
    }

    private func check(_ name: String, _ inputs: [Tensor], rtol: Double = 1e-5, atol: Double = 1e-7,
                       file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) throws -> Tensor) throws {
        try assertGradientsMatchFiniteDifferences(inputs, rtol: rtol, atol: atol, name, file: file, line: line, f)
    }

    func testArithmeticAndBroadcasting() throws {
        let a = try randn([3, 4], seed: 1), b = try randn([4], seed: 2), p = try positive([3, 4], seed: 3)
        try check("add", [a, b]) { try $0[0] + $0[1] }
        try check("sub", [a, b]) { try $0[0] - $0[1] }
        try check("mul", [a, b]) { try $0[0] * $0[1] }
        try check("div", [a, p]) { try $0[0] / $0[1] }
        try check("scalar ops", [a]) { try (2.0 - $0[0] * 3.0 + 1.5) / 2.0 }
        try check("scalar over tensor", [p]) { try 2.0 / $0[0] }
        try check("neg", [a]) { try -$0[0] }
        try check("pow scalar", [p]) { try $0[0].pow(2.5) }
        try check("pow tensor", [p, a]) { try $0[0].pow($0[1]) }
        try check("maximum", [a, try randn([3, 4], seed: 4)]) { try $0[0].maximum($0[1]) }
        try check("minimum", [a, try randn([3, 4], seed: 4)]) { try $0[0].minimum($0[1]) }
        try check("atan2", [a, p]) { try $0[0].atan2($0[1]) }
    }

    func testUnaryMath() throws {
        let a = try randn([2, 5], seed: 5), p = try positive([2, 5], seed: 6)
        try check("abs", [p]) { try ($0[0] - 1.0).abs() }
        try check("exp", [a]) { try $0[0].exp() }
        try check("log", [p]) { try $0[0].log() }
        try check("log1p", [p]) { try $0[0].log1p() }
        try check("expm1", [a]) { try $0[0].expm1() }
        try check("sqrt", [p]) { try $0[0].sqrt() }
        try check("rsqrt", [p]) { try $0[0].rsqrt() }
        try check("square", [a]) { try $0[0].square() }
        try check("reciprocal", [p]) { try $0[0].reciprocal() }
        try check("sin", [a]) { try $0[0].sin() }
        try check("cos", [a]) { try $0[0].cos() }
        try check("tanh", [a]) { try $0[0].tanh() }
        try check("erf", [a]) { try $0[0].erf() }
        try check("clamp", [a]) { try $0[0].clamp(min: -0.25, max: 0.3) }
    }

    func testActivations() throws {
        let a = try randn([3, 5], seed: 7)
        try check("relu", [a]) { try $0[0].relu() }
        try check("leakyRelu", [a]) { try $0[0].leakyRelu(slope: 0.1) }
        try check("gelu erf", [a]) { try $0[0].gelu() }
        try check("gelu tanh", [a]) { try $0[0].gelu(approximate: true) }
        try check("silu", [a]) { try $0[0].silu() }
        try check("sigmoid", [a]) { try $0[0].sigmoid() }
        try check("logSigmoid", [a]) { try $0[0].logSigmoid() }
        try check("softplus", [a]) { try $0[0].softplus() }
        try check("softplus beta", [a]) { try $0[0].softplus(beta: 2) }
        try check("softmax", [a]) { try $0[0].softmax(dim: -1) }
        try check("logSoftmax", [a]) { try $0[0].logSoftmax(dim: 0) }
    }

    func testReductions() throws {
        let a = try randn([3, 4], seed: 8), p = try positive([3, 4], seed: 9)
        try check("sum all", [a]) { try $0[0].sum() }
        try check("sum dim", [a]) { try $0[0].sum(dim: 1, keepDim: true) }
        try check("mean", [a]) { try $0[0].mean(dims: [0, 1]) }
        try check("max", [a]) { try $0[0].max(dim: 1) }
        try check("min", [a]) { try $0[0].min(dim: 0) }
        try check("prod", [p]) { try $0[0].prod(dim: 1) }
        try check("prod all", [p]) { try $0[0].prod() }
        try check("logSumExp", [a]) { try $0[0].logSumExp(dim: 1) }
        try check("variance", [a]) { try $0[0].variance(dims: [1]) }
        try check("std", [a]) { try $0[0].std() }
        try check("norm", [a]) { try $0[0].norm(dims: [1]) }
        try check("cumsum", [a]) { try $0[0].cumsum(dim: 1) }
    }

    func testProducts() throws {
        let a = try randn([3, 4], seed: 10), b = try randn([4, 2], seed: 11)
        try check("matmul", [a, b]) { try $0[0].matmul($0[1]) }
        try check("bmm", [try randn([2, 3, 4], seed: 12), try randn([2, 4, 2], seed: 13)]) { try $0[0].bmm($0[1]) }
        try check("linear", [a, try randn([5, 4], seed: 14), try randn([5], seed: 15)]) { try $0[0].linear($0[1], $0[2]) }
        try check("linear no bias", [a, try randn([5, 4], seed: 14)]) { try $0[0].linear($0[1]) }
    }

    func testNormalisationAndEmbedding() throws {
        let x = try randn([2, 3, 6], seed: 16), w = try randn([6], seed: 17), b = try randn([6], seed: 18)
        try check("layerNorm", [x, w, b]) { try $0[0].layerNorm([6], weight: $0[1], bias: $0[2]) }
        try check("rmsNorm", [x, w]) { try $0[0].rmsNorm([6], weight: $0[1], eps: 1e-6) }
        let ids = try Tensor([Int64(2), 0, 2, 4], shape: [2, 2])
        try check("embedding", [try randn([5, 3], seed: 19)]) { try Tensor.embedding($0[0], ids) }
    }

    func testAttention() throws {
        let q = try randn([1, 2, 4, 8], seed: 20), k = try randn([1, 2, 5, 8], seed: 21), v = try randn([1, 2, 5, 8], seed: 22)
        try check("sdpa", [q, k, v]) { try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) }
        let qs = try randn([1, 2, 5, 8], seed: 23)
        try check("sdpa causal", [qs, k, v]) {
            try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], isCausal: true)
        }
        let mask = try Tensor([true, false, true, true, true,
                               true, true, false, true, false,
                               false, true, true, true, true,
                               true, true, true, false, true], shape: [4, 5])
        try check("sdpa bool mask, scale", [q, k, v]) {
            try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: mask, scale: 0.3)
        }
        let kv1 = try randn([1, 1, 5, 8], seed: 24)
        try check("sdpa grouped query", [q, kv1, kv1]) {
            try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], enableGQA: true)
        }
    }

    func testLosses() throws {
        let logits = try randn([4, 5], seed: 25), target = try randn([4, 5], seed: 26)
        try check("mse", [logits, target]) { try Loss.mse($0[0], $0[1]) }
        try check("mse none", [logits]) { try Loss.mse($0[0], target, reduction: .none) }
        let classes = try Tensor([Int64(1), 4, -100, 0])
        try check("crossEntropy ignore", [logits]) { try Loss.crossEntropy($0[0], classes) }
        try check("crossEntropy smoothing sum", [logits]) {
            try Loss.crossEntropy($0[0], classes, reduction: .sum, labelSmoothing: 0.1)
        }
        let soft = try target.softmax(dim: 1)
        try check("crossEntropy soft", [logits, soft]) { try Loss.crossEntropy($0[0], $0[1]) }
        Runtime.manualSeed(27)
        let probs = try Tensor.rand([4, 5], dtype: .float64)
        try check("bce logits", [logits, probs]) { try Loss.binaryCrossEntropyWithLogits($0[0], $0[1]) }
        try check("bce weighted", [logits]) {
            try Loss.binaryCrossEntropyWithLogits($0[0], probs, posWeight: try Tensor([1.0, 2, 0.5, 1, 3]), reduction: .sum)
        }
    }

    func testShapeAndIndexing() throws {
        let a = try randn([2, 3, 4], seed: 28)
        try check("reshape", [a]) { try $0[0].reshape([6, -1]) }
        try check("view", [a]) { try $0[0].view([3, 8]) }
        try check("permute", [a]) { try $0[0].permute([2, 0, 1]).contiguous() }
        try check("transpose", [a]) { try $0[0].transpose(0, 2) }
        try check("expand", [try randn([3, 1], seed: 29)]) { try $0[0].expand([2, 3, 5]) }
        try check("squeeze/unsqueeze", [try randn([3, 1], seed: 30)]) { try $0[0].squeeze(1).unsqueeze(0) }
        try check("flatten", [a]) { try $0[0].flatten(start: 1) }
        try check("slice step", [a]) { try $0[0].slice(dim: 2, start: 1, end: 4, step: 2) }
        try check("select", [a]) { try $0[0].select(dim: 1, index: -1) }
        try check("subscript", [a]) { try $0[0][1] }
        let idx = try Tensor([Int64(2), 0, 2])
        try check("indexSelect", [a]) { try $0[0].indexSelect(dim: 1, index: idx) }
        let gidx = try Tensor([Int64(0), 1, 0, 1, 1, 0], shape: [3, 2])
        let m = try randn([3, 4], seed: 31)
        try check("gather", [m]) { try $0[0].gather(dim: 1, index: gidx) }
        try check("scatter", [m, try randn([3, 2], seed: 32)]) { try $0[0].scatter(dim: 1, index: try Tensor([Int64(3), 1, 0, 2, 1, 3], shape: [3, 2]), source: $0[1]) }
        try check("scatterAdd", [m, try randn([3, 2], seed: 33)]) { try $0[0].scatterAdd(dim: 1, index: gidx, source: $0[1]) }
        try check("cat", [m, try randn([2, 4], seed: 34)]) { try Tensor.cat([$0[0], $0[1]], dim: 0) }
        try check("stack", [m, try randn([3, 4], seed: 35)]) { try Tensor.stack([$0[0], $0[1]], dim: 1) }
        try check("split", [m]) { try $0[0].split(sizes: [1, 3], dim: 1)[1] * 2.0 }
        try check("chunk", [m]) { try $0[0].chunk(2, dim: 0)[0] }
        try check("tril", [m]) { try $0[0].tril() }
        try check("triu", [m]) { try $0[0].triu(1) }
        let mask = try m.gt(0)
        try check("where", [m, try randn([3, 4], seed: 36)]) { try Tensor.where(mask, $0[0], $0[1]) }
        try check("maskedFill", [m]) { try $0[0].maskedFill(mask, -2) }
    }
}
