import Foundation

/// InternViT, InternVL's vision tower: `vision_config` in transformers' spelling or in the
/// original remote-code one (`qkv_bias`, `qk_normalization`, a single image and patch size).
public struct InternViTConfig: Decodable, Equatable, Sendable {
    public enum Norm: String, Decodable, Sendable { case layerNorm = "layer_norm", rmsNorm = "rms_norm" }

    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var attentionBias: Bool
    public var qkNorm: Bool
    public var norm: Norm
    public var normEps: Double
    public var imageSize: Int
    public var patchSize: Int
    /// transformers' `use_mean_pooling`: false adds a final LayerNorm (`layernorm`).
    public var finalNorm: Bool

    public var patchesPerSide: Int { imageSize / patchSize }

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", layerCount = "num_hidden_layers", headCount = "num_attention_heads"
        case intermediateSize = "intermediate_size", attentionBias = "attention_bias", qkvBias = "qkv_bias"
        case useQKNorm = "use_qk_norm", qkNormalization = "qk_normalization", normType = "norm_type", normEps = "layer_norm_eps"
        case imageSize = "image_size", patchSize = "patch_size", useMeanPooling = "use_mean_pooling", hiddenAct = "hidden_act"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        headCount = try c.decode(Int.self, forKey: .headCount)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? c.decodeIfPresent(Bool.self, forKey: .qkvBias) ?? false
        qkNorm = try c.decodeIfPresent(Bool.self, forKey: .useQKNorm) ?? c.decodeIfPresent(Bool.self, forKey: .qkNormalization) ?? false
        norm = try c.decodeIfPresent(Norm.self, forKey: .normType) ?? .layerNorm
        normEps = try c.decodeIfPresent(Double.self, forKey: .normEps) ?? 1e-6
        imageSize = try Self.square(c, .imageSize) ?? 448
        patchSize = try Self.square(c, .patchSize) ?? 14
        finalNorm = !(try c.decodeIfPresent(Bool.self, forKey: .useMeanPooling) ?? true)
        let act = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu"
        guard act == "gelu" else { throw DecodingError.dataCorruptedError(forKey: .hiddenAct, in: c, debugDescription: "'\(act)' is not supported (gelu)") }
        guard hiddenSize % headCount == 0, imageSize % patchSize == 0, patchesPerSide % 2 == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .imageSize, in: c, debugDescription:
                "image_size \(imageSize) must hold an even number of \(patchSize)-px patches per side and hidden_size split into heads")
        }
    }

    /// A size given as one integer or as [height, width] with both equal.
    private static func square(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Int? {
        guard c.contains(key) else { return nil }
        if let n = try? c.decode(Int.self, forKey: key) { return n }
        let pair = try c.decode([Int].self, forKey: key)
        guard pair.count == 2, pair[0] == pair[1] else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(pair) is not a square size")
        }
        return pair[0]
    }
}

/// An InternVL `config.json`: transformers' (`model_type` internvl, `text_config`) or OpenGVLab's
/// remote-code one (`internvl_chat`, `llm_config`).
public struct InternVLConfig: Decodable, Equatable, Sendable {
    public var text: DecoderConfig
    public var vision: InternViTConfig
    public var downsampleRatio: Double
    /// `<IMG_CONTEXT>`; the remote-code config leaves it to the tokenizer.
    public var imageTokenId: Int?

    /// Language-model tokens per tile: the patch grid shrunk by the pixel shuffle.
    public var tokensPerTile: Int {
        let side = Int(Double(vision.patchesPerSide) * downsampleRatio)
        return side * side
    }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", textConfig = "text_config", llmConfig = "llm_config", visionConfig = "vision_config"
        case downsampleRatio = "downsample_ratio", imageTokenId = "image_token_id", tieWordEmbeddings = "tie_word_embeddings"
        case featureLayer = "vision_feature_layer", selectLayer = "select_layer", selectStrategy = "vision_feature_select_strategy"
        case projectorAct = "projector_hidden_act", psVersion = "ps_version"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let original = try c.decode(String.self, forKey: .modelType) == "internvl_chat"
        text = try c.decode(DecoderConfig.self, forKey: original ? .llmConfig : .textConfig)
        if !original { text.tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? text.tieWordEmbeddings }
        vision = try c.decode(InternViTConfig.self, forKey: .visionConfig)
        downsampleRatio = try c.decodeIfPresent(Double.self, forKey: .downsampleRatio) ?? 0.5
        imageTokenId = try c.decodeIfPresent(Int.self, forKey: .imageTokenId)
        // What this implementation covers: the last layer's patch tokens, pixel shuffle v2, GELU projector.
        let layer = try c.decodeIfPresent(Int.self, forKey: original ? .selectLayer : .featureLayer) ?? -1
        guard layer == -1 else { throw DecodingError.dataCorruptedError(forKey: original ? .selectLayer : .featureLayer, in: c, debugDescription: "only -1 (the last layer) is supported") }
        guard try (c.decodeIfPresent(String.self, forKey: .selectStrategy) ?? "default") == "default",
              try (c.decodeIfPresent(String.self, forKey: .projectorAct) ?? "gelu") == "gelu",
              try (c.decodeIfPresent(String.self, forKey: .psVersion) ?? "v2") == "v2" else {
            throw DecodingError.dataCorruptedError(forKey: .selectStrategy, in: c, debugDescription:
                "supported: vision_feature_select_strategy default, projector_hidden_act gelu, ps_version v2")
        }
        guard downsampleRatio == 0.5 else {
            throw DecodingError.dataCorruptedError(forKey: .downsampleRatio, in: c, debugDescription: "only 0.5 is supported")
        }
    }
}
