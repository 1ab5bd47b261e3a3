import Foundation
import NN
import Tokenizers
import Torch

/// A language model ready to run: weights, tokenizer and chat template.
public struct LoadedModel {
    public let model: CausalLM
    public let tokenizer: BPETokenizer
    /// nil when the checkpoint's template is none of the families we render.
    public let chatTemplate: ChatTemplate?
    public let source: String

    public init(model: CausalLM, tokenizer: BPETokenizer, chatTemplate: ChatTemplate?, source: String) {
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.source = source
    }
}

public enum ModelLoader {
    /// Loads a Hugging Face directory (config.json, safetensors, tokenizer.json) or a `.gguf` file.
    public static func load(_ url: URL, dtype: DType = .float32) throws -> LoadedModel {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ConfigError(source: url.path, message: "no such file or directory")
        }
        if isDir.boolValue { return try loadHuggingFace(url, dtype: dtype) }
        guard url.pathExtension == "gguf" else {
            throw ConfigError(source: url.path, message: "expected a .gguf file or a Hugging Face model directory")
        }
        return try loadGGUF(url, dtype: dtype)
    }

    public static func loadHuggingFace(_ dir: URL, dtype: DType = .float32) throws -> LoadedModel {
        for file in ["config.json", "tokenizer.json"] where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path) {
            throw ConfigError(source: dir.path, message: "has no \(file): not a Hugging Face model directory with its tokenizer")
        }
        let type = try modelType(of: dir)
        if visionLanguageTypes.contains(type) {
            throw ConfigError(source: dir.path, message: "is a \(type) vision-language model; this command reads language models only (generate --image reads it)")
        }
        let model = try loadHuggingFaceWeights(dir, dtype: dtype)
        let (tokenizer, template) = try loadTokenizer(dir)
        return LoadedModel(model: model, tokenizer: tokenizer, chatTemplate: template, source: dir.path)
    }

    /// A Hugging Face directory's tokenizer.json and its chat template (nil when it has none).
    /// A template this build does not render is an error naming its file, never a guess.
    public static func loadTokenizer(_ dir: URL) throws -> (BPETokenizer, ChatTemplate?) {
        let tokenizer = try BPETokenizer(tokenizerJSON: dir.appendingPathComponent("tokenizer.json"))
        guard let (jinja, file) = try chatTemplateSource(dir) else { return (tokenizer, nil) }
        guard let template = ChatTemplate(recognizing: jinja) else {
            throw ConfigError(source: file.path, message: "holds a chat template this build does not render (only ChatML templates, <|im_start|>role…<|im_end|>, are)")
        }
        return (tokenizer, template)
    }

    /// The chat template's text and file, where transformers looks: `chat_template.jinja` (what
    /// transformers 5 saves), then `chat_template.json` (a processor's, older), then the
    /// `chat_template` of `tokenizer_config.json` (a string, or a list of named templates whose
    /// `default` is used).
    static func chatTemplateSource(_ dir: URL) throws -> (String, URL)? {
        let jinja = dir.appendingPathComponent("chat_template.jinja")
        if FileManager.default.fileExists(atPath: jinja.path) {
            do { return (try String(contentsOf: jinja, encoding: .utf8), jinja) } catch {
                throw ConfigError(source: jinja.path, message: "cannot be read as UTF-8 text: \(error.localizedDescription)")
            }
        }
        for name in ["chat_template.json", "tokenizer_config.json"] {
            let file = dir.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: file) else { continue }
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ConfigError(source: file.path, message: "is not a JSON object")
            }
            switch json["chat_template"] {
            case let text as String: return (text, file)
            case let named as [[String: Any]]:
                guard let text = named.first(where: { $0["name"] as? String == "default" })?["template"] as? String else {
                    throw ConfigError(source: file.path, message: "lists chat templates but none named 'default'")
                }
                return (text, file)
            case nil, is NSNull: continue
            default: throw ConfigError(source: file.path, message: "has a chat_template that is neither a string nor a list of named templates")
            }
        }
        return nil
    }

    /// The `model_type` of a Hugging Face directory's config.json.
    public static func modelType(of dir: URL) throws -> String {
        struct Head: Decodable { let model_type: String }
        return try ConfigFile.decode(Head.self, from: dir.appendingPathComponent("config.json")).model_type
    }

    /// Model types that take images, read by `loadQwen2VL` (and not by `load`).
    public static let visionLanguageTypes: Set<String> = ["qwen2_vl", "internvl", "internvl_chat"]

    /// Whether `url` is a Hugging Face directory of a vision-language model.
    public static func isVisionLanguageDirectory(_ url: URL) throws -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue,
              FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) else { return false }
        return visionLanguageTypes.contains(try modelType(of: url))
    }

    /// The model of a Hugging Face directory (config.json and safetensors), without tokenizer.
    public static func loadHuggingFaceWeights(_ dir: URL, dtype: DType = .float32) throws -> CausalLM {
        let config = try DecoderConfig(configJSON: dir.appendingPathComponent("config.json"))
        let model = try ParameterInitialization.skipped { try CausalLM(config) } // every weight is loaded strictly below
        try model.to(.cpu, dtype: dtype)
        let checkpoint = try SafeTensorsCheckpoint(dir)
        // Checkpoint quirks, handled here and nowhere else: a tied model may still store
        // lm_head, and old exports keep the rotary inverse frequencies as a buffer.
        let ignored = checkpoint.names.filter {
            $0.hasSuffix("rotary_emb.inv_freq") || (config.tieWordEmbeddings && $0 == "lm_head.weight")
        }
        try model.load(from: HiddenKeysSource(checkpoint, hiding: Set(ignored)), strict: true)
        return model
    }

    public static func loadGGUF(_ url: URL, dtype: DType = .float32) throws -> LoadedModel {
        let file = try GGUFFile(url)
        let config = try DecoderConfig(gguf: file)
        let model = try ParameterInitialization.skipped { try CausalLM(config) } // every weight is loaded strictly below
        try model.to(.cpu, dtype: dtype)
        try model.load(from: GGUFSource(file: file, config: config), strict: true)
        let template = file.metadata["tokenizer.chat_template"]?.string.flatMap(ChatTemplate.init(recognizing:))
        return LoadedModel(model: model, tokenizer: try BPETokenizer(gguf: file), chatTemplate: template, source: url.path)
    }
}

/// A checkpoint with some keys hidden (the checkpoint quirks `loadHuggingFaceWeights` drops).
struct HiddenKeysSource: TensorSource {
    let base: TensorSource
    let hidden: Set<String>

    init(_ base: TensorSource, hiding hidden: Set<String>) {
        self.base = base
        self.hidden = hidden
    }

    var tensorNames: [String] { base.tensorNames.filter { !hidden.contains($0) } }
    func shape(of name: String) -> [Int]? { hidden.contains(name) ? nil : base.shape(of: name) }
    func tensor(named name: String) throws -> Tensor { try base.tensor(named: name) }
}

/// A GGUF file seen under Hugging Face names, dequantised on read, with llama.cpp's
/// conversion of Llama's Q/K rows undone.
struct GGUFSource: TensorSource {
    let file: GGUFFile
    let config: DecoderConfig
    let hfToGGUF: [String: String]

    init(file: GGUFFile, config: DecoderConfig) {
        self.file = file
        self.config = config
        var map: [String: String] = [
            "model.embed_tokens.weight": "token_embd.weight",
            "model.norm.weight": "output_norm.weight",
            "lm_head.weight": "output.weight",
        ]
        let perLayer = [
            "input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
            "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
            "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
            "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias",
            "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
        ]
        for i in 0..<config.layerCount {
            for (hf, gg) in perLayer { map["model.layers.\(i).\(hf)"] = "blk.\(i).\(gg)" }
        }
        hfToGGUF = map.filter { file.info($0.value) != nil }
    }

    var tensorNames: [String] {
        let known = Set(hfToGGUF.values)
        // GGUF tensors we do not map show up as unexpected keys under their own names.
        return hfToGGUF.keys.sorted() + file.tensors.map(\.name).filter { !known.contains($0) && $0 != "rope_freqs.weight" }
    }

    func shape(of name: String) -> [Int]? { hfToGGUF[name].flatMap { file.info($0)?.shape } }

    func tensor(named name: String) throws -> Tensor {
        let t = try file.tensor(hfToGGUF[name]!)
        guard config.modelType == "llama" else { return t }
        if name.hasSuffix("self_attn.q_proj.weight") { return try unpermute(t, heads: config.headCount) }
        if name.hasSuffix("self_attn.k_proj.weight") { return try unpermute(t, heads: config.kvHeadCount) }
        return t
    }

    /// llama.cpp interleaves the two halves of each head's rows for its RoPE; Hugging Face's
    /// rotate_half layout wants them back: [heads, half, 2, in] → [heads, 2, half, in].
    private func unpermute(_ w: Tensor, heads: Int) throws -> Tensor {
        let (rows, cols) = (w.size(0), w.size(1))
        return try w.reshape([heads, rows / heads / 2, 2, cols]).transpose(1, 2).reshape([rows, cols])
    }
}

/// Where one of our parameters lives in a checkpoint: a tensor, or one of `parts` equal slices of
/// it along dimension 0 (a fused q/k/v projection).
public struct CheckpointSlot: Equatable, Sendable {
    public let name: String
    public let part: Int
    public let parts: Int

    public init(_ name: String, part: Int = 0, of parts: Int = 1) {
        self.name = name
        self.part = part
        self.parts = parts
    }
}

/// A checkpoint seen under our parameter names; its other tensors show up as unexpected keys
/// under their own names.
struct RenamedKeysSource: TensorSource {
    let base: TensorSource
    let slots: [String: CheckpointSlot]

    var tensorNames: [String] {
        let known = Set(slots.values.map(\.name))
        return slots.keys.filter { shape(of: $0) != nil }.sorted() + base.tensorNames.filter { !known.contains($0) }
    }

    func shape(of name: String) -> [Int]? {
        guard let slot = slots[name], var shape = base.shape(of: slot.name) else { return nil }
        guard slot.parts > 1 else { return shape }
        guard let first = shape.first, first % slot.parts == 0 else { return nil }
        shape[0] = first / slot.parts
        return shape
    }

    func tensor(named name: String) throws -> Tensor {
        guard let slot = slots[name] else { return try base.tensor(named: name) }
        let t = try base.tensor(named: slot.name)
        guard slot.parts > 1 else { return t }
        let size = t.size(0) / slot.parts
        return try t.narrow(dim: 0, start: slot.part * size, length: size).contiguous()
    }
}

extension ModelLoader {
    /// A Qwen2-VL Hugging Face directory, in the transformers 5 or the original key layout,
    /// single-file or sharded.
    public static func loadQwen2VL(_ dir: URL, dtype: DType = .float32) throws -> Qwen2VLModel {
        let config = try ConfigFile.decode(Qwen2VLConfig.self, from: dir.appendingPathComponent("config.json"))
        let model = try ParameterInitialization.skipped { try Qwen2VLModel(config) } // every weight is loaded strictly below
        try model.to(.cpu, dtype: dtype)
        let checkpoint = try SafeTensorsCheckpoint(dir)
        let layout: Qwen2VLModel.CheckpointLayout = checkpoint.names.contains { $0.hasPrefix("model.visual.") } ? .transformers5 : .original
        let names = model.namedParameters().map(\.0)
        let renamed = RenamedKeysSource(base: checkpoint, slots: Dictionary(uniqueKeysWithValues: names.map {
            ($0, CheckpointSlot(Qwen2VLModel.checkpointKey($0, layout: layout)))
        }))
        let ignored = checkpoint.names.filter { $0.hasSuffix("rotary_emb.inv_freq") || (config.text.tieWordEmbeddings && $0 == "lm_head.weight") }
        try model.load(from: HiddenKeysSource(renamed, hiding: Set(ignored)), strict: true)
        return model
    }
}

extension ModelLoader {
    /// An InternVL Hugging Face directory: the transformers layouts (`InternVLForConditionalGeneration`)
    /// or OpenGVLab's remote-code one (`vision_model.*` with fused qkv, `mlp1.*`, `language_model.*`).
    /// `imageTokenId` is the tokenizer's `<IMG_CONTEXT>`, which the remote-code config does not hold.
    public static func loadInternVL(_ dir: URL, imageTokenId: Int, dtype: DType = .float32) throws -> InternVLModel {
        var config = try ConfigFile.decode(InternVLConfig.self, from: dir.appendingPathComponent("config.json"))
        if let declared = config.imageTokenId, declared != imageTokenId {
            throw ConfigError(source: dir.appendingPathComponent("config.json").path,
                              message: "image_token_id \(declared) is not the tokenizer's <IMG_CONTEXT> (\(imageTokenId))")
        }
        config.imageTokenId = imageTokenId
        let model = try ParameterInitialization.skipped { try InternVLModel(config) } // every weight is loaded strictly below
        try model.to(.cpu, dtype: dtype)
        let checkpoint = try SafeTensorsCheckpoint(dir)
        let layout = InternVLModel.CheckpointLayout(keys: checkpoint.names)
        let slots = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.0, InternVLModel.checkpointSlot($0.0, layout: layout)) })
        let ignored = checkpoint.names.filter { config.text.tieWordEmbeddings && ($0 == "lm_head.weight" || $0 == "language_model.lm_head.weight") }
        try model.load(from: HiddenKeysSource(RenamedKeysSource(base: checkpoint, slots: slots), hiding: Set(ignored)), strict: true)
        return model
    }
}
