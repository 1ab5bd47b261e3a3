import Foundation
import Pipeline
import TestSupport
import XCTest

/// `dreamprm candidates` and `dreamprm label` through the binary, with the workspace's tiny
/// random backbone as the policy: outputs that `train` and `evaluate` read, the adaptive
/// rollout counts, and runs killed at random points that resume to an uninterrupted run's files.
final class DataPipelineTests: XCTestCase {
    private var workspace: Workspace!

    override func setUpWithError() throws { workspace = try Workspace("pipeline") }
    override func tearDown() { workspace.remove() }

    private func write(_ name: String, _ lines: [String]) throws -> URL {
        let url = workspace.root.appendingPathComponent(name)
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    private var policyFlags: [String] {
        ["--policy", workspace.model.path, "--prompt", "plain", "--max_tokens", "12", "--seed", "5", "--threads", "1"]
    }

    /// Hand-written chains (the tiny model writes no steps) in two domains; rollouts come from the policy.
    private func candidateSets() throws -> URL {
        func set(_ id: String, _ q: String, _ answer: String, _ dataset: String, _ chains: [(String, Bool)]) throws -> String {
            let record: [String: Any] = ["id": id, "question": q, "answer": answer, "dataset": dataset,
                                         "candidates": chains.map(\.0), "true_false": chains.map(\.1)]
            return String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
        }
        return try write("candidates.jsonl", [
            try set("q1", "What is 2 + 3?", "5", "sums", [("Step 1: 2 + 3 = 5.\n\nStep 2: So it is 5.\n\nFinal answer: 5", true),
                                                          ("Step 1: 2 + 3 = 6.\n\nFinal answer: 6", false)]),
            try set("q2", "What is 4 times 2?", "8", "products", [("Step 1: 4 times 2 is 8.\n\nStep 2: Check: 8 / 2 = 4.\n\nFinal answer: 8", true)]),
            try set("q3", "What is 9 - 7?", "2", "sums", [("Step 1: 9 - 7 = 3.\n\nStep 2: So 3.\n\nStep 3: Done.\n\nFinal answer: 3", false)]),
        ])
    }

    func testCandidatesWriteBestOfNRecordsThatEvaluateReadsAndResume() throws {
        let questions = try write("questions.jsonl", [
            #"{"id": "a", "question": "What is 1 + 1?", "answer": "2", "dataset": "sums"}"#,
            #"{"id": 7, "question": "What is 3 + 4?", "answer": "7", "dataset": "sums"}"#,
            #"{"id": "c", "question": "Which letter comes first?", "answer": "A", "dataset": "letters"}"#,
        ])
        let whole = workspace.root.appendingPathComponent("whole.jsonl")
        let first = try Binary.run(["candidates", "--questions", questions.path, "--n", "3", "--output", whole.path] + policyFlags)
        XCTAssertEqual(first.status, 0, first.output)
        let lines = try String(contentsOf: whole, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(lines.map { $0["id"] as? String }, ["a", "7", "c"])
        for line in lines {
            XCTAssertEqual((line["candidates"] as? [String])?.count, 3)
            XCTAssertEqual((line["true_false"] as? [Bool])?.count, 3)
            XCTAssertEqual((line["judge_rules"] as? [String])?.count, 3)
        }
        let rules = Set(lines.flatMap { $0["judge_rules"] as! [String] })
        XCTAssertTrue(rules.isSubset(of: ["option", "number", "structure", "exact", "no-answer"]), "\(rules)")
        // A second run refuses the existing file; one cut mid-line resumes to the same bytes.
        let again = try Binary.run(["candidates", "--questions", questions.path, "--output", whole.path] + policyFlags)
        XCTAssertEqual(again.status, 2, again.output)
        let bytes = try Data(contentsOf: whole)
        let cut = workspace.root.appendingPathComponent("cut.jsonl")
        try bytes.prefix(bytes.firstIndex(of: 0x0A)! + 20).write(to: cut)
        let resumed = try Binary.run(["candidates", "--questions", questions.path, "--n", "3", "--output", cut.path, "--resume"] + policyFlags)
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertEqual(try Data(contentsOf: cut), bytes, "resumed from a cut-off line, the file is the whole run's")
        let evaluated = try Binary.run(["evaluate", "--test_json_file", whole.path, "--output", workspace.root.appendingPathComponent("eval").path])
        XCTAssertEqual(evaluated.status, 0, evaluated.output)
    }

    func testLabelIsAdaptiveAndItsOutputsTrain() throws {
        let sets = try candidateSets()
        let out = workspace.root.appendingPathComponent("labels.json")
        let result = try Binary.run(["label", "--candidates", sets.path, "--output", out.path, "--max_rollouts", "8"] + policyFlags)
        XCTAssertEqual(result.status, 0, result.output)
        let records = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as! [[String: Any]]
        XCTAssertEqual(records.count, 2 + 1 + 2 + 3, "every step prefix of every chain")
        for r in records {
            let score = r["score"] as! Int, times = r["times"] as! Int
            XCTAssertEqual(r["accuracy"] as! Double, Double(score) / Double(times), accuracy: 1e-12)
            XCTAssertTrue(times >= 4 && times <= 8, "\(r)")
            // Fewer than the maximum only when the prefix is pure after at least 4 samples.
            if times < 8 { XCTAssertTrue(score == 0 || score == times, "a mixed prefix samples to the maximum: \(r)") }
        }
        XCTAssertEqual(records.first?["add"] as? String, "Step 1: 2 + 3 = 5.")
        XCTAssertEqual(records.first?["id"] as? String, "q1-0")
        XCTAssertEqual(records.first?["sid"] as? Int, 1)
        let conversations = workspace.root.appendingPathComponent("labels.conversations.jsonl")
        XCTAssertEqual(try String(contentsOf: conversations, encoding: .utf8).split(separator: "\n").count, 4)

        // The per-domain cap keeps mixed prefixes first.
        let capped = workspace.root.appendingPathComponent("capped.json")
        XCTAssertEqual(try Binary.run(["label", "--candidates", sets.path, "--output", capped.path, "--max_rollouts", "8", "--per_domain", "2"] + policyFlags).status, 0)
        let kept = try JSONSerialization.jsonObject(with: Data(contentsOf: capped)) as! [[String: Any]]
        XCTAssertEqual(Dictionary(grouping: kept) { $0["dataset"] as! String }.mapValues(\.count), ["sums": 2, "products": 2])

        // Both outputs are training data: v1 records with a meta file, 1.5 conversations.
        let meta = try write("meta.jsonl", [#"{"true_false": true, "input": "What is 2 + 2?\n\nStep 1: 2 + 2 = 4.\n\nFinal answer: 4"}"#])
        let v1 = try Binary.run(workspace.trainArguments(train: out, meta: meta, output: workspace.root.appendingPathComponent("run-v1"), iterations: 2))
        XCTAssertEqual(v1.status, 0, v1.output)
        // The tiny backbone reads 512 tokens: the long process-supervision prompt gives way to a short one.
        var written = try String(contentsOf: conversations, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual((written[0]["conversations"] as! [[String: String]])[0]["value"], LabelOutputs.processSupervisionPrompt)
        written = written.map { c in
            var c = c, turns = c["conversations"] as! [[String: String]]
            turns[0]["value"] = "Judge each step."
            c["conversations"] = turns
            return c
        }
        func jsonLines(_ records: [[String: Any]]) throws -> [String] {
            try records.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        }
        let trainConversations = try write("train15.jsonl", try jsonLines(written))
        var meta0 = written[0]
        meta0["id"] = "m0"
        let metaConversations = try write("meta15.jsonl", try jsonLines([meta0]))
        let g = try Binary.run(workspace.trainArguments(train: trainConversations, meta: metaConversations, output: workspace.root.appendingPathComponent("run-15"),
                                                        iterations: 2, extra: ["--reweighting", "instance-table"]))
        XCTAssertEqual(g.status, 0, g.output)
    }

    /// Killed three times at random points and resumed: the files equal an uninterrupted run's.
    func testLabelKilledThreeTimesResumesToTheSameFiles() throws {
        let sets = try candidateSets()
        let whole = workspace.root.appendingPathComponent("whole.json")
        let arguments = ["label", "--candidates", sets.path, "--max_rollouts", "12"] + policyFlags
        let started = Date()
        XCTAssertEqual(try Binary.run(arguments + ["--output", whole.path]).status, 0)
        let duration = Date().timeIntervalSince(started)
        let split = workspace.root.appendingPathComponent("split.json")
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        for attempt in 0..<3 {
            let running = try Binary.start(arguments + ["--output", split.path] + (attempt == 0 ? [] : ["--resume"]))
            Thread.sleep(forTimeInterval: Double.random(in: 0.1...max(0.2, duration * 0.8), using: &generator))
            if running.process.isRunning { running.kill(); kills += 1 } else { running.process.waitUntilExit() }
        }
        let finish = try Binary.run(arguments + ["--output", split.path, "--resume"])
        XCTAssertEqual(finish.status, 0, finish.output)
        XCTAssertGreaterThan(kills, 0, "at least one run was killed mid-way")
        XCTAssertEqual(try Data(contentsOf: split), try Data(contentsOf: whole))
        XCTAssertEqual(try Data(contentsOf: workspace.root.appendingPathComponent("split.conversations.jsonl")),
                       try Data(contentsOf: workspace.root.appendingPathComponent("whole.conversations.jsonl")))
    }
}
