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
        let source = url.path
        guard let j = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw ConfigError(source: source, message: "not a JSON object")
        }
        func int(_ key: String) throws -> Int {
            guard let v = j[key] as? Int else { throw ConfigError(source: source, message: "field '\(key)' is missing or not an integer") }
            return v
        }
        let type = j["model_type"] as? String ?? ""
        guard DecoderConfig.supportedTypes.contains(type) else {
            throw ConfigError(source: source, message: "model_type '\(type)' is not supported (\(DecoderConfig.supportedTypes.sorted().joined(separator: ", ")))")
        }
        let heads = try int("num_attention_heads")
        // transformers 5 nests rope settings in `rope_parameters`; older configs use rope_theta + rope_scaling.
        let rope = (j["rope_parameters"] as? [String: Any]) ?? (j["rope_scaling"] as? [String: Any]) ?? [:]
        let theta = (rope["rope_theta"] as? Double) ?? (j["rope_theta"] as? Double) ?? 10000
        let maxPositions = j["max_position_embeddings"] as? Int ?? 2048
        self.init(modelType: type, vocabSize: try int("vocab_size"), hiddenSize: try int("hidden_size"),
                  intermediateSize: try int("intermediate_size"), layerCount: try int("num_hidden_layers"),
                  headCount: heads, kvHeadCount: j["num_key_value_heads"] as? Int ?? heads, headDim: j["head_dim"] as? Int,
                  rmsNormEps: j["rms_norm_eps"] as? Double ?? 1e-6, ropeTheta: theta,
                  ropeScaling: try RopeScaling(rope, maxPositions: maxPositions, source: source), maxPositions: maxPositions,
                  attentionBias: j["attention_bias"] as? Bool ?? (type == "qwen2"),
                  tieWordEmbeddings: j["tie_word_embeddings"] as? Bool ?? false)
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
    init(_ p: [String: Any], maxPositions: Int, source: String) throws {
        let type = (p["rope_type"] as? String) ?? (p["type"] as? String) ?? "default"
        let factor = p["factor"] as? Double ?? 1
        let original = p["original_max_position_embeddings"] as? Int ?? maxPositions
        switch type {
        case "default": self = .none
        case "linear": self = .linear(factor: factor)
        case "dynamic": self = .dynamic(factor: factor, originalMaxPositions: original)
        case "llama3":
            self = .llama3(factor: factor, lowFreqFactor: p["low_freq_factor"] as? Double ?? 1,
                           highFreqFactor: p["high_freq_factor"] as? Double ?? 4, originalMaxPositions: original)
        case "yarn":
            self = .yarn(factor: factor, originalMaxPositions: original, betaFast: p["beta_fast"] as? Double ?? 32,
                         betaSlow: p["beta_slow"] as? Double ?? 1, attentionFactor: p["attention_factor"] as? Double)
        default:
            throw ConfigError(source: source, message: "rope type '\(type)' is not supported (default, linear, dynamic, llama3, yarn)")
        }
    }
}
