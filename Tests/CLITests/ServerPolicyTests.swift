import Foundation
import TestSupport
import XCTest

/// `dreamprm label --policy_url` against the loopback `ChatServer`: a run through injected
/// 500s, 429s with Retry-After, responses slower than the timeout, malformed JSON and dropped
/// connections labels exactly what a fault-free run does, with the retries in the server's log
/// and never more requests in flight than `--concurrency`.
final class ServerPolicyTests: XCTestCase {
    private var workspace: Workspace!

    override func setUpWithError() throws { workspace = try Workspace("server-policy") }
    override func tearDown() { workspace.remove() }

    /// The server's "model": sums, right or one off depending on the seed and the prefix.
    static func reply(_ request: [String: Any]) -> String {
        let messages = request["messages"] as! [[String: Any]]
        let user = messages[0]["content"] as! String
        let numbers = user.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.suffix(2)
        let sum = numbers.reduce(0, +)
        let prefix = messages.count > 1 ? messages[1]["content"] as! String : ""
        let answer = ChatServer.digest("\(request["seed"]!)|\(prefix)".utf8) % 3 == 0 ? sum + 1 : sum
        if prefix.isEmpty { return "Step 1: We add \(numbers.map(String.init).joined(separator: " and ")).\n\nStep 2: The sum is \(answer).\n\nFinal answer: \(answer)" }
        return "So the sum is \(answer).\n\nFinal answer: \(answer)"
    }

    private func label(_ server: ChatServer, into name: String) throws -> (result: Binary.Result, files: [Data]) {
        let questions = workspace.root.appendingPathComponent("questions.jsonl")
        try [#"{"id": "a", "question": "What is 12 + 30?", "answer": "42", "dataset": "sums"}"#,
             #"{"id": "b", "question": "What is 7 + 5?", "answer": "12", "dataset": "sums"}"#,
             #"{"id": "c", "question": "What is 100 + 1?", "answer": "101", "dataset": "more sums"}"#]
            .joined(separator: "\n").write(to: questions, atomically: true, encoding: .utf8)
        let out = workspace.root.appendingPathComponent("\(name).json")
        let result = try Binary.run(["label", "--questions", questions.path, "--n", "2", "--output", out.path, "--max_rollouts", "6",
                                     "--policy_url", server.url, "--policy_model", "test-model", "--concurrency", "2", "--prompt", "plain",
                                     "--request_timeout", "0.5", "--retry_backoff", "0.05", "--seed", "3"], timeout: 240)
        let files = try ["", ".candidates.jsonl", ".progress.jsonl"].map { try Data(contentsOf: URL(fileURLWithPath: out.path + $0)) }
            + [try Data(contentsOf: out.deletingPathExtension().appendingPathExtension("conversations.jsonl"))]
        return (result, files)
    }

    func testLabelsThroughInjectedFaultsEqualAFaultFreeRun() throws {
        let clean = try ChatServer(reply: Self.reply)
        defer { clean.stop() }
        let (cleanRun, expected) = try label(clean, into: "clean")
        XCTAssertEqual(cleanRun.status, 0, cleanRun.output)
        XCTAssertTrue(clean.log.allSatisfy { $0.outcome == "answered" })
        let accuracies = (try JSONSerialization.jsonObject(with: expected[0]) as! [[String: Any]]).map { $0["accuracy"] as! Double }
        XCTAssertTrue(accuracies.contains { $0 > 0 && $0 < 1 }, "some prefixes are mixed: \(accuracies)")

        // Every third request from the second on fails, cycling through the five faults.
        let kinds: [ChatServer.Fault] = [.status500, .tooManyRequests(retryAfter: 1), .slow(seconds: 1.5), .malformedJSON, .dropConnection]
        let faulty = try ChatServer(faultAt: { n in n % 3 == 1 ? kinds[(n / 3) % kinds.count] : nil }, reply: Self.reply)
        defer { faulty.stop() }
        let (faultyRun, files) = try label(faulty, into: "faulty")
        XCTAssertEqual(faultyRun.status, 0, faultyRun.output)
        XCTAssertEqual(files, expected, "the labels, candidates and conversations equal the fault-free run's")

        let log = faulty.log
        XCTAssertEqual(Set(log.map(\.outcome)), ["answered", "500", "429", "client gone", "malformed", "dropped"])
        XCTAssertEqual(log.filter { $0.outcome == "answered" }.count, clean.log.count, "each request was answered once in the end")
        XCTAssertEqual(faulty.maxInFlight, 2, "--concurrency 2 was used and held")
        // Every failed request came again, and after a 429 not before its Retry-After.
        for (i, entry) in log.enumerated() where entry.outcome != "answered" {
            guard let retry = log[(i + 1)...].first(where: { $0.digest == entry.digest }) else { XCTFail("request \(i) (\(entry.outcome)) never retried"); continue }
            if entry.outcome == "429" { XCTAssertGreaterThanOrEqual(retry.arrived.timeIntervalSince(entry.arrived), 1.0) }
        }
        let failures = try String(contentsOf: workspace.root.appendingPathComponent("faulty.json.policy-failures.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(failures.count, log.count - clean.log.count, "each failed attempt is in the failure log")
        XCTAssertEqual(Set(failures.compactMap { $0["status"] as? Int }), [500, 429, 200])
        XCTAssertTrue(faultyRun.output.contains("retrying in"), faultyRun.output)
    }

    /// `--judge llm`: what the rules leave undecided (two free-form texts) goes to the policy.
    func testTheLLMJudgeDecidesFreeFormAnswersTheRulesCannot() throws {
        let server = try ChatServer { request in
            let user = ((request["messages"] as! [[String: Any]])[0]["content"] as! String)
            if user.contains("Does the given answer mean the same") { return user.lowercased().contains("given answer: the city of paris") ? "Yes." : "No." }
            return ChatServer.digest("\(request["seed"]!)".utf8) % 2 == 0 ? "It is the capital.\n\nFinal answer: the city of Paris" : "Final answer: Lyon"
        }
        defer { server.stop() }
        let questions = workspace.root.appendingPathComponent("q.jsonl")
        try #"{"id": "a", "question": "Which city is the capital of France?", "answer": "Paris", "dataset": "cities"}"#
            .write(to: questions, atomically: true, encoding: .utf8)
        let out = workspace.root.appendingPathComponent("c.jsonl")
        let result = try Binary.run(["candidates", "--questions", questions.path, "--n", "6", "--output", out.path, "--policy_url", server.url,
                                     "--policy_model", "m", "--judge", "llm", "--seed", "2"])
        XCTAssertEqual(result.status, 0, result.output)
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as! [String: Any]
        let candidates = record["candidates"] as! [String], verdicts = record["true_false"] as! [Bool]
        XCTAssertEqual(record["judge_rules"] as! [String], [String](repeating: "llm", count: 6))
        XCTAssertEqual(verdicts, candidates.map { $0.contains("Paris") })
        XCTAssertEqual(Set(verdicts), [true, false], "both kinds of answer were drawn")
    }

    func testAServerThatRefusesTheRequestFailsNamingIt() throws {
        let server = try ChatServer(faultAt: { _ in .status500 }, reply: Self.reply)
        defer { server.stop() }
        let questions = workspace.root.appendingPathComponent("q.jsonl")
        try #"{"id": "a", "question": "What is 1 + 1?", "answer": "2", "dataset": "sums"}"#.write(to: questions, atomically: true, encoding: .utf8)
        let out = workspace.root.appendingPathComponent("c.jsonl")
        let result = try Binary.run(["candidates", "--questions", questions.path, "--n", "1", "--output", out.path, "--policy_url", server.url,
                                     "--policy_model", "m", "--retries", "2", "--retry_backoff", "0.01"])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("request 1 failed after 3 attempts: HTTP 500"), result.output)
        XCTAssertEqual(server.log.count, 3)
        let missing = try Binary.run(["candidates", "--questions", questions.path, "--output", out.path, "--policy_url", server.url])
        XCTAssertEqual(missing.status, 2, missing.output)
        XCTAssertTrue(missing.output.contains("policy_model"), missing.output)
    }

    /// A question's image goes with every request, candidates and rollouts alike, as a data-URL
    /// `image_url` part before the text (the OpenAI vision message format).
    func testImagesGoToTheServerAsDataURLParts() throws {
        let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ModelsTests/Fixtures/tiny-qwen2-vl/a.jpg").standardized
        try FileManager.default.copyItem(at: image, to: workspace.root.appendingPathComponent("a.jpg"))
        let received = NSLock(), expectedURL = "data:image/jpeg;base64," + (try Data(contentsOf: image)).base64EncodedString()
        var requests: [[String: Any]] = []
        let server = try ChatServer { request in
            received.withLock { requests.append(request) }
            return (request["messages"] as! [[String: Any]]).count > 1 ? "So 56.\n\nFinal answer: 56" : "Step 1: 7 times 8 is 56.\n\nFinal answer: 56"
        }
        defer { server.stop() }
        let questions = workspace.root.appendingPathComponent("q.jsonl")
        try #"{"id": "a", "question": "What is 7 times 8?", "answer": "56", "dataset": "products", "image_path": "a.jpg"}"#
            .write(to: questions, atomically: true, encoding: .utf8)
        let result = try Binary.run(["label", "--questions", questions.path, "--output", workspace.root.appendingPathComponent("l.json").path,
                                     "--max_rollouts", "4", "--policy_url", server.url, "--policy_model", "m", "--prompt", "plain"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(requests.count, 1 + 3, "one chain, then three rollouts from its one step prefix")
        for request in requests {
            let messages = request["messages"] as! [[String: Any]]
            let parts = try XCTUnwrap(messages[0]["content"] as? [[String: Any]])
            XCTAssertEqual(parts.map { $0["type"] as? String }, ["image_url", "text"])
            XCTAssertEqual((parts[0]["image_url"] as? [String: Any])?["url"] as? String, expectedURL)
            XCTAssertTrue((parts[1]["text"] as? String)?.contains("What is 7 times 8?") == true)
        }
        XCTAssertEqual(requests.filter { ($0["messages"] as! [[String: Any]]).count == 2 }.count, 3, "the rollouts continue the prefix")
    }

    /// Prefixes of different chains are labelled side by side: against a slow server,
    /// `--concurrency 16` keeps 16 requests in flight (one prefix's round asks for at most 3).
    func testLabelKeepsConcurrencyRequestsInFlight() throws {
        let server = try ChatServer(faultAt: { _ in .slow(seconds: 0.3) }, reply: Self.reply)
        defer { server.stop() }
        let questions = workspace.root.appendingPathComponent("q.jsonl")
        try (0..<4).map { #"{"id": "q\#($0)", "question": "What is \#($0) + 30?", "answer": "\#($0 + 30)", "dataset": "sums"}"# }
            .joined(separator: "\n").write(to: questions, atomically: true, encoding: .utf8)
        let out = workspace.root.appendingPathComponent("l.json")
        let result = try Binary.run(["label", "--questions", questions.path, "--n", "4", "--output", out.path, "--max_rollouts", "4",
                                     "--policy_url", server.url, "--policy_model", "m", "--concurrency", "16", "--prompt", "plain",
                                     "--request_timeout", "10", "--seed", "3"], timeout: 240)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(server.maxInFlight, 16, "16 of the 32 prefixes' requests at once")
    }

    /// A rollout that states no final answer is wrong, however its prefix ends (here every
    /// prefix holds the sum); the run's report counts such rollouts. `--max_rollouts 2` is
    /// respected: one rollout beside the chain's own outcome.
    func testRolloutsWithoutAFinalAnswerCountWrong() throws {
        let server = try ChatServer { request in
            (request["messages"] as! [[String: Any]]).count > 1 ? "We are nearly done."
                : "Step 1: 40 + 2 is 42.\n\nStep 2: The sum is 42.\n\nFinal answer: 42"
        }
        defer { server.stop() }
        let questions = workspace.root.appendingPathComponent("q.jsonl")
        try #"{"id": "a", "question": "What is 40 + 2?", "answer": "42", "dataset": "sums"}"#.write(to: questions, atomically: true, encoding: .utf8)
        let out = workspace.root.appendingPathComponent("l.json")
        let result = try Binary.run(["label", "--questions", questions.path, "--output", out.path, "--max_rollouts", "2",
                                     "--policy_url", server.url, "--policy_model", "m", "--prompt", "plain"])
        XCTAssertEqual(result.status, 0, result.output)
        let progress = try String(contentsOf: URL(fileURLWithPath: out.path + ".progress.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(progress.map { $0["times"] as? Int }, [2, 2])
        XCTAssertEqual(progress.map { $0["score"] as? Int }, [1, 1], "the chain's own outcome only")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out.path + ".report.json"))) as! [String: Any]
        XCTAssertEqual(report["rollouts"] as? Int, 2)
        XCTAssertEqual(report["rollouts_without_final_answer"] as? Int, 2)
        XCTAssertEqual(server.log.count, 1 + 2)
    }
}
