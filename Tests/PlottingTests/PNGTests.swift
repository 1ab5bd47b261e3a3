@testable import Plotting
import XCTest

final class PNGTests: XCTestCase {
    /// The check values published with the algorithms.
    func testChecksumsMatchTheirStandardCheckValues() {
        XCTAssertEqual(PNG.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(PNG.adler32(Array("Wikipedia".utf8)), 0x11E6_0398)
    }

    func testFileStructure() {
        var canvas = Canvas(width: 40, height: 30)
        canvas.fill(x: 5, y: 5, width: 10, height: 10, .palette[0])
        canvas.text("Ag 1.5", x: 2, y: 12)
        let data = [UInt8](canvas.png())
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(data[12..<16]), Array("IHDR".utf8))
        XCTAssertEqual(Array(data[16..<24]), [0, 0, 0, 40, 0, 0, 0, 30])
        XCTAssertEqual(Array(data.suffix(8).prefix(4)), Array("IEND".utf8))
        // a flat image compresses to a small fraction of its 3.6 kB of pixels
        XCTAssertLessThan(Canvas(width: 40, height: 30).png().count, 200)
    }

    func testTextIsDrawnWhereAsked() {
        var canvas = Canvas(width: 60, height: 20)
        canvas.text("W", x: 10, y: 0)
        let inked = (0..<20).flatMap { y in (0..<60).map { (x: $0, y: y) } }.filter { canvas.pixel($0.x, $0.y) != .white }
        XCTAssertFalse(inked.isEmpty)
        XCTAssertTrue(inked.allSatisfy { $0.x >= 10 && $0.x < 10 + 16 }, "glyph strays outside its advance")
    }
}
