import Foundation
import Imaging
import Models
import TestSupport
import Torch
import XCTest

/// Our InternVL against transformers on a tiny random checkpoint (tools/fixtures/make_vlm_fixtures.py):
/// tiles, vision features and logits for one image and for a left-padded batch with two images
/// of different shapes in one row; the transformers layout and the remote-code one (fused qkv).
final class InternVLTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private var directory: URL { fixtureURL("tiny-internvl", bundle: .module) }
    private func reference() throws -> SafeTensorsFile { try SafeTensorsFile(directory.appendingPathComponent("reference.safetensors")) }
    private let imageToken = 706  // <IMG_CONTEXT> in the fixture tokenizer

    func testProcessorGivesTheReferenceTiles() throws {
        let ref = try reference()
        let processor = try ConfigFile.decode(InternVLImageProcessor.self, from: directory.appendingPathComponent("preprocessor_config.json"))
        for (batch, files) in [("single", ["a.jpg"]), ("batch", ["a.jpg", "b.png", "b.png"])] {
            let outputs = try files.map { try processor(ImageFile.read(directory.appendingPathComponent($0))) }
            try assertClose(ref.tensor("\(batch).pixel_values"), outputs.flatMap(\.values).map(Double.init), rtol: 0, atol: 0, "\(batch) tiles")
            XCTAssertEqual(outputs.map { $0.shape[0] }, try ref.tensor("\(batch).tiles").toArray(Int64.self).map(Int.init))
        }
    }

    private func check(_ model: InternVLModel, layout: String) throws {
        let ref = try reference()
        for batch in ["single", "batch"] {
            let ids = try ref.tensor("\(batch).input_ids"), mask = try ref.tensor("\(batch).attention_mask"), tiles = try ref.tensor("\(batch).pixel_values")
            try Autograd.noGrad {
                try assertClose(model.imageFeatures(tiles), ref.tensor("\(batch).image_features"), rtol: 1e-4, atol: 1e-4, "\(layout) \(batch) features")
                let got = try model(ids: ids, attentionMask: mask, tiles: tiles), want = try ref.tensor("\(batch).logits")
                XCTAssertEqual(got.shape, want.shape)
                let real = try mask.toArray(Int64.self), g = try got.doubles(), w = try want.doubles(), v = want.size(2)
                for (i, flag) in real.enumerated() where flag == 1 {
                    assertClose(Array(g[(i * v)..<((i + 1) * v)]), Array(w[(i * v)..<((i + 1) * v)]), rtol: 1e-4, atol: 1e-4,
                                "\(layout) \(batch) logits at flat position \(i)")
                }
            }
        }
    }

    func testLayoutSavedByTransformers5MatchesTransformers() throws {
        try check(ModelLoader.loadInternVL(directory, imageTokenId: imageToken), layout: "transformers 5 save")
    }

    func testRemoteCodeLayoutMatchesTransformers() throws {
        try check(ModelLoader.loadInternVL(fixtureURL("tiny-internvl-original", bundle: .module), imageTokenId: imageToken), layout: "remote code")
    }

    /// The layout of the InternVL3 `-hf` checkpoints (`model.vision_tower.*`, `model.language_model.*`,
    /// `lm_head.*`), made from the saved one by transformers' own renaming rules for this family.
    func testHubLayoutMatchesTransformers() throws {
        let saved = try SafeTensorsFile(directory.appendingPathComponent("model.safetensors"))
        var renamed: [String: Tensor] = [:]
        for name in saved.names {
            let key = name.hasPrefix("language_model.lm_head") ? String(name.dropFirst("language_model.".count))
                : name.hasPrefix("language_model.model.") ? "model.language_model." + name.dropFirst("language_model.model.".count)
                : "model." + name
            renamed[key] = try saved.tensor(name)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("internvl-hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: directory.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        try SafeTensors.write(renamed, to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertTrue(renamed.keys.contains("model.vision_tower.embeddings.cls_token") && renamed.keys.contains("lm_head.weight"))
        try check(ModelLoader.loadInternVL(dir, imageTokenId: imageToken), layout: "hub")
    }
}
