import Foundation
import Imaging
import Models
import Tokenizers
import Torch

/// A vision-language model ready for prompts with images: its decoder, tokenizer and chat
/// template, and how a prompt's images enter the decoder.
public protocol VisionLanguageBackbone {
    var language: CausalLM { get }
    var tokenizer: BPETokenizer { get }
    /// A user turn holding `imageCount` images then `text`, with the generation prompt, as the
    /// model's chat template places them.
    func userPrompt(_ text: String, imageCount: Int) -> String
    /// Token ids of `text` with each image placeholder expanded to the image's tokens, and the
    /// prefill that puts the images' features on them (nil without images).
    func prepare(_ text: String, images: [RGBImage]) throws -> (ids: [Int], prefill: TextGenerator.Prefill?)
    /// Moves the whole model (vision tower included).
    func to(_ device: Device) throws
}

public enum VisionLanguageBackbones {
    /// The backbone of a Hugging Face directory whose `model_type` is a vision-language one.
    public static func load(_ dir: URL, dtype: DType = .float32) throws -> VisionLanguageBackbone {
        switch try ModelLoader.modelType(of: dir) {
        case "qwen2_vl": return try Qwen2VLBackbone.load(dir, dtype: dtype)
        case "internvl", "internvl_chat": return try InternVLBackbone.load(dir, dtype: dtype)
        case let other: throw ConfigError(source: dir.appendingPathComponent("config.json").path, message: "model_type '\(other)' is not a vision-language model")
        }
    }
}

extension Qwen2VLBackbone: VisionLanguageBackbone {
    public var language: CausalLM { model.language }

    public func prepare(_ text: String, images: [RGBImage]) throws -> (ids: [Int], prefill: TextGenerator.Prefill?) {
        let (ids, patches) = try encode(text, images: images)
        guard let patches else { return (ids, nil) }
        let model = self.model
        return (ids, { ids, mask, cache in
            let (hidden, shifts) = try model.hiddenStates(ids: ids, attentionMask: mask, images: patches, cache: cache)
            return (try model.language.logits(hidden), shifts)
        })
    }

    public func to(_ device: Device) throws { try model.to(device) }
}

/// An InternVL directory ready for prompts with images: weights, tokenizer, chat template and
/// tiling processor (its preprocessor_config.json, or InternVL's 448-px, 12-tile defaults).
public struct InternVLBackbone: VisionLanguageBackbone {
    public let model: InternVLModel
    public let tokenizer: BPETokenizer
    public let chatTemplate: ChatTemplate
    public let processor: InternVLImageProcessor

    /// How InternVL's chat puts an image in a user turn, and what each image becomes.
    public static let imagePlaceholder = "<image>\n"
    static let marker = "<image>", start = "<img>", context = "<IMG_CONTEXT>", end = "</img>"

    public var language: CausalLM { model.language }

    public static func load(_ dir: URL, dtype: DType = .float32) throws -> InternVLBackbone {
        let (tokenizer, template) = try ModelLoader.loadTokenizer(dir)
        let contextIDs = tokenizer.encode(context)
        guard contextIDs.count == 1 else {
            throw ConfigError(source: dir.appendingPathComponent("tokenizer.json").path, message: "has no single token for \(context)")
        }
        let model = try ModelLoader.loadInternVL(dir, imageTokenId: contextIDs[0], dtype: dtype)
        let preprocessor = dir.appendingPathComponent("preprocessor_config.json")
        let processor = FileManager.default.fileExists(atPath: preprocessor.path)
            ? try ConfigFile.decode(InternVLImageProcessor.self, from: preprocessor) : InternVLImageProcessor()
        guard processor.tileSize == model.config.vision.imageSize else {
            throw ConfigError(source: preprocessor.path, message: "tiles of \(processor.tileSize) px, but the vision tower takes \(model.config.vision.imageSize) px")
        }
        return InternVLBackbone(model: model, tokenizer: tokenizer, chatTemplate: template ?? .internVL3, processor: processor)
    }

    public func userPrompt(_ text: String, imageCount: Int) -> String {
        chatTemplate.render([.user(String(repeating: Self.imagePlaceholder, count: imageCount) + text)], addGenerationPrompt: true)
    }

    public func prepare(_ text: String, images: [RGBImage]) throws -> (ids: [Int], prefill: TextGenerator.Prefill?) {
        let pieces = text.components(separatedBy: Self.marker)
        guard pieces.count - 1 == images.count else {
            throw ConfigError(source: "prompt", message: "\(pieces.count - 1) \(Self.marker) placeholders for \(images.count) images")
        }
        guard !images.isEmpty else { return (tokenizer.encode(text), nil) }
        let tiles = images.map { processor($0) }
        var expanded = pieces[0]
        for (piece, image) in zip(pieces.dropFirst(), tiles) {
            expanded += Self.start + String(repeating: Self.context, count: image.shape[0] * model.config.tokensPerTile) + Self.end + piece
        }
        let values = tiles.flatMap(\.values), side = processor.tileSize
        let pixels = try Tensor(values, shape: [values.count / (3 * side * side), 3, side, side])
        let model = self.model
        return (tokenizer.encode(expanded), { ids, mask, cache in
            (try model.language.logits(model.hiddenStates(ids: ids, attentionMask: mask, tiles: pixels, cache: cache)),
             [Int](repeating: 0, count: ids.size(0)))
        })
    }

    public func to(_ device: Device) throws { try model.to(device) }
}
