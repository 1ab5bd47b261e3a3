import Evaluation
import XCTest

final class BootstrapTests: XCTestCase {
    /// For the mean of n Bernoulli(p) outcomes the bootstrap interval approaches the normal
    /// one, p ± 1.96·√(p(1−p)/n).
    func testIntervalMatchesTheNormalApproximationForLargeSamples() {
        let n = 2000, p = 0.3
        let values = (0..<n).map { $0 < Int(p * Double(n)) ? 1.0 : 0 }
        let ci = Bootstrap.interval(values, resamples: 4000, seed: 7)
        let half = 1.959964 * (p * (1 - p) / Double(n)).squareRoot()
        XCTAssertEqual(ci.low, p - half, accuracy: 0.003)
        XCTAssertEqual(ci.high, p + half, accuracy: 0.003)
    }

    func testIntervalIsSeededAndDegenerateCasesAreExact() {
        let v = [1.0, 0, 1, 1, 0, 1, 0, 0, 1, 1]
        XCTAssertEqual(Bootstrap.interval(v, seed: 3), Bootstrap.interval(v, seed: 3))
        XCTAssertEqual(Bootstrap.interval([1, 1, 1]), Interval(low: 1, high: 1))
        XCTAssertEqual(Bootstrap.interval([0.25]), Interval(low: 0.25, high: 0.25))
        let ci = Bootstrap.interval(v)
        XCTAssertLessThan(ci.low, 0.6)
        XCTAssertGreaterThan(ci.high, 0.6)
    }
}
