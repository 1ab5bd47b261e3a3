import Foundation
import Imaging
import Models
@testable import PRM
import TestSupport
import XCTest

/// An InternVL directory as transformers 5 saves it: the chat template in `chat_template.jinja`
/// (or a processor's `chat_template.json`), not in tokenizer_config.json, and published `-hf`
/// processor configs with `"crop_to_patches": false`, which transformers' InternVL processor
/// overrides at call time.
final class TransformersFiveDirectoryTests: XCTestCase {
    private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../ModelsTests/Fixtures/tiny-internvl").standardized
    private var dir: URL!

    /// The template InternVL3's `-hf` checkpoints ship: ChatML with no system turn of its own.
    private let hfTemplate = """
        {% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'}}{% if message['content'] is string %}{{ message['content'] }}\
        {% else %}{% for content in message['content'] %}{% if content['type'] == 'image' %}{{ '<image>\\n' }}{% elif content['type'] == 'text' %}\
        {{ content['text'] }}{% endif %}{% endfor %}{% endif %}{{'<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{'<|im_start|>assistant\\n' }}{% endif %}
        """

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf5-internvl-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: fixture, to: dir)
        // transformers 5 keeps no template in tokenizer_config.json, and -hf configs say false.
        try edit("tokenizer_config.json") { $0.removeValue(forKey: "chat_template") }
        try edit("preprocessor_config.json") { $0["crop_to_patches"] = false }
    }

    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    private func edit(_ name: String, _ change: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent(name)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        change(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    func testTheTemplateComesFromChatTemplateJinjaThenJSON() throws {
        try hfTemplate.write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        let expected = "<|im_start|>user\n<image>\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n"
        XCTAssertEqual(try InternVLBackbone.load(dir).userPrompt("What is 2 + 3?", imageCount: 1), expected,
                       "the file's template (no system turn), not the remote code's with its Chinese system prompt")

        try FileManager.default.removeItem(at: dir.appendingPathComponent("chat_template.jinja"))
        try JSONSerialization.data(withJSONObject: ["chat_template": hfTemplate]).write(to: dir.appendingPathComponent("chat_template.json"))
        XCTAssertEqual(try InternVLBackbone.load(dir).userPrompt("What is 2 + 3?", imageCount: 1), expected)

        try "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"
            .write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try InternVLBackbone.load(dir)) {
            XCTAssertEqual(($0 as? ConfigError)?.source.hasSuffix("chat_template.jinja"), true, "\($0)")
        }
    }

    /// Tiles plus a thumbnail, as with `"crop_to_patches": true`: the same pixels as the
    /// fixture directory (whose config says true, and whose tiles ModelsTests checks against transformers).
    func testInternVLTilesWhateverTheConfigSays() throws {
        try hfTemplate.write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        // Wide, so that the grid is more than one tile.
        let image = try ImageFile.read(fixture.appendingPathComponent("a.jpg")).resized(width: 168, height: 56, filter: .bicubic)
        let saidFalse = try InternVLBackbone.load(dir).processor(image), saidTrue = try InternVLBackbone.load(fixture).processor(image)
        XCTAssertGreaterThan(saidFalse.shape[0], 1)
        XCTAssertEqual(saidFalse.shape, saidTrue.shape)
        XCTAssertEqual(saidFalse.values, saidTrue.values)
    }
}
