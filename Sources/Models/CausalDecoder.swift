import Foundation
import NN
import Torch

// A Llama-family decoder (Llama, Qwen2, SmolLM2) in the order data flows through it. Module
// keys are Hugging Face's, so `model.layers.3.self_attn.q_proj.weight` loads by lookup.

final class Attention: Module {
    @Key("q_proj") var queryProjection: Linear
    @Key("k_proj") var keyProjection: Linear
    @Key("v_proj") var valueProjection: Linear
    @Key("o_proj") var outputProjection: Linear
    let heads: Int, kvHeads: Int, headDim: Int

    init(_ c: DecoderConfig) throws {
        heads = c.headCount
        kvHeads = c.kvHeadCount
        headDim = c.headDim
        _queryProjection.wrappedValue = try Linear(c.hiddenSize, heads * headDim, bias: c.attentionBias)
        _keyProjection.wrappedValue = try Linear(c.hiddenSize, kvHeads * headDim, bias: c.attentionBias)
        _valueProjection.wrappedValue = try Linear(c.hiddenSize, kvHeads * headDim, bias: c.attentionBias)
        _outputProjection.wrappedValue = try Linear(heads * headDim, c.hiddenSize, bias: false)
        super.init()
    }

    func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, mask: AttentionMask, cache: KVCache?, layer: Int) throws -> Tensor {
        let (b, l) = (x.size(0), x.size(1))
        var q = try queryProjection(x).view([b, l, heads, headDim]).transpose(1, 2)
        var k = try keyProjection(x).view([b, l, kvHeads, headDim]).transpose(1, 2)
        var v = try valueProjection(x).view([b, l, kvHeads, headDim]).transpose(1, 2)
        q = try RotaryEmbedding.apply(q, cos: cos, sin: sin)
        k = try RotaryEmbedding.apply(k, cos: cos, sin: sin)
        if let cache { (k, v) = try cache.update(layer: layer, keys: k, values: v) }
        let out = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask.tensor, isCausal: mask.isCausal,
                                                       enableGQA: kvHeads != heads)
        return try outputProjection(out.transpose(1, 2).reshape([b, l, heads * headDim]))
    }
}

final class FeedForward: Module {
    @Key("gate_proj") var gate: Linear
    @Key("up_proj") var up: Linear
    @Key("down_proj") var down: Linear

    init(_ c: DecoderConfig) throws {
        _gate.wrappedValue = try Linear(c.hiddenSize, c.intermediateSize, bias: false)
        _up.wrappedValue = try Linear(c.hiddenSize, c.intermediateSize, bias: false)
        _down.wrappedValue = try Linear(c.intermediateSize, c.hiddenSize, bias: false)
        super.init()
    }

    /// SwiGLU: down(silu(gate(x)) · up(x)).
    func callAsFunction(_ x: Tensor) throws -> Tensor { try down(gate(x).silu() * up(x)) }
}

final class DecoderLayer: Module {
    @Key("self_attn") var attention: Attention
    @Key("mlp") var feedForward: FeedForward
    @Key("input_layernorm") var attentionNorm: RMSNorm
    @Key("post_attention_layernorm") var feedForwardNorm: RMSNorm

    init(_ c: DecoderConfig) throws {
        _attention.wrappedValue = try Attention(c)
        _feedForward.wrappedValue = try FeedForward(c)
        _attentionNorm.wrappedValue = try RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
        _feedForwardNorm.wrappedValue = try RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
        super.init()
    }

    func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, mask: AttentionMask, cache: KVCache?, layer: Int) throws -> Tensor {
        let h = try x + attention(attentionNorm(x), cos: cos, sin: sin, mask: mask, cache: cache, layer: layer)
        return try h + feedForward(feedForwardNorm(h))
    }
}

/// The transformer body (`model.*` in checkpoints): embeddings, layers, final norm.
public final class DecoderModel: Module {
    @Key("embed_tokens") var embedTokens: Embedding
    let layers: [DecoderLayer]
    let norm: RMSNorm

    init(_ c: DecoderConfig) throws {
        _embedTokens.wrappedValue = try Embedding(c.vocabSize, c.hiddenSize)
        layers = try (0..<c.layerCount).map { _ in try DecoderLayer(c) }
        norm = try RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
        super.init()
    }
}

/// What the decoder reads: token ids [B, L] or input embeddings [B, L, H] (a vision-language
/// model's language tower gets embeddings with image features spliced in).
public enum DecoderInput {
    case tokens(Tensor)
    case embeddings(Tensor)
}

/// A causal language model: `model` plus `lm_head` (absent when tied to the embeddings).
public final class CausalLM: Module {
    public let config: DecoderConfig
    let model: DecoderModel
    @Key("lm_head") var head: Linear?
    let rotary: RotaryEmbedding

    public init(_ config: DecoderConfig) throws {
        self.config = config
        model = try DecoderModel(config)
        _head.wrappedValue = config.tieWordEmbeddings ? nil : try Linear(config.hiddenSize, config.vocabSize, bias: false)
        rotary = RotaryEmbedding(dim: config.headDim, base: config.ropeTheta, scaling: config.ropeScaling, mropeSection: config.mropeSection)
        super.init()
    }

    public var embeddingWeight: Tensor { model.embedTokens.weight }

    /// Partial fine-tuning: only the top `count` decoder layers and the final norm keep
    /// gradients. The frozen trunk then runs without building a graph, which makes a training
    /// step several times cheaper.
    public func freezeAllButTopLayers(_ count: Int) throws {
        guard (0...config.layerCount).contains(count) else {
            throw ConfigError(source: "train_layers", message: "must be in 0...\(config.layerCount), not \(count)")
        }
        try freeze()
        for layer in model.layers.suffix(count) { try layer.freeze(false) }
        if count > 0 { try model.norm.freeze(false) }
    }

    /// Decoder layers from the bottom that, with the token embeddings, hold no trainable
    /// parameter: the states leaving them depend on the tokens alone.
    public var frozenBottomLayers: Int {
        func frozen(_ m: Module) -> Bool { m.trainableParameters().isEmpty }
        guard frozen(model.embedTokens) else { return 0 }
        return model.layers.prefix(while: frozen).count
    }

    /// Where the weights live (move them with `to(_:dtype:)`).
    public var device: Device { embeddingWeight.device }

    /// Token embeddings of ids [B, L].
    public func embed(_ ids: Tensor) throws -> Tensor { try model.embedTokens(ids) }

    /// Final hidden states [B, L, H].
    /// - attentionMask: [B, cached + L], 1 for real tokens, 0 for padding (nil: no padding).
    /// - positions: [B, L] position ids, or [3, B, L] for M-RoPE (nil: cached length + 0..<L; with
    ///   a mask, counted over real tokens).
    /// - cache: filled with this call's keys and values when given.
    /// - visibility: boolean [B or 1, L, cached + L], true where a query may attend to a key. It
    ///   replaces the causal and padding pattern (several sequences packed into one, a tree of
    ///   continuations sharing a prefix) and needs explicit `positions`.
    /// - layers: run only these decoder layers (for models that share a frozen trunk). Starting
    ///   above 0, `input` is `.embeddings` holding the states that enter the first of them;
    ///   stopping below the top, the states leave unnormalised.
    public func hiddenStates(_ input: DecoderInput, attentionMask: Tensor? = nil, positions: Tensor? = nil,
                             cache: KVCache? = nil, visibility: Tensor? = nil, layers: Range<Int>? = nil) throws -> Tensor {
        let layers = layers ?? 0..<config.layerCount
        var h: Tensor
        switch input {
        case .tokens(let ids) where layers.lowerBound == 0: h = try embed(ids)
        case .tokens: throw ConfigError(source: "hiddenStates", message: "layers from \(layers.lowerBound) on need the states entering that layer")
        case .embeddings(let e): h = e
        }
        let (b, l) = (h.size(0), h.size(1))
        let past = cache?.length ?? 0
        if visibility != nil && (positions == nil || attentionMask != nil) {
            throw ConfigError(source: "hiddenStates", message: "a visibility pattern needs explicit positions and no padding mask")
        }
        let positionIds = try positions ?? defaultPositions(batch: b, length: l, past: past, mask: attentionMask, device: h.device)
        let (cos, sin) = try rotary.cosSin(positions: positionIds, dtype: h.dtype)
        let mask = try visibility.map { AttentionMask(tensor: try $0.unsqueeze(1), isCausal: false) }
            ?? AttentionMask(queryLength: l, past: past, padding: attentionMask, device: h.device)
        for i in layers {
            h = try model.layers[i](h, cos: cos, sin: sin, mask: mask, cache: cache, layer: i)
        }
        return layers.upperBound == config.layerCount ? try model.norm(h) : h
    }

    /// How many bottom decoder layers hold the same weights in both models, the token
    /// embeddings included (0 when those differ): models fine-tuned from one backbone with
    /// their lower layers frozen share them, and those layers can run once for both.
    public func sharedBottomLayers(with other: CausalLM) throws -> Int {
        func same(_ a: Module, _ b: Module) throws -> Bool {
            let (pa, pb) = (a.namedParameters(), b.namedParameters())
            guard pa.count == pb.count else { return false }
            for ((na, ta), (nb, tb)) in zip(pa, pb) where ta !== tb {
                guard na == nb, ta.shape == tb.shape, ta.dtype == tb.dtype,
                      try (ta.to(.float32) - tb.to(.float32)).abs().max().item() == 0 else { return false }  // NaN: not equal
            }
            return true
        }
        guard config.layerCount == other.config.layerCount, try same(model.embedTokens, other.model.embedTokens) else { return 0 }
        return try zip(model.layers, other.model.layers).prefix { try same($0, $1) }.count
    }

    /// Logits over the vocabulary for hidden states [..., H].
    public func logits(_ hidden: Tensor) throws -> Tensor {
        try hidden.linear(head?.weight ?? model.embedTokens.weight)
    }

    /// Logits [B, L, V] for every position.
    public func callAsFunction(_ input: DecoderInput, attentionMask: Tensor? = nil, positions: Tensor? = nil,
                               cache: KVCache? = nil) throws -> Tensor {
        try logits(hiddenStates(input, attentionMask: attentionMask, positions: positions, cache: cache))
    }

    /// As transformers' generate: positions count real tokens only, so left padding does not shift them.
    private func defaultPositions(batch: Int, length: Int, past: Int, mask: Tensor?, device: Device) throws -> Tensor {
        if let mask {
            let counted = try (mask.to(.int64).cumsum(dim: 1) - 1.0).clamp(min: 0)
            return try counted.narrow(dim: 1, start: past, length: length)
        }
        return try (Tensor.arange(Double(past), Double(past + length), device: device)).unsqueeze(0).expand([batch, length])
    }
}

/// The attention pattern of one forward: causal over cache + new positions, minus padding.
struct AttentionMask {
    /// Boolean [B or 1, 1, L, S] (true = attend), or nil when `isCausal` (or nothing) says it all.
    let tensor: Tensor?
    let isCausal: Bool

    init(tensor: Tensor?, isCausal: Bool) {
        self.tensor = tensor
        self.isCausal = isCausal
    }

    init(queryLength l: Int, past: Int, padding: Tensor?, device: Device) throws {
        if padding == nil && (past == 0 || l == 1) {
            // Plain causal attention; a single new token sees everything cached.
            tensor = nil
            isCausal = l > 1
            return
        }
        let s = past + l
        let q = try Tensor.arange(Double(past), Double(s), device: device).unsqueeze(1)   // [L, 1]
        let k = try Tensor.arange(0, Double(s), device: device).unsqueeze(0)              // [1, S]
        var allowed = try k.le(q).unsqueeze(0).unsqueeze(0)                                // [1, 1, L, S]
        if let padding {
            let real = try padding.to(.bool).unsqueeze(1).unsqueeze(1)                     // [B, 1, 1, S]
            // Each query may always see its own position, so a padded row is never empty (an
            // empty row gives NaN, and NaN times a zero weight still poisons other rows).
            let own = try k.eq(q).unsqueeze(0).unsqueeze(0)
            allowed = try allowed.logicalAnd(real).logicalOr(own)
        }
        tensor = allowed
        isCausal = false
    }
}
