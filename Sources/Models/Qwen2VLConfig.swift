import Foundation

/// Qwen2-VL's vision tower: `vision_config` of a Qwen2-VL `config.json` (transformers 5 and the
/// original Qwen2-VL-2B-Instruct spellings).
public struct Qwen2VLVisionConfig: Decodable, Equatable, Sendable {
    public var depth: Int
    public var embedDim: Int
    /// Width of the merged features: the language model's hidden size.
    public var hiddenSize: Int
    public var headCount: Int
    public var mlpRatio: Double
    public var inChannels: Int
    public var patchSize: Int
    public var spatialMergeSize: Int
    public var temporalPatchSize: Int
    public var ropeTheta: Double

    public var headDim: Int { embedDim / headCount }

    enum CodingKeys: String, CodingKey {
        case depth, embedDim = "embed_dim", hiddenSize = "hidden_size", numHeads = "num_heads", mlpRatio = "mlp_ratio"
        case inChannels = "in_channels", inChans = "in_chans", patchSize = "patch_size", spatialPatchSize = "spatial_patch_size"
        case spatialMergeSize = "spatial_merge_size", temporalPatchSize = "temporal_patch_size", hiddenAct = "hidden_act"
        case ropeParameters = "rope_parameters"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        depth = try c.decode(Int.self, forKey: .depth)
        embedDim = try c.decode(Int.self, forKey: .embedDim)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        headCount = try c.decode(Int.self, forKey: .numHeads)
        mlpRatio = try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? 4
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? c.decodeIfPresent(Int.self, forKey: .inChans) ?? 3
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? c.decodeIfPresent(Int.self, forKey: .spatialPatchSize) ?? 14
        spatialMergeSize = try c.decodeIfPresent(Int.self, forKey: .spatialMergeSize) ?? 2
        temporalPatchSize = try c.decodeIfPresent(Int.self, forKey: .temporalPatchSize) ?? 2
        ropeTheta = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)?.theta ?? 10000
        let act = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "quick_gelu"
        guard act == "quick_gelu" else {
            throw DecodingError.dataCorruptedError(forKey: .hiddenAct, in: c, debugDescription: "'\(act)' is not supported (quick_gelu)")
        }
        guard embedDim % headCount == 0, (embedDim / headCount) % 4 == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .embedDim, in: c, debugDescription:
                "\(embedDim) / \(headCount) heads must be a multiple of 4 (2-D rotary over height and width)")
        }
    }
}

/// A Qwen2-VL `config.json`: the decoder (nested `text_config`, or flat in the original
/// checkpoints), the vision tower and the vision token ids.
public struct Qwen2VLConfig: Decodable, Equatable, Sendable {
    public var text: DecoderConfig
    public var vision: Qwen2VLVisionConfig
    public var imageTokenId: Int
    public var visionStartTokenId: Int
    public var visionEndTokenId: Int

    enum CodingKeys: String, CodingKey {
        case textConfig = "text_config", visionConfig = "vision_config", imageTokenId = "image_token_id"
        case visionStartTokenId = "vision_start_token_id", visionEndTokenId = "vision_end_token_id"
        case tieWordEmbeddings = "tie_word_embeddings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decodeIfPresent(DecoderConfig.self, forKey: .textConfig) ?? DecoderConfig(from: decoder)
        // The top level decides tying (transformers 5 writes it there, not in text_config).
        text.tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? text.tieWordEmbeddings
        guard text.mropeSection != nil else {
            throw DecodingError.keyNotFound(RopeParameters.CodingKeys.mropeSection, .init(codingPath: [CodingKeys.textConfig], debugDescription: ""))
        }
        vision = try c.decode(Qwen2VLVisionConfig.self, forKey: .visionConfig)
        imageTokenId = try c.decode(Int.self, forKey: .imageTokenId)
        visionStartTokenId = try c.decode(Int.self, forKey: .visionStartTokenId)
        visionEndTokenId = try c.decode(Int.self, forKey: .visionEndTokenId)
        guard vision.hiddenSize == text.hiddenSize else {
            throw DecodingError.dataCorruptedError(forKey: .visionConfig, in: c, debugDescription:
                "vision hidden_size \(vision.hiddenSize) differs from the decoder's \(text.hiddenSize)")
        }
    }
}
