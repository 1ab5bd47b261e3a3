import Foundation
@testable import dreamprm
import PRM
import Reweighting
import XCTest

/// Flags reach the training configuration under the original projects' names.
final class FlagTests: XCTestCase {
    func testOptimiserFlagsAtBothLevels() throws {
        let workspace = try Workspace("flags")
        defer { workspace.remove() }
        let data = workspace.root.appendingPathComponent("data.json")
        try Data("[]".utf8).write(to: data)
        func settings(_ extra: [String]) throws -> V1TrainingConfiguration {
            try Train.parse(["--train_json_file", data.path, "--meta_json_file", data.path, "--reward_model", workspace.model.path] + extra).settings()
        }
        let defaults = try settings([])
        XCTAssertEqual([defaults.epsilon, defaults.metaEpsilon], [1e-6, 1e-8])
        XCTAssertNil(defaults.lowerClipNorm)
        XCTAssertNil(defaults.upperClipNorm)
        for (spelling, metaSpelling) in [("--gradiant_clipping", "--meta_gradiant_clipping"), ("--gradient_clipping", "--meta-gradient-clipping")] {
            let c = try settings(["--eps", "1e-7", "--meta_eps", "1e-9", spelling, "1.5", metaSpelling, "2"])
            XCTAssertEqual([c.epsilon, c.metaEpsilon, c.lowerClipNorm, c.upperClipNorm], [1e-7, 1e-9, 1.5, 2])
        }
        XCTAssertThrowsError(try settings(["--eps", "0"])) { XCTAssertEqual(($0 as? SettingError)?.flag, "eps") }
        XCTAssertThrowsError(try settings(["--gradient_clipping", "-1"])) { XCTAssertEqual(($0 as? SettingError)?.flag, "gradient_clipping") }
    }
}
