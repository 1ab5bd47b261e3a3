import TestSupport
@testable import Torch
import XCTest

/// The twice-differentiable attention equals LibTorch's fused kernel: causal, with a boolean
/// or an additive mask, and with grouped key/value heads.
final class AttentionKernelTests: XCTestCase {
    func testMathAttentionEqualsTheFusedKernel() throws {
        Runtime.manualSeed(3)
        let q = try Tensor.randn([2, 4, 5, 8], dtype: .float64)
        let k = try Tensor.randn([2, 2, 5, 8], dtype: .float64), v = try Tensor.randn([2, 2, 5, 8], dtype: .float64)
        let boolMask = try Tensor.rand([5, 5], dtype: .float64).gt(0.3).logicalOr(Tensor.eye(5).to(.bool))
        let additive = try Tensor.randn([5, 5], dtype: .float64)
        for (mask, causal) in [(nil, true), (boolMask, false), (additive, false), (nil, false)] as [(Tensor?, Bool)] {
            let fused = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, isCausal: causal, enableGQA: true)
            let math = try AttentionKernel.twiceDifferentiable {
                try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, isCausal: causal, enableGQA: true)
            }
            assertClose(try math.doubles(), try fused.doubles(), rtol: 1e-10, atol: 1e-12, "mask \(mask?.dtype as Any), causal \(causal)")
        }
    }
}
