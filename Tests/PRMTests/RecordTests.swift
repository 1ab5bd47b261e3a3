import Foundation
import PRM
import TestSupport
import XCTest

final class ReleasedDataTests: XCTestCase {
    private func released(_ name: String) throws -> URL {
        guard let shared = sharedDirectory() else { throw XCTSkip("../shared is absent") }
        return shared.appendingPathComponent("data/dreamprm-release/\(name)")
    }

    func testV1MetaFileLoadsAnd372RecordsHaveNoSteps() throws {
        let records = try RecordReader.read(try released("dreamprm_v1_meta.json"), V1MetaRecord.init)
        XCTAssertEqual(records.count, 500)
        let chains = records.map { StepSplitter.v1.split($0.input) }
        XCTAssertEqual(chains.filter { $0.count == 0 }.count, 372, "the released file's known defect")
        let first = try XCTUnwrap(chains.first { $0.count == 5 })
        XCTAssertTrue(first.question.hasPrefix("Question:"))
        XCTAssertTrue(first.steps[0].hasPrefix("Step 1:"))
        XCTAssertTrue(first.steps[4].hasPrefix("Step 5:"))
        XCTAssertFalse(first.steps[4].contains("Final answer"), "the last step ends before the final answer")
        XCTAssertTrue(first.prefix(through: 1).hasSuffix(first.steps[1]))
        XCTAssertTrue(first.prefix(through: 1).hasPrefix(first.question))
        XCTAssertEqual(Set(records.map(\.trueFalse)), [true, false])
    }

    func testV15MetaFileHas414QuestionsOfFourLabelledResponses() throws {
        let records = try RecordReader.read(try released("dreamprm15_meta_MMMU_Pro.json"), ConversationRecord.init)
        XCTAssertEqual(records.count, 1656)
        // 414 questions (ids) of 4 responses each; two pairs of questions share their text.
        let byID = Dictionary(grouping: records, by: { $0.id ?? "" })
        XCTAssertEqual(byID.count, 414)
        XCTAssertTrue(byID.values.allSatisfy { $0.count == 4 })
        XCTAssertTrue(records.allSatisfy { $0.trueFalse != nil })
        XCTAssertTrue(records.allSatisfy { ($0.systemPrompt ?? "").contains("process supervision model") })
        let steps = records[0].labelledSteps
        XCTAssertFalse(steps.isEmpty)
        XCTAssertTrue(steps.allSatisfy { $0.label != nil })
    }
}

final class MalformedInputTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("prm-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func expect<T>(_ content: String, _ make: @escaping (RecordFields) throws -> T, record: Int?, field: String?,
                           _ fragment: String, name: String = "f.json", line: UInt = #line) throws {
        let url = dir.appendingPathComponent(name)
        try content.write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RecordReader.read(url, make), line: line) { error in
            guard let e = error as? DataError else { return XCTFail("not a DataError: \(error)", line: line) }
            XCTAssertEqual(e.file, url.path, line: line)
            XCTAssertEqual(e.record, record, line: line)
            XCTAssertEqual(e.field, field, line: line)
            XCTAssertTrue(e.message.contains(fragment), "\(e)", line: line)
        }
    }

    func testEachDefectNamesFileRecordAndField() throws {
        let good = #"{"input": "Q", "add": "Step 1: x", "dataset": "A", "accuracy": 0.5}"#
        try expect("[\(good), {\"input\": \"Q\"", V1TrainRecord.init, record: nil, field: nil, "malformed JSON")
        try expect(#"[\#(good), {"input": "Q", "add": "s", "accuracy": 0.5}]"#, V1TrainRecord.init, record: 1, field: "dataset", "missing")
        try expect(#"[\#(good), {"input": "Q", "add": "s", "dataset": "A", "accuracy": "high"}]"#, V1TrainRecord.init,
                   record: 1, field: "accuracy", "expected a number, found a string")
        try expect(#"[{"input": "Q", "add": "s", "dataset": "A", "accuracy": 1.5}]"#, V1TrainRecord.init, record: 0, field: "accuracy", "outside [0, 1]")
        try expect("[1]", V1MetaRecord.init, record: 0, field: nil, "expected a JSON object")
        try expect("\(good)\n\(good)\n{oops\n", V1TrainRecord.init, record: 2, field: nil, "malformed JSON line", name: "f.jsonl")
        // Trailing commas are refused as Python's json refuses them, with line and column.
        try expect("[\(good),\n]", V1TrainRecord.init, record: nil, field: nil, "line 2, column 1: trailing comma before ']'")
        try expect("[\(good.dropLast()), }]", V1TrainRecord.init, record: nil, field: nil, "line 1, column \(good.count + 3): trailing comma before '}'")
        try expect("\(good)\n{\"é\": [1,]}\n", V1TrainRecord.init, record: 1, field: nil, "(line 2, column 10): trailing comma before ']'", name: "f.jsonl")
        try expect("[\(good)] x", V1TrainRecord.init, record: nil, field: nil, "line 1, column \(good.count + 4): unexpected text after the JSON value")
        try expect(#"[{"question": "q", "candidates": ["a", "b"], "true_false": [true]}]"#, BestOfNRecord.init,
                   record: 0, field: "true_false", "1 labels for 2 candidates")
        try expect(#"[{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "yes"}]}]"#,
                   ConversationRecord.init, record: 0, field: "conversations[1].value", "must be \"+\" or \"-\"")
        try expect("", V1MetaRecord.init, record: nil, field: nil, "empty file")
    }

    func testJSONLinesStreamAndSkipBlankLines() throws {
        let url = dir.appendingPathComponent("ok.jsonl")
        let line = #"{"id": 7, "true_false": true, "input": "Question: x\nStep 1: a\nStep 2: b", "image_path": null}"#
        try (line + "\n\n" + line + "\n").write(to: url, atomically: true, encoding: .utf8)
        let records = try RecordReader.read(url, V1MetaRecord.init)
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0].id, "7")
        XCTAssertEqual(records[0].trueFalse, true)
        XCTAssertNil(records[0].imagePath)
    }

    /// One type rule: a boolean is true or false, never 1 or "true"; a number is never a string.
    func testValuesMustHaveTheirJSONType() throws {
        let url = dir.appendingPathComponent("typed.jsonl")
        for (line, field) in [(#"{"true_false": 1, "input": "Step 1: a"}"#, "true_false"), (#"{"true_false": "true", "input": "Step 1: a"}"#, "true_false")] {
            try line.write(to: url, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try RecordReader.read(url, V1MetaRecord.init)) { XCTAssertEqual(($0 as? DataError)?.field, field) }
        }
        for (line, field) in [(#"{"sid": "one", "input": "q", "add": "a", "dataset": "d", "accuracy": 1}"#, "sid"),
                              (#"{"times": "eight", "input": "q", "add": "a", "dataset": "d", "accuracy": 1}"#, "times"),
                              (#"{"input": "q", "add": "a", "dataset": "", "accuracy": 1}"#, "dataset"),
                              (#"{"input": "q", "add": "a", "dataset": "d", "accuracy": 1, "image_path": ""}"#, "image_path")] {
            try line.write(to: url, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try RecordReader.read(url, V1TrainRecord.init)) { XCTAssertEqual(($0 as? DataError)?.field, field) }
        }
    }
}

final class StepSplitterTests: XCTestCase {
    /// The reference's rule: case-insensitive markers, steps counted by the highest number, so
    /// a step quoted inside another is not a step of its own.
    func testV1CountsStepsByTheHighestMarkerInAnyCase() {
        let text = "Q?\n\nStep 1: add.\n\nstep 2: as Step 1 said, 5.\n\nSTEP: 3 check.\n\nFinal answer: 5"
        XCTAssertEqual(StepSplitter.v1.split(text).steps, ["Step 1: add.", "step 2: as Step 1 said, 5.", "STEP: 3 check."])
    }

    func testV1RulesCutAtMarkersAndStopAtTheFinalAnswer() {
        let text = "Question: 2+3?\n\nStep 1: Add.\n\nStep2: 2 + 3 = 5.\n\nFinal answer: 5"
        let chain = StepSplitter.v1.split(text)
        XCTAssertEqual(chain.steps, ["Step 1: Add.", "Step2: 2 + 3 = 5."])
        XCTAssertEqual(chain.question, "Question: 2+3?\n\n")
        XCTAssertEqual(chain.prefix(through: 0), "Question: 2+3?\n\nStep 1: Add.")
        XCTAssertEqual(StepSplitter.v1.split("Question only").count, 0)
    }

    func testGenericFindsNumberedLinesParagraphsAndEnumerations() {
        XCTAssertEqual(StepSplitter.generic.split("Solve.\n1. Find x.\n2) Check it.\n").steps, ["1. Find x.", "2) Check it."])
        XCTAssertEqual(StepSplitter.generic.split("First part.\n\nSecond part.\n \nThird.").steps, ["First part.", "Second part.", "Third."])
        XCTAssertEqual(StepSplitter.generic.split("We need y. First, take 3. Then, add 4. Finally, 7.").steps,
                       ["First, take 3.", "Then, add 4.", "Finally, 7."])
        XCTAssertEqual(StepSplitter.generic.split("One step only").steps, ["One step only"])
    }

    func testExplicitSeparator() {
        let chain = StepSplitter.separator("<sep>", questionFirst: true).split("Q?<sep>a<sep>b<sep>")
        XCTAssertEqual(chain.steps, ["a", "b"])
        XCTAssertEqual(chain.prefix(through: 0), "Q?<sep>a")
    }
}
