import Foundation
import Torch

/// How rotary position embeddings are scaled (the `rope_type` of Hugging Face configs).
public enum RopeScaling: Equatable, Sendable {
    case none
    case linear(factor: Double)
    case dynamic(factor: Double, originalMaxPositions: Int)
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
    case yarn(factor: Double, originalMaxPositions: Int, betaFast: Double, betaSlow: Double, attentionFactor: Double?)
}

/// The configuration of a Llama-family decoder (Llama, Qwen2, SmolLM2). Decodes the keys of
/// a checkpoint's `config.json` in their old and new spellings.
public struct DecoderConfig: Equatable, Sendable {
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    public var maxPositions: Int
    /// Biases on the q/k/v projections (Qwen2: true, Llama: false).
    public var attentionBias: Bool
    public var tieWordEmbeddings: Bool
    /// M-RoPE (Qwen2-VL): how many of the head's frequency pairs follow the temporal, height and
    /// width positions; nil for ordinary 1-D rotary positions.
    public var mropeSection: [Int]? = nil

    public init(modelType: String, vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
                kvHeadCount: Int, headDim: Int? = nil, rmsNormEps: Double, ropeTheta: Double, ropeScaling: RopeScaling = .none,
                maxPositions: Int, attentionBias: Bool, tieWordEmbeddings: Bool) {
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? hiddenSize / headCount
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.maxPositions = maxPositions
        self.attentionBias = attentionBias
        self.tieWordEmbeddings = tieWordEmbeddings
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let source: String
    public let message: String
    public var description: String { "\(source): \(message)" }

    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }
}

extension DecoderConfig {
    /// Architectures this decoder implements, by `model_type` / `general.architecture`.
    public static let supportedTypes: Set<String> = ["llama", "qwen2"]

    /// Reads a Hugging Face `config.json`.
    public init(configJSON url: URL) throws {
        self = try ConfigFile.decode(DecoderConfig.self, from: url)
    }

    /// Reads the `{arch}.*` keys of a GGUF file. Whether embeddings are tied is decided by
    /// the presence of `output.weight`.
    public init(gguf: GGUFFile) throws {
        let m = gguf.metadata
        let arch = m["general.architecture"]?.string ?? ""
        guard DecoderConfig.supportedTypes.contains(arch) else {
            throw ConfigError(source: gguf.path, message: "architecture '\(arch)' is not supported (\(DecoderConfig.supportedTypes.sorted().joined(separator: ", ")))")
        }
        func int(_ key: String) throws -> Int {
            guard let v = m["\(arch).\(key)"]?.int else { throw ConfigError(source: gguf.path, message: "metadata '\(arch).\(key)' is missing") }
            return v
        }
        let heads = try int("attention.head_count")
        let hidden = try int("embedding_length")
        let vocab = m["\(arch).vocab_size"]?.int ?? m["tokenizer.ggml.tokens"]?.strings?.count ?? 0
        var scaling = RopeScaling.none
        if let type = m["\(arch).rope.scaling.type"]?.string, let factor = m["\(arch).rope.scaling.factor"]?.double {
            let contextLength = try int("context_length")
            let original = m["\(arch).rope.scaling.original_context_length"]?.int ?? contextLength
            switch type {
            case "linear": scaling = .linear(factor: factor)
            case "yarn": scaling = .yarn(factor: factor, originalMaxPositions: original, betaFast: 32, betaSlow: 1, attentionFactor: nil)
            case "none": scaling = .none
            default: throw ConfigError(source: gguf.path, message: "rope scaling '\(type)' is not supported")
            }
        }
        self.init(modelType: arch, vocabSize: vocab, hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
                  layerCount: try int("block_count"), headCount: heads,
                  kvHeadCount: m["\(arch).attention.head_count_kv"]?.int ?? heads,
                  headDim: m["\(arch).attention.key_length"]?.int,
                  rmsNormEps: m["\(arch).attention.layer_norm_rms_epsilon"]?.double ?? 1e-6,
                  ropeTheta: m["\(arch).rope.freq_base"]?.double ?? 10000, ropeScaling: scaling,
                  maxPositions: try int("context_length"), attentionBias: arch == "qwen2",
                  tieWordEmbeddings: gguf.info("output.weight") == nil)
    }
}

extension RopeScaling {
    init(_ p: RopeParameters?, maxPositions: Int) throws {
        guard let p else {
            self = .none
            return
        }
        let factor = p.factor ?? 1
        let original = p.originalMaxPositions ?? maxPositions
        switch p.type ?? "default" {
        case "default", "mrope": self = .none  // M-RoPE's sections are read apart; its frequencies are the default ones
        case "linear": self = .linear(factor: factor)
        case "dynamic": self = .dynamic(factor: factor, originalMaxPositions: original)
        case "llama3":
            self = .llama3(factor: factor, lowFreqFactor: p.lowFreqFactor ?? 1, highFreqFactor: p.highFreqFactor ?? 4,
                           originalMaxPositions: original)
        case "yarn":
            self = .yarn(factor: factor, originalMaxPositions: original, betaFast: p.betaFast ?? 32, betaSlow: p.betaSlow ?? 1,
                         attentionFactor: p.attentionFactor)
        case let other:
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription:
                "rope type '\(other)' is not supported (default, linear, dynamic, llama3, yarn, mrope)"))
        }
    }
}

/// `rope_parameters` (transformers 5) or `rope_scaling` (older configs).
struct RopeParameters: Decodable {
    let type: String?
    let theta: Double?
    let factor: Double?
    let originalMaxPositions: Int?
    let lowFreqFactor: Double?, highFreqFactor: Double?
    let betaFast: Double?, betaSlow: Double?, attentionFactor: Double?
    let mropeSection: [Int]?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", type, theta = "rope_theta", factor, originalMaxPositions = "original_max_position_embeddings"
        case lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor", betaFast = "beta_fast", betaSlow = "beta_slow"
        case attentionFactor = "attention_factor", mropeSection = "mrope_section"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(String.self, forKey: .ropeType) ?? c.decodeIfPresent(String.self, forKey: .type)
        theta = try c.decodeIfPresent(Double.self, forKey: .theta)
        factor = try c.decodeIfPresent(Double.self, forKey: .factor)
        originalMaxPositions = try c.decodeIfPresent(Int.self, forKey: .originalMaxPositions)
        lowFreqFactor = try c.decodeIfPresent(Double.self, forKey: .lowFreqFactor)
        highFreqFactor = try c.decodeIfPresent(Double.self, forKey: .highFreqFactor)
        betaFast = try c.decodeIfPresent(Double.self, forKey: .betaFast)
        betaSlow = try c.decodeIfPresent(Double.self, forKey: .betaSlow)
        attentionFactor = try c.decodeIfPresent(Double.self, forKey: .attentionFactor)
        mropeSection = try c.decodeIfPresent([Int].self, forKey: .mropeSection)
    }
}

extension DecoderConfig: Decodable {
    /// `model_type`s whose decoder this is, and the architecture each means here.
    static let decoderFamilies = ["llama": "llama", "qwen2": "qwen2", "qwen2_vl": "qwen2", "qwen2_vl_text": "qwen2"]

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers", headCount = "num_attention_heads", kvHeadCount = "num_key_value_heads"
        case headDim = "head_dim", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeParameters = "rope_parameters"
        case ropeScaling = "rope_scaling", maxPositions = "max_position_embeddings", attentionBias = "attention_bias"
        case tieWordEmbeddings = "tie_word_embeddings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let declared = try c.decode(String.self, forKey: .modelType)
        guard let family = DecoderConfig.decoderFamilies[declared] else {
            throw DecodingError.dataCorruptedError(forKey: .modelType, in: c, debugDescription:
                "'\(declared)' is not supported (\(DecoderConfig.decoderFamilies.keys.sorted().joined(separator: ", ")))")
        }
        let heads = try c.decode(Int.self, forKey: .headCount)
        let maxPositions = try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 2048
        // transformers 5 nests rope settings in `rope_parameters`; older configs use rope_theta + rope_scaling.
        let rope = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters) ?? c.decodeIfPresent(RopeParameters.self, forKey: .ropeScaling)
        let scaling: RopeScaling
        do { scaling = try RopeScaling(rope, maxPositions: maxPositions) } catch let e as DecodingError {
            guard case .dataCorrupted(let context) = e else { throw e }
            throw DecodingError.dataCorruptedError(forKey: c.contains(.ropeParameters) ? .ropeParameters : .ropeScaling, in: c,
                                                   debugDescription: context.debugDescription)
        }
        self.init(modelType: family, vocabSize: try c.decode(Int.self, forKey: .vocabSize),
                  hiddenSize: try c.decode(Int.self, forKey: .hiddenSize), intermediateSize: try c.decode(Int.self, forKey: .intermediateSize),
                  layerCount: try c.decode(Int.self, forKey: .layerCount), headCount: heads,
                  kvHeadCount: try c.decodeIfPresent(Int.self, forKey: .kvHeadCount) ?? heads,
                  headDim: try c.decodeIfPresent(Int.self, forKey: .headDim),
                  rmsNormEps: try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6,
                  ropeTheta: try rope?.theta ?? c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10000,
                  ropeScaling: scaling, maxPositions: maxPositions,
                  attentionBias: try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? (family == "qwen2"),
                  tieWordEmbeddings: try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false)
        mropeSection = rope?.mropeSection
        if let sections = mropeSection, sections.reduce(0, +) != headDim / 2 {
            throw DecodingError.dataCorruptedError(forKey: c.contains(.ropeParameters) ? .ropeParameters : .ropeScaling, in: c,
                                                   debugDescription: "mrope_section \(sections) must add up to head_dim / 2 = \(headDim / 2)")
        }
    }
}
