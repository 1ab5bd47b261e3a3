import Foundation
import XCTest

/// The README's library example is this target's ReadmeExample.swift, word for word, and it runs.
final class ReadmeExampleTests: XCTestCase {
    func testTheREADMEExampleIsThisCodeAndRuns() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let example = try String(contentsOf: here.appendingPathComponent("ReadmeExample.swift"), encoding: .utf8)
        let readme = try String(contentsOf: here.appendingPathComponent("../../README.md").standardized, encoding: .utf8)
        XCTAssertTrue(readme.contains("```swift\n" + example + "```"), "README.md must quote Tests/CLITests/ReadmeExample.swift exactly")

        let workspace = try Workspace("readme")
        defer { workspace.remove() }
        let (train, meta) = try workspace.writeMinimalData()
        let result = try trainAndScore(train: train.path, meta: meta.path, output: workspace.root.appendingPathComponent("run").path,
                                       backbone: workspace.model.path)
        XCTAssertEqual(result.steps.count, 1)
        XCTAssertTrue(result.score > 0 && result.score < 1, "\(result)")
    }
}
