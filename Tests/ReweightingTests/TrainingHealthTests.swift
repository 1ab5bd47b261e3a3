import Reweighting
import XCTest

final class TrainingHealthTests: XCTestCase {
    func testLogitStatistics() {
        let s = LogitStatistics([0.5, -9, 12, -1]) + LogitStatistics([8, -8.5])
        XCTAssertEqual(s.count, 6)
        XCTAssertEqual(s.saturated, 3, "|z| > 8: -9, 12, -8.5 (8 itself is not)")
        XCTAssertEqual(s.saturatedFraction, 0.5)
        XCTAssertEqual(s.meanAbs, (0.5 + 9 + 12 + 1 + 8 + 8.5) / 6, accuracy: 1e-12)
    }

    func testSaturationWarnsOnceAfterAFullWindow() {
        var health = TrainingHealth()
        let saturated = LogitStatistics([20, -15, 3])
        for i in 1..<health.window { XCTAssertEqual(health.record(lower: saturated, hypergradientNorm: nil), [], "iteration \(i): window not full") }
        let warnings = health.record(lower: saturated, hypergradientNorm: nil)
        XCTAssertEqual(warnings.count, 1)
        XCTAssert(warnings[0].contains("saturated") && warnings[0].contains("--head_init"), warnings[0])
        XCTAssertEqual(health.record(lower: saturated, hypergradientNorm: nil), [], "once per run")
    }

    func testHealthyLogitsDoNotWarn() {
        var health = TrainingHealth()
        for _ in 0..<100 { XCTAssertEqual(health.record(lower: LogitStatistics([0.3, -2, 9]), hypergradientNorm: 0.1), []) }
    }

    func testAZeroHypergradientWarnsAfterThreeUpperStepsInARow() {
        var health = TrainingHealth()
        XCTAssertEqual(health.record(lower: LogitStatistics([0]), hypergradientNorm: 0), [])
        XCTAssertEqual(health.record(lower: LogitStatistics([0]), hypergradientNorm: 0), [])
        XCTAssertEqual(health.record(lower: LogitStatistics([0]), hypergradientNorm: nil), [], "iterations without an upper step do not count")
        XCTAssertEqual(health.record(lower: LogitStatistics([0]), hypergradientNorm: 1e-9), [], "a non-zero norm resets the count")
        XCTAssertEqual(health.record(lower: LogitStatistics([0]), hypergradientNorm: 0), [])
        XCTAssertEqual(health.record(lower: LogitStatistics([0]), hypergradientNorm: 0), [])
        let warnings = health.record(lower: LogitStatistics([0]), hypergradientNorm: 0)
        XCTAssertEqual(warnings.count, 1)
        XCTAssert(warnings[0].contains("exactly 0 for 3 upper steps"), warnings[0])
    }
}
