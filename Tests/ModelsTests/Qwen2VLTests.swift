import Foundation
import Imaging
import Models
import TestSupport
import Torch
import XCTest

/// Our Qwen2-VL against transformers on a tiny random checkpoint (tools/fixtures/make_vlm_fixtures.py):
/// pixel values, M-RoPE positions, vision features and logits for one image and for a
/// left-padded batch with two images of different sizes in one row; both checkpoint layouts.
final class Qwen2VLTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private var directory: URL { fixtureURL("tiny-qwen2-vl", bundle: .module) }
    private func reference() throws -> SafeTensorsFile { try SafeTensorsFile(directory.appendingPathComponent("reference.safetensors")) }

    private func grids(_ t: Tensor) throws -> [(t: Int, h: Int, w: Int)] {
        let g = try t.toArray(Int64.self).map(Int.init)
        return stride(from: 0, to: g.count, by: 3).map { (g[$0], g[$0 + 1], g[$0 + 2]) }
    }

    /// Our processor on the same files gives the patches transformers' processor gave.
    func testProcessorGivesTheReferencePixelValues() throws {
        let ref = try reference()
        let processor = try JSONDecoder().decode(Qwen2VLImageProcessor.self, from: Data(contentsOf: directory.appendingPathComponent("preprocessor_config.json")))
        for (batch, files) in [("single", ["a.jpg"]), ("batch", ["a.jpg", "b.png", "b.png"])] {
            let outputs = try files.map { try processor(ImageFile.read(directory.appendingPathComponent($0))) }
            let values = outputs.flatMap(\.pixels.values).map(Double.init)
            try assertClose(ref.tensor("\(batch).pixel_values"), values, rtol: 0, atol: 0, "\(batch) pixel values")
            XCTAssertEqual(outputs.map { [$0.grid.t, $0.grid.h, $0.grid.w] }.flatMap { $0 }, try ref.tensor("\(batch).image_grid_thw").toArray(Int64.self).map(Int.init))
        }
    }

    private func check(_ model: Qwen2VLModel, layout: String) throws {
        let ref = try reference()
        for batch in ["single", "batch"] {
            let ids = try ref.tensor("\(batch).input_ids"), mask = try ref.tensor("\(batch).attention_mask")
            let images = ImagePatches(patches: try ref.tensor("\(batch).pixel_values"), grids: try grids(ref.tensor("\(batch).image_grid_thw")))
            try Autograd.noGrad {
                let (positions, _) = try model.ropePositions(ids: ids, attentionMask: mask, grids: images.grids)
                XCTAssertEqual(try positions.toArray(Int64.self), try ref.tensor("\(batch).positions").toArray(Int64.self), "\(layout) \(batch) M-RoPE positions")
                try assertClose(model.vision(images.patches, grids: images.grids), ref.tensor("\(batch).image_features"),
                                rtol: 1e-4, atol: 1e-4, "\(layout) \(batch) vision features")
                let got = try model(ids: ids, attentionMask: mask, images: images), want = try ref.tensor("\(batch).logits")
                XCTAssertEqual(got.shape, want.shape)
                let real = try mask.toArray(Int64.self), g = try got.doubles(), w = try want.doubles(), v = want.size(2)
                for (i, flag) in real.enumerated() where flag == 1 {
                    assertClose(Array(g[(i * v)..<((i + 1) * v)]), Array(w[(i * v)..<((i + 1) * v)]), rtol: 1e-4, atol: 1e-4,
                                "\(layout) \(batch) logits at flat position \(i)")
                }
            }
        }
    }

    func testTransformers5LayoutMatchesTransformers() throws {
        try check(ModelLoader.loadQwen2VL(directory), layout: "transformers 5")
    }

    func testOriginalShardedLayoutMatchesTransformers() throws {
        try check(ModelLoader.loadQwen2VL(fixtureURL("tiny-qwen2-vl-legacy", bundle: .module)), layout: "original")
    }

    /// A field of the wrong type or a missing one is an error naming the file and the field, not a default.
    func testConfigErrorsNameTheFileAndField() throws {
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as! [String: Any]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qwen2vl-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func message(_ edit: (inout [String: Any]) -> Void) throws -> String {
            var json = original
            edit(&json)
            let url = dir.appendingPathComponent("config.json")
            try JSONSerialization.data(withJSONObject: json).write(to: url)
            do {
                _ = try ConfigFile.decode(Qwen2VLConfig.self, from: url)
                return "no error"
            } catch { return "\(error)" }
        }
        let wrongType = try message { json in
            var vision = json["vision_config"] as! [String: Any]
            vision["depth"] = "two"
            json["vision_config"] = vision
        }
        XCTAssertTrue(wrongType.contains(dir.path) && wrongType.contains("'vision_config.depth' is not an integer"), wrongType)
        let missing = try message { json in
            var text = json["text_config"] as! [String: Any]
            text.removeValue(forKey: "hidden_size")
            json["text_config"] = text
        }
        XCTAssertTrue(missing.contains("'text_config.hidden_size' is missing"), missing)
        let unsupported = try message { json in
            var text = json["text_config"] as! [String: Any]
            text["model_type"] = "mamba"
            json["text_config"] = text
        }
        XCTAssertTrue(unsupported.contains("'text_config.model_type'") && unsupported.contains("'mamba' is not supported"), unsupported)
    }
}
