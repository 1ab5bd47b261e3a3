import Foundation
import TestSupport
import XCTest

/// Killed and concurrent runs, through the binary.
final class RunDirectoryTests: XCTestCase {
    private var workspace: Workspace!
    private var train: URL { workspace.root.appendingPathComponent("train.json") }
    private var meta: URL { workspace.root.appendingPathComponent("meta.jsonl") }

    override func setUpWithError() throws {
        workspace = try Workspace("cli-runs")
        var records: [String] = [], chains: [String] = []
        for (d, domain) in ["a", "b", "c"].enumerated() {
            for i in 0..<6 {
                records.append(#"{"input": "Question: what is \#(i) + \#(d)?", "add": "Step 1: add them.\n\nStep 2: the sum is \#(i + d).", "dataset": "\#(domain)", "accuracy": \#(Double((i + d) % 3) / 2)}"#)
            }
        }
        for i in 0..<4 {
            chains.append(#"{"id": \#(i), "true_false": \#(i % 2 == 0), "input": "Question: \#(i) + 1?\n\nStep 1: add.\n\nStep 2: \#(i + 1).\n\nFinal answer: \#(i + 1)"}"#)
        }
        try "[\(records.joined(separator: ","))]".write(to: train, atomically: true, encoding: .utf8)
        try chains.joined(separator: "\n").write(to: meta, atomically: true, encoding: .utf8)
    }

    override func tearDown() { workspace.remove() }

    private func lines(_ file: URL) -> Int {
        ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// Waits until the run has written `count` metrics lines (or fails after a minute).
    private func waitForMetrics(_ run: URL, _ count: Int, _ process: Binary.Running) throws {
        let deadline = Date().addingTimeInterval(60)
        while lines(run.appendingPathComponent("metrics.jsonl")) < count {
            guard process.process.isRunning else { return XCTFail("the run ended early: \(process.result().output.suffix(500))") }
            guard Date() < deadline else { return XCTFail("no progress within a minute") }
            usleep(20_000)
        }
    }

    /// SIGKILL at three moments, each followed by --resume: the final PRM and weights are
    /// byte-identical to an uninterrupted run's, and leftovers of a killed save are cleaned.
    func testKilledRunsResumeToTheUninterruptedResult() throws {
        let iterations = 40
        let reference = workspace.root.appendingPathComponent("reference")
        let straight = try Binary.run(workspace.trainArguments(train: train, meta: meta, output: reference, iterations: iterations))
        XCTAssertEqual(straight.status, 0, straight.output)

        let run = workspace.root.appendingPathComponent("killed")
        let arguments = workspace.trainArguments(train: train, meta: meta, output: run, iterations: iterations)
        var process = try Binary.start(arguments)
        for (k, point) in [7, 19, 30].enumerated() {
            try waitForMetrics(run, point, process)
            process.kill()
            XCTAssertFalse(process.result().exited, "killed by a signal")
            // What a save killed midway leaves behind.
            try FileManager.default.createDirectory(at: run.appendingPathComponent(".checkpoint.tmp-99-kill\(k)"), withIntermediateDirectories: false)
            process = try Binary.start(arguments + ["--resume"])
        }
        process.process.waitUntilExit()
        let resumed = process.result()
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("removed .checkpoint.tmp-99-kill2"), resumed.output)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: run.path).contains { $0.contains(".tmp-") })
        for file in ["prm.safetensors", "domain_weights.json"] {
            XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent(file)), try Data(contentsOf: reference.appendingPathComponent(file)), file)
        }
        XCTAssertEqual(lines(run.appendingPathComponent("metrics.jsonl")), iterations, "one metrics line per iteration after the resumes")
    }

    /// With --rollback and windows of 3, checkpoints fall at window ends (every 2 iterations is
    /// rounded up to 3), so a run killed mid-window resumes with the window's snapshot and ends
    /// as the uninterrupted one.
    func testARollbackRunKilledMidWindowResumesExactly() throws {
        func arguments(_ output: URL) -> [String] {
            var a = workspace.trainArguments(train: train, meta: meta, output: output, iterations: 12, extra: ["--rollback"])
            a[a.firstIndex(of: "--unroll_steps")! + 1] = "3"
            return a
        }
        let reference = workspace.root.appendingPathComponent("rollback-reference")
        XCTAssertEqual(try Binary.run(arguments(reference)).status, 0)
        let run = workspace.root.appendingPathComponent("rollback-killed")
        let process = try Binary.start(arguments(run))
        try waitForMetrics(run, 5, process)
        process.kill()
        let resumed = try Binary.run(arguments(run) + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("checkpoints every 3 iterations"), resumed.output)
        XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("prm.safetensors")),
                       try Data(contentsOf: reference.appendingPathComponent("prm.safetensors")))
    }

    /// --overwrite replaces an earlier run only once the new one is ready to write: a run
    /// whose model fails to load leaves the earlier run byte-identical.
    func testOverwriteKeepsTheEarlierRunUntilTheNewOneCanWrite() throws {
        let run = workspace.root.appendingPathComponent("replaced")
        XCTAssertEqual(try Binary.run(workspace.trainArguments(train: train, meta: meta, output: run, iterations: 4)).status, 0)
        let before = try directoryDigest(run)
        let broken = workspace.root.appendingPathComponent("broken-model")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: broken.appendingPathComponent("config.json"))
        var arguments = workspace.trainArguments(train: train, meta: meta, output: run, iterations: 6, extra: ["--overwrite"])
        arguments[arguments.firstIndex(of: workspace.model.path)!] = broken.path
        let failed = try Binary.run(arguments)
        XCTAssertEqual(failed.status, 2, failed.output)
        XCTAssertTrue(failed.output.contains("--reward_model"), failed.output)
        XCTAssertEqual(try directoryDigest(run).filter { $0.key != "/.dreamprm.lock" }, before.filter { $0.key != "/.dreamprm.lock" })
        let replaced = try Binary.run(workspace.trainArguments(train: train, meta: meta, output: run, iterations: 6, extra: ["--overwrite"]))
        XCTAssertEqual(replaced.status, 0, replaced.output)
        XCTAssertEqual(lines(run.appendingPathComponent("metrics.jsonl")), 6)
    }

    /// A second run into a directory in use fails at once, with or without --resume, and
    /// leaves the first run alone; once the first is gone (killed), the lock is free again.
    func testASecondRunIntoABusyDirectoryFailsAtOnce() throws {
        let run = workspace.root.appendingPathComponent("busy")
        let arguments = workspace.trainArguments(train: train, meta: meta, output: run, iterations: 100_000)
        let first = try Binary.start(arguments)
        try waitForMetrics(run, 3, first)
        for extra in [[], ["--resume"], ["--overwrite"]] {
            let started = Date()
            let second = try Binary.run(arguments + extra, timeout: 60)
            XCTAssertEqual(second.status, 2, second.output)
            XCTAssertTrue(second.output.contains("another dreamprm run (pid \(first.process.processIdentifier))"), second.output)
            XCTAssertLessThan(Date().timeIntervalSince(started), 20, "refused before loading the model")
        }
        XCTAssertTrue(first.process.isRunning, "the first run goes on")
        first.kill()
        var resumed = arguments
        resumed[resumed.firstIndex(of: "100000")!] = "6"
        let after = try Binary.run(resumed + ["--resume"], timeout: 120)
        XCTAssertEqual(after.status, 0, after.output)
    }
}
