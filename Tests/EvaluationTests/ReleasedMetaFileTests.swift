import Evaluation
import Foundation
import TestSupport
import XCTest

/// Best-of-4 on the released DreamPRM-1.5 meta file (414 questions × 4 labelled responses),
/// against accuracies computed by tools/fixtures/make_evaluation_fixtures.py.
final class ReleasedMetaFileTests: XCTestCase {
    func testBestOfFourBaselinesOnTheReleased15MetaFile() throws {
        guard let shared = sharedDirectory() else { throw XCTSkip("../shared is absent") }
        let url = shared.appendingPathComponent("data/dreamprm-release/dreamprm15_meta_MMMU_Pro.json")
        let records = try TestSet.read(url, format: .conversations)
        XCTAssertEqual(records.count, 414)
        XCTAssertTrue(records.allSatisfy { $0.candidates.count == 4 })
        XCTAssertEqual(Set(records.compactMap(\.dataset)).count, 30, "MMMU-Pro subjects")
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureURL("released15_best_of_4.json", bundle: .module))) as! [String: Any]
        let report = EvaluationReport.make(TestSet.candidateSets(records), prms: [], testFile: url.path, aggregation: .meanLogOdds, tieRule: .first)
        for method in ["first", "random", "oracle", "self-consistency"] {
            let got = try XCTUnwrap(report.accuracy[method]?["overall"])
            XCTAssertEqual(got.accuracy, fixture[method] as! Double, accuracy: 1e-12, method)
            XCTAssertLessThanOrEqual(got.interval.low, got.accuracy)
            XCTAssertGreaterThanOrEqual(got.interval.high, got.accuracy)
            print(String(format: "released 1.5 meta, best-of-4 %@: %.1f%% [%.1f, %.1f]", method, 100 * got.accuracy, 100 * got.interval.low, 100 * got.interval.high))
        }
    }
}
