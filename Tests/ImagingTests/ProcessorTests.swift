import Foundation
import Imaging
import XCTest

/// Resizing and the vision processors against transformers' PIL-backend processors and
/// Pillow (tools/fixtures/make_processor_fixtures.py), on JPEG and PNG files of several sizes
/// and aspect ratios: resized bytes and pixel values bit for bit.
final class ProcessorTests: XCTestCase {
    private struct Case: Decodable {
        struct Settings: Decodable {
            let min_pixels: Int?, max_pixels: Int?, tile: Int?, max_tiles: Int?
        }
        let `case`: String, kind: String, image: String
        let width: Int?, height: Int?, filter: String?, longest: Int?
        let shape: [Int]?, grid: [Int]?, tiles: Int?, settings: Settings?
        let tile_sums: [Double]?, tile_square_sums: [Double]?, first_values: [Double]?
    }

    private let fixtures = Bundle.module.url(forResource: "ProcessorFixtures", withExtension: nil)!

    private func cases(_ kind: String) throws -> [Case] {
        struct Manifest: Decodable { let cases: [Case] }
        let all = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: fixtures.appendingPathComponent("manifest.json"))).cases
        return all.filter { $0.kind == kind }
    }

    private func image(_ c: Case) throws -> RGBImage { try ImageFile.read(fixtures.appendingPathComponent(c.image)) }

    private func floats(_ c: Case) throws -> [Float] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(c.case + ".f32"))
        return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.load(fromByteOffset: $0 * 4, as: UInt32.self))) } }
    }

    private func assertBytes(_ got: RGBImage, _ c: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent(c.case + ".rgb")))
        XCTAssertEqual([got.width, got.height], [c.width!, c.height!], c.case, file: file, line: line)
        let differing = zip(got.pixels, expected).filter { $0 != $1 }.count
        XCTAssertEqual(differing, 0, "\(c.case): \(differing) of \(expected.count) bytes differ", file: file, line: line)
    }

    private func assertClose(_ got: ProcessedPixels, _ c: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try floats(c)
        XCTAssertEqual(got.shape, c.shape, c.case, file: file, line: line)
        let worst = zip(got.values, expected).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertEqual(worst, 0, c.case, file: file, line: line)
    }

    func testResizeMatchesPillowForEachFilter() throws {
        let filters: [String: ResamplingFilter] = ["bilinear": .bilinear, "bicubic": .bicubic, "lanczos": .lanczos]
        let all = try cases("resize")
        XCTAssertEqual(all.count, 12)
        for c in all {
            try assertBytes(image(c).resized(width: c.width!, height: c.height!, filter: filters[c.filter!]!), c)
        }
    }

    func testLongestSideLimitIsTheReferencePolicy() throws {
        let c = try XCTUnwrap(cases("limit").first)
        let source = try image(c)
        try assertBytes(source.limitingLongestSide(to: c.longest!), c)
        XCTAssertEqual(source.limitingLongestSide(to: 4096), source, "smaller images are kept")
    }

    func testQwen2VLPixelValuesAndGrids() throws {
        let all = try cases("qwen2vl")
        XCTAssertEqual(all.count, 6)
        for c in all {
            var processor = Qwen2VLImageProcessor()
            if let m = c.settings?.min_pixels { processor.minPixels = m }
            if let m = c.settings?.max_pixels { processor.maxPixels = m }
            let out = try processor(image(c))
            XCTAssertEqual([out.grid.t, out.grid.h, out.grid.w], c.grid, c.case)
            try assertClose(out.pixels, c)
        }
    }

    /// smart_resize's three branches with hand-worked values; Python's round is half to even.
    func testSmartResizeBranches() throws {
        func size(_ h: Int, _ w: Int, min: Int = 56 * 56, max: Int = 28 * 28 * 1280) throws -> [Int] {
            let s = try Qwen2VLImageProcessor.smartResize(height: h, width: w, factor: 28, minPixels: min, maxPixels: max)
            return [s.height, s.width]
        }
        XCTAssertEqual(try size(70, 98), [56, 112])      // 2.5 → 2 and 3.5 → 4: half to even
        XCTAssertEqual(try size(20, 20), [56, 56])       // grows to min_pixels: ceil(20·2.8/28) = 2
        XCTAssertEqual(try size(1000, 1000, max: 28 * 28 * 16), [112, 112])  // shrinks: floor(1000/(1000/112)/28)·28
        XCTAssertThrowsError(try size(10, 2500))
    }

    func testInternVLTilesMatchTransformers() throws {
        let all = try cases("internvl")
        XCTAssertEqual(all.count, 5)
        for c in all {
            var processor = InternVLImageProcessor(maxTiles: c.settings!.max_tiles!)
            processor.tileSize = c.settings!.tile!
            let out = processor(try image(c))
            XCTAssertEqual(out.shape[0], c.tiles, c.case)
            try assertClose(out, c)
        }
    }

    func testInternVLAt448PixelsMatchesTransformersChecksums() throws {
        let c = try XCTUnwrap(cases("internvl_summary").first)
        let out = InternVLImageProcessor(maxTiles: c.settings!.max_tiles!)(try image(c))
        XCTAssertEqual(out.shape, c.shape)
        let plane = 3 * 448 * 448
        for (t, (sum, squares)) in zip(c.tile_sums!, c.tile_square_sums!).enumerated() {
            let tile = out.values[(t * plane)..<((t + 1) * plane)].map(Double.init)
            XCTAssertEqual(tile.reduce(0, +), sum, accuracy: 1e-6 * Double(plane), "tile \(t)")
            XCTAssertEqual(tile.reduce(0) { $0 + $1 * $1 }, squares, accuracy: 1e-6 * squares, "tile \(t)")
        }
        for (got, want) in zip(out.values.prefix(64), c.first_values!) { XCTAssertEqual(Double(got), want, accuracy: 1e-6) }
    }

    /// The closest-aspect-ratio rule with its tie-break, worked by hand.
    func testTileGridChoice() {
        func grid(_ h: Int, _ w: Int, max: Int = 12) -> [Int] {
            let g = InternVLImageProcessor.tileGrid(height: h, width: w, tileSize: 448, minTiles: 1, maxTiles: max)
            return [g.columns, g.rows]
        }
        XCTAssertEqual(grid(448, 896), [2, 1])
        XCTAssertEqual(grid(300, 300), [1, 1])      // square, too small to fill 2×2 past half
        XCTAssertEqual(grid(700, 700), [2, 2])      // square, covers more than half of 2×2, not of 3×3
        XCTAssertEqual(grid(1000, 1000), [3, 3])    // and of 3×3 (4×4 is over 12 tiles)
        XCTAssertEqual(grid(100, 1000, max: 6), [6, 1])
    }
}
