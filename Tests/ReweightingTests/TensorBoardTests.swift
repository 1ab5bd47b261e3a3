import Foundation
@testable import Reweighting
import TestSupport
import XCTest

/// Event files TensorBoard reads: the writer's bytes equal a committed file that
/// tools/fixtures/check_tensorboard_events.py read with the `tensorboard` package, and the
/// values it read there are the ones written.
final class TensorBoardTests: XCTestCase {
    /// The standard CRC-32C check value.
    func testCRC32COfTheCheckString() {
        XCTAssertEqual(CRC32C.checksum(Data("123456789".utf8)), 0xE306_9283)
    }

    static let scalars: [(step: Int, values: [String: Double])] = [
        (1, ["lower_loss": 0.25, "lr": 5e-7, "weight/alpha": 1.0]),
        (2, ["lower_loss": 0.125, "lr": 5e-7, "weight/alpha": 0.875, "meta_loss": 0.5, "hypergradient_norm": 0.003]),
        (3, ["lower_loss": 0.0625, "lr": 2.5e-7, "weight/alpha": 0.75, "saturated_fraction": 0]),
    ]

    func testEventFileMatchesWhatTensorBoardRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try TensorBoardWriter(directory: dir, wallTime: 1_700_000_000)
        for (k, s) in Self.scalars.enumerated() { try writer.add(step: s.step, scalars: s.values, wallTime: 1_700_000_000 + Double(k + 1)) }
        let bytes = try Data(contentsOf: writer.url)
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tensorboard")
        let fixture = fixtures.appendingPathComponent("events.out.tfevents.0.fixture")
        if ProcessInfo.processInfo.environment["DREAMPRM_WRITE_FIXTURES"] == "1" { try bytes.write(to: fixture) }
        XCTAssertEqual(bytes, try Data(contentsOf: fixture), "the writer's bytes are the file TensorBoard read")

        let read = try JSONDecoder().decode([String: [[Double]]].self, from: Data(contentsOf: fixtures.appendingPathComponent("tensorboard_read.json")))
        var written: [String: [[Double]]] = [:]
        for s in Self.scalars { for (tag, v) in s.values { written[tag, default: []].append([Double(s.step), Double(Float(v))]) } }
        XCTAssertEqual(read, written)
    }
}
