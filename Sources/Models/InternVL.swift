import Foundation
import NN
import Torch

// InternVL: InternViT over 448-px tiles (here `image_size`), a 2×2 pixel shuffle, an MLP
// projector, and a Qwen2 decoder whose <IMG_CONTEXT> tokens take the projected features.
// Our parameter names follow transformers' layout (`vision_tower.encoder.layer.0.lambda_1`);
// `checkpointSlot` finds them in either checkpoint layout.

final class InternViTEmbeddings: Module {
    final class PatchProjection: Module {
        let weight: Tensor  // Conv2d [hidden, 3, patch, patch], stride = kernel
        let bias: Tensor

        init(_ c: InternViTConfig) throws {
            let conv = try Linear(3 * c.patchSize * c.patchSize, c.hiddenSize)
            weight = try conv.weight.reshape([c.hiddenSize, 3, c.patchSize, c.patchSize]).detach().requiringGrad()
            bias = conv.bias!
            super.init()
        }
    }

    final class PatchEmbeddings: Module {
        let projection: PatchProjection
        init(_ c: InternViTConfig) throws {
            projection = try PatchProjection(c)
            super.init()
        }
    }

    @Key("cls_token") var classToken: Tensor
    @Key("patch_embeddings") var patches: PatchEmbeddings
    @Key("position_embeddings") var positions: Tensor
    let patchSize: Int

    init(_ c: InternViTConfig) throws {
        patchSize = c.patchSize
        _classToken.wrappedValue = try Tensor.zeros([1, 1, c.hiddenSize]).requiringGrad()
        _patches.wrappedValue = try PatchEmbeddings(c)
        _positions.wrappedValue = try Tensor.zeros([1, c.patchesPerSide * c.patchesPerSide + 1, c.hiddenSize]).requiringGrad()
        super.init()
    }

    /// Tiles [N, 3, S, S] → [N, 1 + (S/P)², hidden]: the class token, then patches row by row.
    func callAsFunction(_ tiles: Tensor) throws -> Tensor {
        let (n, side) = (tiles.size(0), tiles.size(2) / patchSize)
        let w = patches.projection.weight
        let cut = try tiles.to(w.dtype).reshape([n, 3, side, patchSize, side, patchSize]).permute([0, 2, 4, 1, 3, 5])
            .reshape([n, side * side, 3 * patchSize * patchSize])
        let embedded = try cut.linear(w.reshape([w.size(0), -1]), patches.projection.bias)
        return try Tensor.cat([classToken.expand([n, 1, w.size(0)]), embedded], dim: 1) + positions
    }
}

/// LayerNorm or RMSNorm, as the InternViT variant says.
final class InternViTNorm: Module {
    let weight: Tensor
    let bias: Tensor?
    let eps: Double

    init(_ width: Int, _ kind: InternViTConfig.Norm, eps: Double) throws {
        weight = try Tensor.ones([width]).requiringGrad()
        bias = kind == .layerNorm ? try Tensor.zeros([width]).requiringGrad() : nil
        self.eps = eps
        super.init()
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        if let bias { return try x.layerNorm([weight.size(0)], weight: weight, bias: bias, eps: eps) }
        let h = try x.to(.float32)
        return try weight * (h * (h.square().mean(dim: -1, keepDim: true) + eps).rsqrt()).to(x.dtype)
    }
}

final class InternViTAttention: Module {
    @Key("q_proj") var query: Linear
    @Key("k_proj") var key: Linear
    @Key("v_proj") var value: Linear
    @Key("projection_layer") var output: Linear
    @Key("q_norm") var queryNorm: InternViTNorm?
    @Key("k_norm") var keyNorm: InternViTNorm?
    let heads: Int

    init(_ c: InternViTConfig) throws {
        heads = c.headCount
        _query.wrappedValue = try Linear(c.hiddenSize, c.hiddenSize, bias: c.attentionBias)
        _key.wrappedValue = try Linear(c.hiddenSize, c.hiddenSize, bias: c.attentionBias)
        _value.wrappedValue = try Linear(c.hiddenSize, c.hiddenSize, bias: c.attentionBias)
        _output.wrappedValue = try Linear(c.hiddenSize, c.hiddenSize)
        // q/k norms are RMSNorms over the whole width (eps 1e-6) in both variants.
        _queryNorm.wrappedValue = c.qkNorm ? try InternViTNorm(c.hiddenSize, .rmsNorm, eps: 1e-6) : nil
        _keyNorm.wrappedValue = c.qkNorm ? try InternViTNorm(c.hiddenSize, .rmsNorm, eps: 1e-6) : nil
        super.init()
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let (n, l, d) = (x.size(0), x.size(1), x.size(2))
        var q = try query(x), k = try key(x)
        if let queryNorm, let keyNorm { (q, k) = (try queryNorm(q), try keyNorm(k)) }
        func heads(_ t: Tensor) throws -> Tensor { try t.reshape([n, l, self.heads, d / self.heads]).transpose(1, 2) }
        let out = try Tensor.scaledDotProductAttention(query: heads(q), key: heads(k), value: heads(value(x)))
        return try output(out.transpose(1, 2).reshape([n, l, d]))
    }
}

final class InternViTLayer: Module {
    let attention: InternViTAttention
    let mlp: VisionGELUMLP
    @Key("layernorm_before") var attentionNorm: InternViTNorm
    @Key("layernorm_after") var mlpNorm: InternViTNorm
    /// Layer scale: per-channel factors on each branch before its residual.
    @Key("lambda_1") var attentionScale: Tensor
    @Key("lambda_2") var mlpScale: Tensor

    init(_ c: InternViTConfig) throws {
        attention = try InternViTAttention(c)
        mlp = try VisionGELUMLP(c.hiddenSize, c.intermediateSize)
        _attentionNorm.wrappedValue = try InternViTNorm(c.hiddenSize, c.norm, eps: c.normEps)
        _mlpNorm.wrappedValue = try InternViTNorm(c.hiddenSize, c.norm, eps: c.normEps)
        _attentionScale.wrappedValue = try (Tensor.ones([c.hiddenSize]) * 0.1).requiringGrad()
        _mlpScale.wrappedValue = try (Tensor.ones([c.hiddenSize]) * 0.1).requiringGrad()
        super.init()
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try x + attentionScale * attention(attentionNorm(x))
        return try h + mlpScale * mlp(mlpNorm(h))
    }
}

final class VisionGELUMLP: Module {
    let fc1: Linear
    let fc2: Linear

    init(_ width: Int, _ hidden: Int) throws {
        fc1 = try Linear(width, hidden)
        fc2 = try Linear(hidden, width)
        super.init()
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor { try fc2(fc1(x).gelu()) }
}

public final class InternViT: Module {
    final class Encoder: Module {
        let layer: [InternViTLayer]
        init(_ c: InternViTConfig) throws {
            layer = try (0..<c.layerCount).map { _ in try InternViTLayer(c) }
            super.init()
        }
    }

    let embeddings: InternViTEmbeddings
    let encoder: Encoder
    let layernorm: LayerNorm?

    init(_ c: InternViTConfig) throws {
        embeddings = try InternViTEmbeddings(c)
        encoder = try Encoder(c)
        layernorm = c.finalNorm ? try LayerNorm(c.hiddenSize, eps: c.normEps) : nil
        super.init()
    }

    /// Last hidden states [N, 1 + patches, hidden] of tiles [N, 3, S, S].
    func callAsFunction(_ tiles: Tensor) throws -> Tensor {
        var h = try embeddings(tiles)
        for layer in encoder.layer { h = try layer(h) }
        return try layernorm.map { try $0(h) } ?? h
    }
}

final class InternVLProjector: Module {
    @Key("layer_norm") var norm: LayerNorm
    @Key("linear_1") var fc1: Linear
    @Key("linear_2") var fc2: Linear

    init(_ c: InternVLConfig) throws {
        let width = c.vision.hiddenSize * 4
        _norm.wrappedValue = try LayerNorm(width)
        _fc1.wrappedValue = try Linear(width, c.text.hiddenSize)
        _fc2.wrappedValue = try Linear(c.text.hiddenSize, c.text.hiddenSize)
        super.init()
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor { try fc2(fc1(norm(x)).gelu()) }
}

public final class InternVLModel: Module {
    public let config: InternVLConfig
    @Key("vision_tower") var vision: InternViT
    @Key("projector") var projector: InternVLProjector
    @Key("language") public var language: CausalLM

    public init(_ config: InternVLConfig) throws {
        guard config.imageTokenId != nil else { throw ConfigError(source: "InternVL", message: "image token id unknown") }
        self.config = config
        _vision.wrappedValue = try InternViT(config.vision)
        _projector.wrappedValue = try InternVLProjector(config)
        _language.wrappedValue = try CausalLM(config.text)
        super.init()
    }

    /// transformers' (`model.vision_tower.*`, `lm_head.*`), the Llava-style one transformers 5
    /// writes (`vision_tower.*`, `language_model.model.*`), and OpenGVLab's remote-code one.
    public enum CheckpointLayout {
        case transformers, llava, original

        public init(keys: [String]) {
            if keys.contains(where: { $0.hasPrefix("vision_model.") }) { self = .original }
            else if keys.contains(where: { $0.hasPrefix("vision_tower.") }) { self = .llava }
            else { self = .transformers }
        }
    }

    /// Where each of our parameters is in a checkpoint of `layout`.
    public static func checkpointSlot(_ ours: String, layout: CheckpointLayout) -> CheckpointSlot {
        func after(_ prefix: String) -> String? { ours.hasPrefix(prefix) ? String(ours.dropFirst(prefix.count)) : nil }
        switch layout {
        case .transformers:
            if let rest = after("vision_tower.") { return CheckpointSlot("model.vision_tower." + rest) }
            if let rest = after("projector.") { return CheckpointSlot("model.multi_modal_projector." + rest) }
            if let rest = after("language.model.") { return CheckpointSlot("model.language_model." + rest) }
            return CheckpointSlot(String(ours.dropFirst("language.".count)))
        case .llava:
            if let rest = after("projector.") { return CheckpointSlot("multi_modal_projector." + rest) }
            if let rest = after("language.") { return CheckpointSlot("language_model." + rest) }
            return CheckpointSlot(ours)
        case .original:
            if let rest = after("projector.") {
                let renamed = rest.replacingOccurrences(of: "layer_norm.", with: "0.").replacingOccurrences(of: "linear_1.", with: "1.")
                    .replacingOccurrences(of: "linear_2.", with: "3.")
                return CheckpointSlot("mlp1." + renamed)
            }
            if let rest = after("language.") { return CheckpointSlot("language_model." + rest) }
            var name = String(ours.dropFirst("vision_tower.".count))
            for (hf, original) in [("embeddings.cls_token", "embeddings.class_embedding"), ("embeddings.position_embeddings", "embeddings.position_embedding"),
                                   ("embeddings.patch_embeddings.projection.", "embeddings.patch_embedding."), ("encoder.layer.", "encoder.layers."),
                                   (".lambda_1", ".ls1"), (".lambda_2", ".ls2"), (".layernorm_before.", ".norm1."), (".layernorm_after.", ".norm2."),
                                   (".attention.projection_layer.", ".attn.proj."), (".attention.q_norm.", ".attn.q_norm."),
                                   (".attention.k_norm.", ".attn.k_norm.")] {
                name = name.replacingOccurrences(of: hf, with: original)
            }
            for (i, p) in ["q", "k", "v"].enumerated() where name.contains(".attention.\(p)_proj.") {
                return CheckpointSlot("vision_model." + name.replacingOccurrences(of: ".attention.\(p)_proj.", with: ".attn.qkv."), part: i, of: 3)
            }
            return CheckpointSlot("vision_model." + name)
        }
    }

    /// Language-model features [N · tokensPerTile, H] of tiles [N, 3, S, S]: InternViT's patch
    /// tokens (class token dropped), each 2×2 block's channels joined by the pixel shuffle, projected.
    public func imageFeatures(_ tiles: Tensor) throws -> Tensor {
        let s = config.vision.imageSize
        guard tiles.rank == 4, tiles.size(1) == 3, tiles.size(2) == s, tiles.size(3) == s else {
            throw ConfigError(source: "InternVL input", message: "tiles \(tiles.shape), expected [N, 3, \(s), \(s)]")
        }
        let weight = vision.parameters()[0]  // the tower's device and dtype (bf16 on CUDA runs)
        let hidden = try vision(tiles.to(weight.device).to(weight.dtype))
        let (n, side, c) = (hidden.size(0), config.vision.patchesPerSide, hidden.size(2))
        // transformers' pixel_shuffle(0.5) on [N, side, side, C], step by step.
        var x = try hidden.narrow(dim: 1, start: 1, length: side * side).reshape([n, side, side, c])
        x = try x.reshape([n, side, side / 2, c * 2]).permute([0, 2, 1, 3]).contiguous()
        x = try x.reshape([n, side / 2, side / 2, c * 4]).permute([0, 2, 1, 3]).contiguous()
        return try projector(x.reshape([n * config.tokensPerTile, c * 4]))
    }

    /// Decoder input embeddings [B, L, H] with the tiles' features on the <IMG_CONTEXT> tokens, in order.
    public func inputEmbeddings(ids: Tensor, tiles: Tensor?) throws -> Tensor {
        let embeddings = try language.embed(ids.to(language.device))
        let flat = try ids.reshape([-1]).to(.cpu).toArray(Int64.self)
        let slots = flat.indices.filter { flat[$0] == Int64(config.imageTokenId!) }
        guard let tiles else {
            guard slots.isEmpty else { throw ConfigError(source: "InternVL input", message: "\(slots.count) image tokens but no image") }
            return embeddings
        }
        let features = try imageFeatures(tiles).to(embeddings.dtype)
        guard features.size(0) == slots.count else {
            throw ConfigError(source: "InternVL input", message: "\(slots.count) <IMG_CONTEXT> tokens for \(features.size(0)) image features")
        }
        let (b, l, hidden) = (embeddings.size(0), embeddings.size(1), embeddings.size(2))
        let index = try Tensor(slots.map(Int64.init), shape: [slots.count, 1]).to(embeddings.device).expand([slots.count, hidden])
        return try embeddings.reshape([b * l, hidden]).scatter(dim: 0, index: index, source: features).reshape([b, l, hidden])
    }

    /// Final hidden states [B, L, H]; positions are the decoder's ordinary 1-D ones.
    public func hiddenStates(ids: Tensor, attentionMask: Tensor? = nil, tiles: Tensor?, cache: KVCache? = nil) throws -> Tensor {
        try language.hiddenStates(.embeddings(inputEmbeddings(ids: ids, tiles: tiles)), attentionMask: attentionMask?.to(language.device), cache: cache)
    }

    /// Logits [B, L, V].
    public func callAsFunction(ids: Tensor, attentionMask: Tensor? = nil, tiles: Tensor?) throws -> Tensor {
        try language.logits(hiddenStates(ids: ids, attentionMask: attentionMask, tiles: tiles))
    }
}
