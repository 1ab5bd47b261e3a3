import Foundation
import Imaging
import Models
import Tokenizers
import Torch

/// A Qwen2-VL directory ready for prompts with images: weights, tokenizer, chat template and
/// image processor (its preprocessor_config.json, or Qwen2-VL's defaults without one).
public final class Qwen2VLBackbone {
    public let model: Qwen2VLModel
    public let tokenizer: BPETokenizer
    public let chatTemplate: ChatTemplate
    public let processor: Qwen2VLImageProcessor

    init(model: Qwen2VLModel, tokenizer: BPETokenizer, chatTemplate: ChatTemplate, processor: Qwen2VLImageProcessor) {
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.processor = processor
    }

    /// Where Qwen2-VL's chat template puts an image of the user turn: before its text.
    public static let imagePlaceholder = "<|vision_start|><|image_pad|><|vision_end|>"
    static let imagePad = "<|image_pad|>"

    public static func load(_ dir: URL, dtype: DType = .float32) throws -> Qwen2VLBackbone {
        let model = try ModelLoader.loadQwen2VL(dir, dtype: dtype)
        let (tokenizer, template) = try ModelLoader.loadTokenizer(dir)
        guard tokenizer.encode(imagePad) == [model.config.imageTokenId] else {
            throw ConfigError(source: dir.appendingPathComponent("tokenizer.json").path,
                              message: "does not encode \(imagePad) as the config's image_token_id \(model.config.imageTokenId)")
        }
        let preprocessor = dir.appendingPathComponent("preprocessor_config.json")
        let processor = FileManager.default.fileExists(atPath: preprocessor.path)
            ? try ConfigFile.decode(Qwen2VLImageProcessor.self, from: preprocessor) : Qwen2VLImageProcessor()
        return Qwen2VLBackbone(model: model, tokenizer: tokenizer, chatTemplate: template ?? .qwen2, processor: processor)
    }

    /// A user turn holding `images` then `text`, with the generation prompt, as the chat template renders it.
    public func userPrompt(_ text: String, imageCount: Int) -> String {
        chatTemplate.render([.user(String(repeating: Self.imagePlaceholder, count: imageCount) + text)], addGenerationPrompt: true)
    }

    /// Token ids of `text` with its k-th image pad repeated as often as image k has merged
    /// patches, and the images' patches in that order.
    public func encode(_ text: String, images: [RGBImage]) throws -> (ids: [Int], images: ImagePatches?) {
        let pieces = text.components(separatedBy: Self.imagePad)
        guard pieces.count - 1 == images.count else {
            throw ConfigError(source: "prompt", message: "\(pieces.count - 1) image placeholders for \(images.count) images")
        }
        guard !images.isEmpty else { return (tokenizer.encode(text), nil) }
        let processed = try images.map { try processor($0) }
        let merge = processor.mergeSize * processor.mergeSize
        let values = processed.flatMap(\.pixels.values)
        let patches = try Tensor(values, shape: [values.count / processed[0].pixels.shape[1], processed[0].pixels.shape[1]])
        return (try expandImages(text, tokens: processed.map { $0.grid.t * $0.grid.h * $0.grid.w / merge }),
                ImagePatches(patches: patches, grids: processed.map(\.grid)))
    }
}
