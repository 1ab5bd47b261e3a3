import Foundation
import TestSupport
import XCTest

/// The committed fuzz corpus (tools/fuzz/make_cli_corpus.py) through the binary: no case
/// crashes; each ends with its exit code and a message with the words naming what is wrong;
/// a finished run used by the cases (the sentinel) is byte-identical afterwards.
final class FuzzCorpusTests: XCTestCase {
    private struct Corpus: Decodable {
        let base_files: [String: String]
        let cases: [Case]
    }

    private struct Case: Decodable {
        let name: String
        let command: String
        let args: [String]
        let exit: Int32
        let expect: [String]
        let files: [String: String]
        let setup: [[String: JSONScalar]]
        let encoding: String?
        let inject_bytes: [String: String]?
    }

    /// A setup step's values: strings, numbers or booleans.
    private enum JSONScalar: Decodable {
        case string(String), number(Int), bool(Bool)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let n = try? c.decode(Int.self) { self = .number(n) } else { self = .string(try c.decode(String.self)) }
        }
        var string: String? { if case .string(let s) = self { return s }; return nil }
        var number: Int? { if case .number(let n) = self { return n }; return nil }
    }

    func testEveryCaseEndsCleanlyWithAMessageNamingTheCulprit() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Binary.url.path), "no dreamprm binary at \(Binary.url.path)")
        let corpus = try JSONDecoder().decode(Corpus.self, from: Data(contentsOf: fixtureURL("fuzz_corpus.json", bundle: .module)))
        XCTAssertGreaterThanOrEqual(corpus.cases.count, 150)
        let workspace = try Workspace("fuzz")
        defer { workspace.remove() }
        let base = workspace.root.appendingPathComponent("base")
        try write(corpus.base_files, into: base)
        let sentinel = workspace.root.appendingPathComponent("sentinel")
        let made = try Binary.run(workspace.trainArguments(train: base.appendingPathComponent("train.json"),
                                                           meta: base.appendingPathComponent("meta.jsonl"), output: sentinel, iterations: 4))
        XCTAssertEqual(made.status, 0, made.output)
        let before = try directoryDigest(sentinel)

        var failures: [String] = [], rejected = 0, accepted = 0
        for (i, c) in corpus.cases.enumerated() {
            let work = workspace.root.appendingPathComponent("case-\(i)")
            func fill(_ text: String) -> String {
                text.replacingOccurrences(of: "{work}", with: work.path).replacingOccurrences(of: "{model}", with: workspace.model.path)
                    .replacingOccurrences(of: "{sentinel}", with: sentinel.path)
            }
            let arguments = [c.command] + c.args.map(fill)
            do {
                try write(corpus.base_files, into: work)
                try write(c.files, into: work, encoding: c.encoding, inject: c.inject_bytes)
                for step in c.setup { try perform(step, fill: fill, arguments: arguments) }
                let r = try Binary.run(arguments, timeout: 120)
                var problems: [String] = []
                if !r.exited { problems.append("ended by signal \(r.status) (a crash)") }
                if r.status != c.exit { problems.append("exit \(r.status), expected \(c.exit)") }
                let missing = c.expect.map(fill).filter { !r.output.contains($0) }
                if !missing.isEmpty { problems.append("message lacks \(missing)") }
                if problems.isEmpty { if c.exit == 0 { accepted += 1 } else { rejected += 1 } }
                else { failures.append("\(c.name): \(problems.joined(separator: "; ")) — output: \(r.output.suffix(400))") }
            } catch {
                failures.append("\(c.name): setup failed: \(error)")
            }
            try? FileManager.default.removeItem(at: work)
        }
        for f in failures.prefix(25) { XCTFail(f) }
        XCTAssertEqual(failures.count, 0, "\(failures.count) of \(corpus.cases.count) cases failed")
        XCTAssertEqual(try directoryDigest(sentinel), before, "the sentinel run directory changed")
        print("fuzz corpus: \(corpus.cases.count) cases, \(rejected) rejected with their message, \(accepted) accepted, \(failures.count) failed")
    }

    private func write(_ files: [String: String], into dir: URL, encoding: String? = nil, inject: [String: String]? = nil) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files {
            var data = encoding == "utf-16" ? text.data(using: .utf16)! : Data(text.utf8)
            if let inject, let after = inject["after"], let hex = inject["bytes"], let at = data.range(of: Data(after.utf8)) {
                let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
                data.insert(contentsOf: bytes, at: at.upperBound)
            }
            try data.write(to: dir.appendingPathComponent(name))
        }
    }

    private func perform(_ step: [String: JSONScalar], fill: (String) -> String, arguments: [String]) throws {
        let fm = FileManager.default
        func path(_ key: String) -> URL? { step[key]?.string.map { URL(fileURLWithPath: fill($0)) } }
        if let from = path("copy"), let to = path("to") {
            try fm.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.copyItem(at: from, to: to)
        } else if let from = path("move"), let to = path("to") {
            try fm.moveItem(at: from, to: to)
        } else if let file = path("truncate"), let bytes = step["bytes"]?.number {
            let handle = try FileHandle(forWritingTo: file)
            try handle.truncate(atOffset: UInt64(bytes))
            try handle.close()
        } else if let file = path("delete") {
            try fm.removeItem(at: file)
        } else if let file = path("write"), let text = step["text"]?.string {
            try Data(text.utf8).write(to: file)
        } else if let dir = path("mkdir") {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        } else if step["run_case"] != nil {
            let r = try Binary.run(arguments, timeout: 120)
            guard r.status == 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "first run failed: \(r.output)"]) }
        } else if let file = path("damage_cache"), let how = step["how"]?.string {
            var cache = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
            var lists = cache["stepLogits"] as! [[[Double]]]
            switch how {
            case "garbage": try Data("not json".utf8).write(to: file); return
            case "too few questions": lists.removeLast()
            case "too many questions": lists.append(lists[0])
            case "one candidate short": lists[0].removeLast()
            case "one more candidate": lists[0].append(lists[0][0])
            case "an empty step list": lists[0][0] = []
            default: throw CocoaError(.featureUnsupported)
            }
            cache["stepLogits"] = lists
            try JSONSerialization.data(withJSONObject: cache).write(to: file)
        } else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "unknown setup step \(step.keys.sorted())"])
        }
    }
}
