import Foundation
import TestSupport
import Torch
import XCTest

/// LibTorch failures arrive as typed Swift errors with the operation and a useful message.
final class ErrorTests: XCTestCase {
    func testMatmulShapeMismatchIsATypedError() throws {
        let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([4, 5])
        XCTAssertThrowsError(try a.matmul(b)) { error in
            guard let e = error as? TorchError else { return XCTFail("not a TorchError: \(error)") }
            XCTAssertTrue(e.operation.contains("matmul([2, 3], [4, 5])"), e.operation)
            XCTAssertTrue(e.message.contains("cannot be multiplied"), e.message)
            XCTAssertFalse(e.message.contains("Exception raised from"), "backtrace leaked: \(e.message)")
        }
        // The thread's error state does not leak into the next successful call.
        XCTAssertEqual(try a.matmul(Tensor.zeros([3, 1])).shape, [2, 1])
    }

    func testDTypeMismatches() throws {
        let f = try Tensor.zeros([2, 2]), bf = try Tensor.zeros([2, 2], dtype: .bfloat16)
        XCTAssertThrowsError(try f.matmul(bf)) { error in
            XCTAssertTrue("\(error)".contains("same dtype") && "\(error)".contains("BFloat16"), "\(error)")
        }
        XCTAssertThrowsError(try f.toArray(Double.self)) { error in
            XCTAssertEqual((error as? TorchError)?.kind, .dtypeMismatch)
            XCTAssertTrue("\(error)".contains("float32"), "\(error)")
        }
    }

    func testIndexAndValueErrorsKeepTheirKind() throws {
        let a = try Tensor.zeros([2, 3])
        XCTAssertThrowsError(try a.select(dim: 0, index: 5)) { XCTAssertEqual(($0 as? TorchError)?.kind, .index) }
        XCTAssertThrowsError(try a.transpose(0, 4)) { XCTAssertEqual(($0 as? TorchError)?.kind, .index) }
        XCTAssertThrowsError(try Tensor([1.0, 2, 3], shape: [2, 2])) { XCTAssertEqual(($0 as? TorchError)?.kind, .shapeMismatch) }
        XCTAssertThrowsError(try Tensor.zeros([2]).backward()) { error in
            XCTAssertTrue("\(error)".contains("Tensor.backward"), "\(error)")
        }
        XCTAssertThrowsError(try Device(parsing: "tpu"))
    }
}

/// Handles are freed deterministically: many temporaries leave resident memory flat.
final class MemoryTests: XCTestCase {
    func testOneHundredThousandTemporariesLeaveMemoryFlat() throws {
        Runtime.threadCount = 1
        let x = try Tensor.randn([64])
        func churn(_ n: Int) throws {
            for _ in 0..<n {
                let y = try (x * 2.0 + 1.0).relu()
                _ = try y.sum(dim: 0)
            }
        }
        try churn(10_000) // warm up allocator caches
        let before = residentBytes()
        try churn(100_000)
        let grown = residentBytes() - before
        // 400,000 leaked tensors would be well over 40 MB; allow allocator noise.
        XCTAssertLessThan(grown, 8 << 20, "resident memory grew by \(grown >> 10) KiB over 100,000 iterations")
    }
}
