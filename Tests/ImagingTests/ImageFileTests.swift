import Foundation
import Imaging
import XCTest

/// Decoding against Pillow (tools/fixtures/make_image_fixtures.py): every image of the
/// manifest gives the RGB bytes transformers' `load_image` gets (or, for the hand-written PNGs,
/// the analytic pixels), and every damaged file an error naming it.
final class ImageFileTests: XCTestCase {
    private struct Manifest: Decodable {
        struct Entry: Decodable { let file: String, width: Int, height: Int }
        let images: [Entry]
        let damaged: [String]
    }

    private let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    private func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: fixtures.appendingPathComponent("manifest.json")))
    }

    func testEveryImageDecodesToThePixelsPillowGives() throws {
        let entries = try manifest().images
        XCTAssertEqual(entries.count, 27)
        for entry in entries {
            let image = try ImageFile.read(fixtures.appendingPathComponent(entry.file))
            let expected = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent(entry.file + ".rgb")))
            XCTAssertEqual([image.width, image.height], [entry.width, entry.height], entry.file)
            let differing = zip(image.pixels, expected).filter { $0 != $1 }.count
            XCTAssertEqual(image.pixels.count, expected.count, entry.file)
            XCTAssertEqual(differing, 0, "\(entry.file): \(differing) of \(expected.count) bytes differ")
        }
    }

    /// The eight orientations of one picture are its eight symmetries: all different, and
    /// orientation 6 of a 7 x 4 image is 4 x 7.
    func testOrientationsTurnTheImage() throws {
        let images = try (1...8).map { try ImageFile.read(fixtures.appendingPathComponent("orientation_\($0).png")) }
        XCTAssertEqual(Set(images.map(\.pixels)).count, 8)
        XCTAssertEqual(images.map(\.width), [7, 7, 7, 7, 4, 4, 4, 4])
    }

    func testDamagedFilesAreErrorsNamingTheFile() throws {
        let expected = ["corrupt.png": "not a readable PNG", "empty.jpg": "is empty", "huge.png": "too large: 100000 x 100000",
                        "not_an_image.png": "neither a JPEG nor a PNG", "truncated.jpg": "not a readable JPEG",
                        "truncated.png": "truncated"]
        XCTAssertEqual(try manifest().damaged, expected.keys.sorted())
        for (name, words) in expected {
            let url = fixtures.appendingPathComponent(name)
            XCTAssertThrowsError(try ImageFile.read(url), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(url.path), "\(error)")
                XCTAssertTrue("\(error)".contains(words), "\(name): \(error)")
            }
        }
        let missing = fixtures.appendingPathComponent("missing.png")
        XCTAssertThrowsError(try ImageFile.read(missing)) { XCTAssertEqual("\($0)", "\(missing.path): no such image file") }
    }

    func testAPixelLimitRefusesLargerImages() throws {
        let url = fixtures.appendingPathComponent("rgb.png")  // 45 x 31
        XCTAssertNoThrow(try ImageFile.read(url, maxPixels: 45 * 31))
        XCTAssertThrowsError(try ImageFile.read(url, maxPixels: 45 * 31 - 1)) {
            XCTAssertTrue("\($0)".contains("45 x 31 = 1395 pixels, more than the limit of 1394"), "\($0)")
        }
    }
}
