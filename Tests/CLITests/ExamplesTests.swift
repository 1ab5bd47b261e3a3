import Evaluation
import Foundation
import PRM
import XCTest

/// examples/ holds ten records of each format, and each reads with the reader its command uses.
final class ExamplesTests: XCTestCase {
    private let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples").standardized

    func testEveryExampleFileReadsAsItsFormat() throws {
        func url(_ name: String) -> URL { examples.appendingPathComponent(name) }
        XCTAssertEqual(try RecordReader.read(url("v1_train.json"), V1TrainRecord.init).count, 10)
        let meta = try RecordReader.read(url("v1_meta.jsonl"), V1MetaRecord.init)
        XCTAssertEqual(meta.count, 10)
        XCTAssertTrue(meta.allSatisfy { StepSplitter.v1.split($0.input).count == 2 })
        XCTAssertEqual(try RecordReader.read(url("conversations_1.5.jsonl"), ConversationRecord.init).count, 10)
        XCTAssertEqual(try TestSet.read(url("conversations_1.5.jsonl"), format: .conversations).count, 5, "ten responses to five questions")
        XCTAssertEqual(try TestSet.read(url("best_of_n_test.json"), format: .bestOfN).count, 10)
        XCTAssertEqual(try RecordReader.read(url("chains.jsonl"), ScoringRequest.init).count, 10)
    }
}
