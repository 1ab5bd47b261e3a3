import Foundation
import TestSupport
import Models
import Torch
import XCTest

/// GGUF reading and dequantisation against the `gguf` Python package (tools/fixtures/make_gguf_fixtures.py).
final class GGUFTests: XCTestCase {
    private struct Case: Decodable {
        let name: String, type: String, count: Int, raw: String
        let values: [Float]
    }

    private struct Fixture: Decodable { let cases: [Case] }

    func testDequantisationOfEveryTypeEqualsTheGGUFPackage() throws {
        let url = fixtureURL("dequantize.json", bundle: .module)
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let types: [String: GGMLType] = ["F32": .f32, "F16": .f16, "BF16": .bf16, "Q8_0": .q8_0, "Q4_0": .q4_0, "Q4_1": .q4_1,
                                         "Q5_0": .q5_0, "Q5_1": .q5_1, "Q4_K": .q4_K, "Q5_K": .q5_K, "Q6_K": .q6_K]
        XCTAssertEqual(Set(fixture.cases.map(\.type)), Set(types.keys), "every listed type has a case")
        for c in fixture.cases {
            let raw = try XCTUnwrap(Data(base64Encoded: c.raw))
            let type = try XCTUnwrap(types[c.type])
            let values = try raw.withUnsafeBytes { try Dequantize.toFloat32($0, type: type, count: c.count) }
            XCTAssertEqual(values.count, c.values.count, c.name)
            // float32 arithmetic in the same order as ggml: equal to the last bit or within 1 ulp.
            assertClose(values.map(Double.init), c.values.map(Double.init), rtol: 1e-6, atol: 1e-7, c.name)
        }
    }

    func testReadsMetadataOfEveryValueTypeAndTensors() throws {
        let file = try GGUFFile(fixtureURL("tiny.gguf", bundle: .module))
        XCTAssertEqual(file.version, 3)
        let m = file.metadata
        XCTAssertEqual(m["general.architecture"]?.string, "llama")
        XCTAssertEqual(m["test.u8"]?.int, 200)
        XCTAssertEqual(m["test.i8"]?.int, -100)
        XCTAssertEqual(m["test.u16"]?.int, 60000)
        XCTAssertEqual(m["test.i16"]?.int, -30000)
        XCTAssertEqual(m["test.u32"]?.int, 4_000_000_000)
        XCTAssertEqual(m["test.i32"]?.int, -2_000_000_000)
        XCTAssertEqual(m["test.u64"], .uint(UInt64(1) << 63 + 5))
        XCTAssertEqual(m["test.i64"]?.int, -(1 << 62))
        XCTAssertEqual(m["test.f32"]?.double, 0.25)
        XCTAssertEqual(m["test.f64"]?.double, 1e-300)
        XCTAssertEqual(m["test.bool"]?.bool, true)
        XCTAssertEqual(m["test.string"]?.string, "héllo ✓")
        XCTAssertEqual(m["test.ints"]?.ints, [1, 2, 3])
        XCTAssertEqual(m["test.strings"]?.strings, ["a", "", "ç"])
        XCTAssertEqual(m["test.floats"]?.doubles, [0.5, -1.5])
        XCTAssertEqual(file.tensors.map(\.name), ["a.weight", "b.half"])
        XCTAssertEqual(file.info("a.weight")?.shape, [3, 4])
        XCTAssertEqual(try file.tensor("a.weight").doubles(), (0..<12).map { Double($0) / 8 })
        XCTAssertEqual(file.info("b.half")?.type, .f16)
        XCTAssertEqual(try file.tensor("b.half").doubles(), (0..<8).map { Double($0) - 3 })
    }

    func testMalformedFilesNameTheFileAndProblem() throws {
        let good = try Data(contentsOf: fixtureURL("tiny.gguf", bundle: .module))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func expect(_ data: Data, _ fragment: String, line: UInt = #line) throws {
            let url = dir.appendingPathComponent("f\(line).gguf")
            try data.write(to: url)
            XCTAssertThrowsError(try GGUFFile(url), line: line) { error in
                XCTAssertTrue("\(error)".contains(url.path) && "\(error)".contains(fragment), "\(error)", line: line)
            }
        }
        try expect(Data("GGML".utf8) + good.dropFirst(4), "bad magic")
        try expect(good.prefix(100), "truncated")
        try expect(good.prefix(good.count - 20), "truncated: tensor 'b.half'") // past the 16 bytes of padding
    }

    /// The real embedded model, when its package is installed (skipped otherwise).
    func testSmolLM2FileParsesWhenInstalled() throws {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else {
            throw XCTSkip("smollm2-135m-instruct is not installed (scripts/fetch-model.sh smollm2-135m-instruct)")
        }
        let file = try GGUFFile(url)
        XCTAssertEqual(file.metadata["general.architecture"]?.string, "llama")
        XCTAssertEqual(file.tensors.count, 272)
        XCTAssertEqual(file.info("token_embd.weight")?.shape, [49152, 576])
        XCTAssertEqual(file.metadata["tokenizer.ggml.tokens"]?.strings?.count, 49152)
    }
}

