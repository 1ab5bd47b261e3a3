import Foundation
import Imaging
import Models
import Tokenizers
import Torch

/// A vision-language model ready for prompts with images: its decoder, tokenizer and chat
/// template, and how a prompt's images enter the decoder.
public protocol VisionLanguageBackbone: AnyObject {
    var language: CausalLM { get }
    var tokenizer: BPETokenizer { get }
    var chatTemplate: ChatTemplate { get }
    /// What stands for one image in a user turn's text, before the chat template renders it.
    var imagePlaceholder: String { get }
    /// The vocabulary id of the tokens an image's features replace.
    var imageTokenId: Int { get }
    /// A user turn holding `imageCount` images then `text`, with the generation prompt, as the
    /// model's chat template places them.
    func userPrompt(_ text: String, imageCount: Int) -> String
    /// Token ids of `text` with each image placeholder expanded to the image's tokens, and the
    /// prefill that puts the images' features on them (nil without images).
    func prepare(_ text: String, images: [RGBImage]) throws -> (ids: [Int], prefill: TextGenerator.Prefill?)
    /// Moves the whole model (vision tower included), converting it to `dtype` where given.
    func to(_ device: Device, dtype: DType?) throws

    // What a PRM needs to put images into token sequences of its own (PromptImages).
    /// How many image tokens `image` becomes, and on which grid.
    func imageLayout(_ image: RGBImage) throws -> ImageLayout
    /// The decoder features [tokens, H] of `image`, as the vision tower and projector give them.
    func imageFeatures(_ image: RGBImage) throws -> Tensor
    /// Token ids of `text` with its k-th image placeholder expanded to `tokens[k]` image tokens.
    func expandImages(_ text: String, tokens: [Int]) throws -> [Int]
    /// M-RoPE positions (t, h, w rows) of one sequence whose images have `layouts`; nil where
    /// the decoder's positions are the ordinary 1-D ones.
    func ropePositions(_ ids: [Int], layouts: [ImageLayout]) throws -> [[Int]]?
}

/// What one image becomes in the decoder: its token count, and the processor's (t, h, w) patch
/// grid that M-RoPE lays the tokens on.
public struct ImageLayout: Equatable, Sendable {
    public let tokens: Int
    public let grid: [Int]
}

extension VisionLanguageBackbone {
    public func to(_ device: Device) throws { try to(device, dtype: nil) }
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
    public var imagePlaceholder: String { Self.imagePlaceholder }
    public var imageTokenId: Int { model.config.imageTokenId }

    public func imageLayout(_ image: RGBImage) throws -> ImageLayout {
        let grid = try processor(image).grid
        return ImageLayout(tokens: grid.t * grid.h * grid.w / (processor.mergeSize * processor.mergeSize), grid: [grid.t, grid.h, grid.w])
    }

    public func imageFeatures(_ image: RGBImage) throws -> Tensor {
        let processed = try processor(image)
        return try model.vision(Tensor(processed.pixels.values, shape: processed.pixels.shape).to(model.language.device), grids: [processed.grid])
    }

    public func expandImages(_ text: String, tokens: [Int]) throws -> [Int] {
        let pieces = text.components(separatedBy: Self.imagePad)
        guard pieces.count - 1 == tokens.count else {
            throw ConfigError(source: "prompt", message: "\(pieces.count - 1) image placeholders for \(tokens.count) images")
        }
        return tokenizer.encode(zip(pieces.dropFirst(), tokens).reduce(pieces[0]) { $0 + String(repeating: Self.imagePad, count: $1.1) + $1.0 })
    }

    public func ropePositions(_ ids: [Int], layouts: [ImageLayout]) throws -> [[Int]]? {
        let row = try Tensor(ids.map(Int64.init), shape: [1, ids.count])
        let positions = try model.ropePositions(ids: row, attentionMask: nil, grids: layouts.map { ($0.grid[0], $0.grid[1], $0.grid[2]) }).positions
        let flat = try positions.to(.cpu).toArray(Int64.self).map(Int.init)
        return (0..<3).map { Array(flat[($0 * ids.count)..<(($0 + 1) * ids.count)]) }
    }

    public func prepare(_ text: String, images: [RGBImage]) throws -> (ids: [Int], prefill: TextGenerator.Prefill?) {
        let (ids, patches) = try encode(text, images: images)
        guard let patches else { return (ids, nil) }
        let model = self.model
        return (ids, { ids, mask, cache in
            let (hidden, shifts) = try model.hiddenStates(ids: ids, attentionMask: mask, images: patches, cache: cache)
            return (try model.language.logits(hidden), shifts)
        })
    }

    public func to(_ device: Device, dtype: DType?) throws { try model.to(device, dtype: dtype) }
}

/// An InternVL directory ready for prompts with images: weights, tokenizer, chat template and
/// tiling processor (its preprocessor_config.json, or InternVL's 448-px, 12-tile defaults).
public final class InternVLBackbone: VisionLanguageBackbone {
    public let model: InternVLModel
    public let tokenizer: BPETokenizer
    public let chatTemplate: ChatTemplate
    /// The tiling processor; a run sets its `maxTiles` (`--max_patch_num`).
    public var processor: InternVLImageProcessor

    /// How InternVL's chat puts an image in a user turn, and what each image becomes.
    public static let imagePlaceholder = "<image>\n"
    static let marker = "<image>", start = "<img>", context = "<IMG_CONTEXT>", end = "</img>"

    public var language: CausalLM { model.language }
    public var imagePlaceholder: String { Self.imagePlaceholder }
    public var imageTokenId: Int { model.config.imageTokenId! }

    init(model: InternVLModel, tokenizer: BPETokenizer, chatTemplate: ChatTemplate, processor: InternVLImageProcessor) {
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.processor = processor
    }

    public static func load(_ dir: URL, dtype: DType = .float32) throws -> InternVLBackbone {
        let (tokenizer, template) = try ModelLoader.loadTokenizer(dir)
        let contextIDs = tokenizer.encode(context)
        guard contextIDs.count == 1 else {
            throw ConfigError(source: dir.appendingPathComponent("tokenizer.json").path, message: "has no single token for \(context)")
        }
        let model = try ModelLoader.loadInternVL(dir, imageTokenId: contextIDs[0], dtype: dtype)
        let preprocessor = dir.appendingPathComponent("preprocessor_config.json")
        var processor = FileManager.default.fileExists(atPath: preprocessor.path)
            ? try ConfigFile.decode(InternVLImageProcessor.self, from: preprocessor) : InternVLImageProcessor()
        // transformers' InternVL processor tiles whatever the file says (published -hf configs
        // say `"crop_to_patches": false` and the processor passes true at call time).
        processor.cropToTiles = true
        guard processor.tileSize == model.config.vision.imageSize else {
            throw ConfigError(source: preprocessor.path, message: "tiles of \(processor.tileSize) px, but the vision tower takes \(model.config.vision.imageSize) px")
        }
        // Without a template anywhere (the original remote-code layout keeps it in its code),
        // the remote code's conversation template.
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
        let values = tiles.flatMap(\.values), side = processor.tileSize
        let pixels = try Tensor(values, shape: [values.count / (3 * side * side), 3, side, side])
        let model = self.model
        return (try expandImages(text, tokens: tiles.map { $0.shape[0] * model.config.tokensPerTile }), { ids, mask, cache in
            (try model.language.logits(model.hiddenStates(ids: ids, attentionMask: mask, tiles: pixels, cache: cache)),
             [Int](repeating: 0, count: ids.size(0)))
        })
    }

    public func to(_ device: Device, dtype: DType?) throws { try model.to(device, dtype: dtype) }

    public func imageLayout(_ image: RGBImage) throws -> ImageLayout {
        let tiles = processor(image).shape[0]
        return ImageLayout(tokens: tiles * model.config.tokensPerTile, grid: [tiles])
    }

    public func imageFeatures(_ image: RGBImage) throws -> Tensor {
        let tiles = processor(image)
        return try model.imageFeatures(Tensor(tiles.values, shape: tiles.shape))
    }

    public func expandImages(_ text: String, tokens: [Int]) throws -> [Int] {
        let pieces = text.components(separatedBy: Self.marker)
        guard pieces.count - 1 == tokens.count else {
            throw ConfigError(source: "prompt", message: "\(pieces.count - 1) \(Self.marker) placeholders for \(tokens.count) images")
        }
        return tokenizer.encode(zip(pieces.dropFirst(), tokens).reduce(pieces[0]) {
            $0 + Self.start + String(repeating: Self.context, count: $1.1) + Self.end + $1.0
        })
    }

    public func ropePositions(_ ids: [Int], layouts: [ImageLayout]) throws -> [[Int]]? { nil }
}
