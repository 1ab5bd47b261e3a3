import Foundation
import TestSupport
import XCTest

/// Runs the dreamprm binary that `swift test` built beside the test bundle.
enum Binary {
    static let url: URL = {
        let candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
                          URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug").standardized]
        return candidates.map { $0.appendingPathComponent("dreamprm") }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
            ?? candidates[0].appendingPathComponent("dreamprm")
    }()

    struct Result {
        let status: Int32
        /// False when a signal ended the process (a Swift trap is SIGILL or SIGTRAP).
        let exited: Bool
        let output: String
    }

    /// Runs to the end (killed after `timeout` seconds), stdout and stderr together.
    static func run(_ arguments: [String], timeout: Double = 300, environment: [String: String] = [:]) throws -> Result {
        let process = try start(arguments, environment: environment)
        let deadline = DispatchWorkItem { process.process.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
        process.process.waitUntilExit()
        deadline.cancel()
        return process.result()
    }

    final class Running {
        let process = Process()
        let log: URL
        init(log: URL) { self.log = log }
        func result() -> Result {
            Result(status: process.terminationStatus, exited: process.terminationReason == .exit,
                   output: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
        }
        func kill() {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Starts the binary with its output going to a temporary file (a pipe could fill and stall it).
    static func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Running {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("dreamprm-cli-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let running = Running(log: log)
        let handle = try FileHandle(forWritingTo: log)
        running.process.executableURL = url
        running.process.arguments = arguments
        running.process.standardOutput = handle
        running.process.standardError = handle
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "1"
        environment.merge(extra) { $1 }
        running.process.environment = environment
        try running.process.run()
        return running
    }
}

/// A digest of every file under a directory (names and bytes), to show it was not touched.
func directoryDigest(_ dir: URL) throws -> [String: Data] {
    var out: [String: Data] = [:]
    let fm = FileManager.default
    guard let walker = fm.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey]) else { return out }
    for case let file as URL in walker where (try file.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
        out[String(file.path.dropFirst(dir.path.count))] = try Data(contentsOf: file)
    }
    return out
}

/// A tiny backbone and a small, valid data set in a fresh directory, for runs that take seconds.
final class Workspace {
    let root: URL
    var model: URL { root.appendingPathComponent("backbone") }

    init(_ name: String) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try TinyBackbone.write(to: model)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// Two training records in two domains and one meta chain: the least a run needs.
    func writeMinimalData() throws -> (train: URL, meta: URL) {
        let train = root.appendingPathComponent("minimal-train.json"), meta = root.appendingPathComponent("minimal-meta.jsonl")
        try #"[{"input": "What is 1 + 1?", "add": "Step 1: 1 + 1 = 2.", "dataset": "a", "accuracy": 1}, {"input": "What is 1 + 2?", "add": "Step 1: 1 + 2 = 4.", "dataset": "b", "accuracy": 0}]"#
            .write(to: train, atomically: true, encoding: .utf8)
        try #"{"true_false": true, "input": "What is 2 + 2?\n\nStep 1: 2 + 2 = 4.\n\nFinal answer: 4"}"#.write(to: meta, atomically: true, encoding: .utf8)
        return (train, meta)
    }

    /// The arguments of a small training run on the workspace's files into `output`.
    func trainArguments(train: URL, meta: URL, output: URL, iterations: Int, extra: [String] = []) -> [String] {
        ["train", "--train_json_file", train.path, "--meta_json_file", meta.path, "--weights_path", output.path,
         "--reward_model", model.path, "--iteration_num", "\(iterations)", "--batch_size", "2", "--unroll_steps", "2",
         "--save_every_iterations", "2", "--lr", "1e-3", "--meta_lr", "0.05", "--seed", "3", "--threads", "1"] + extra
    }
}
