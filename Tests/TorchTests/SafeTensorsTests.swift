import Foundation
import TestSupport
import Torch
import XCTest

/// safetensors against files written by the Python `safetensors` package (tools/fixtures).
final class SafeTensorsTests: XCTestCase {
    private func fixture(_ name: String) -> URL { fixtureURL(name, bundle: .module) }

    private struct Expected: Decodable {
        let shape: [Int]
        let dtype: String?
        let values: [Double]
    }

    // JSONDecoder, not JSONSerialization: the latter rounds some doubles on Linux.
    private func expected(_ name: String) throws -> [String: Expected] {
        try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: fixture(name)))
    }

    func testReadsEveryDTypeWrittenByPython() throws {
        let file = try SafeTensorsFile(fixture("all_dtypes.safetensors"))
        let want = try expected("all_dtypes.json")
        XCTAssertEqual(Set(file.names), Set(want.keys))
        XCTAssertEqual(file.metadata, ["source": "make_foundation_fixtures.py"])
        let dtypeNames: [String: DType] = ["float64": .float64, "float32": .float32, "float16": .float16, "bfloat16": .bfloat16,
                                           "int64": .int64, "int32": .int32, "int16": .int16, "int8": .int8, "uint8": .uint8, "bool": .bool]
        for (name, info) in want {
            let t = try file.tensor(name)
            XCTAssertEqual(t.shape, info.shape, name)
            XCTAssertEqual(t.dtype, dtypeNames[info.dtype!], name)
            // Exact: every value was representable in its dtype when Python wrote it.
            XCTAssertEqual(try t.doubles(), info.values, name)
        }
    }

    func testReadsAShardedCheckpointThroughItsIndex() throws {
        let checkpoint = try SafeTensorsCheckpoint(fixture("sharded"))
        let want = try expected("sharded.json")
        XCTAssertEqual(checkpoint.files.count, 2)
        XCTAssertEqual(Set(checkpoint.names), Set(want.keys))
        for (name, info) in want {
            let t = try checkpoint.tensor(name)
            XCTAssertEqual(t.shape, info.shape, name)
            XCTAssertEqual(try t.doubles(), info.values, name)
        }
        XCTAssertEqual(try checkpoint.tensor("model.embed_tokens.weight").dtype, .bfloat16)
    }

    /// The same tensors as `swift_written_expected()` in the fixture script, which checks
    /// that the committed swift_written.safetensors loads in Python with these values.
    private func swiftWrittenTensors() throws -> [String: Tensor] {
        [
            "a.weight": try Tensor((0..<6).map { Float($0) / 4 }, shape: [2, 3]),
            "b.bf16": try Tensor([1.5, -2.0, 0.25]).to(.bfloat16),
            "c.ids": try Tensor([Int64(1), -2, 3, 40_000_000_000], shape: [2, 2]),
            "d.mask": try Tensor([true, false, true]),
            "e.half": try Tensor([Float16(0.5), -65504]),
        ]
    }

    func testWriterRoundTripsAndMatchesTheFileCheckedInPython() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("out.safetensors")
        let tensors = try swiftWrittenTensors()
        try SafeTensors.write(tensors, metadata: ["writer": "dreamprm-swift"], to: url)

        let back = try SafeTensorsFile(url)
        XCTAssertEqual(back.metadata, ["writer": "dreamprm-swift"])
        for (name, t) in tensors {
            let r = try back.tensor(name)
            XCTAssertEqual(r.dtype, t.dtype, name)
            XCTAssertEqual(r.shape, t.shape, name)
            XCTAssertEqual(try r.bytes(), try t.bytes(), name)
        }
        // Data starts 8-byte aligned, as in files the reference writer makes.
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(headerLength % 8, 0)

        let committed = fixture("swift_written.safetensors")
        if ProcessInfo.processInfo.environment["DREAMPRM_REGENERATE_FIXTURES"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/swift_written.safetensors")
            try bytes.write(to: source)
        }
        guard FileManager.default.fileExists(atPath: committed.path) else {
            return XCTFail("swift_written.safetensors missing: run the tests once with DREAMPRM_REGENERATE_FIXTURES=1, then the fixture script")
        }
        XCTAssertEqual(bytes, try Data(contentsOf: committed), "the writer's output changed; regenerate and recheck in Python")
    }

    func testMalformedFilesGiveErrorsNamingFileAndTensor() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try Data(contentsOf: fixture("all_dtypes.safetensors"))

        func expectError(_ data: Data, _ fragment: String, line: UInt = #line) throws {
            let url = dir.appendingPathComponent("case-\(line).safetensors")
            try data.write(to: url)
            XCTAssertThrowsError(try SafeTensorsFile(url), line: line) { error in
                guard let e = error as? SafeTensorsError else { return XCTFail("not a SafeTensorsError: \(error)", line: line) }
                XCTAssertEqual(e.path, url.path, line: line)
                XCTAssertTrue(e.message.contains(fragment), "\(e.message) lacks '\(fragment)'", line: line)
            }
        }
        try expectError(good.prefix(good.count - 10), "truncated")
        try expectError(good.prefix(20), "truncated")
        try expectError(Data([1, 2, 3]), "truncated")

        func file(header: String) -> Data {
            var d = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: Array(header.utf8))
            d.append(contentsOf: [UInt8](repeating: 0, count: 16))
            return d
        }
        try expectError(file(header: "{not json"), "not valid JSON")
        try expectError(file(header: #"{"x":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#), "tensor 'x': unsupported dtype 'F8_E4M3'")
        try expectError(file(header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#), "tensor 'x': data_offsets span 8 bytes")
        try expectError(file(header: #"{"x":{"shape":[3],"data_offsets":[0,12]}}"#), "tensor 'x': missing field 'dtype'")
        try expectError(file(header: #"{"x":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}"#), "truncated: tensor 'x'")

        let ok = try SafeTensorsFile(fixture("all_dtypes.safetensors"))
        XCTAssertThrowsError(try ok.tensor("nope")) { XCTAssertTrue("\($0)".contains("no tensor named 'nope'")) }
        XCTAssertThrowsError(try SafeTensorsCheckpoint(dir.appendingPathComponent("absent"))) {
            XCTAssertTrue("\($0)".contains("no such file"))
        }
    }
}
