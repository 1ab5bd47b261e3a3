import Foundation
import NN
import Torch

// Qwen2-VL's vision tower in the order data flows through it, keys as in its checkpoints
// (`visual.blocks.0.attn.qkv.weight`).

/// The Conv3d patch embedding. Its stride equals its kernel, so on patches already cut and
/// flattened by the processor (channel, time, row, column) it is one matrix product.
final class PatchEmbedding: Module {
    final class Projection: Module {
        let weight: Tensor  // [embed, channels, temporal, patch, patch], as the checkpoint stores it

        init(_ c: Qwen2VLVisionConfig) throws {
            let inputs = c.inChannels * c.temporalPatchSize * c.patchSize * c.patchSize
            weight = try Linear(inputs, c.embedDim, bias: false).weight
                .reshape([c.embedDim, c.inChannels, c.temporalPatchSize, c.patchSize, c.patchSize]).detach().requiringGrad()
            super.init()
        }
    }

    @Key("proj") var projection: Projection

    init(_ c: Qwen2VLVisionConfig) throws {
        _projection.wrappedValue = try Projection(c)
        super.init()
    }

    func callAsFunction(_ patches: Tensor) throws -> Tensor {
        let w = projection.weight
        return try patches.to(w.dtype).linear(w.reshape([w.size(0), -1]))
    }
}

final class VisionAttention: Module {
    let qkv: Linear
    let proj: Linear
    let heads: Int

    init(_ c: Qwen2VLVisionConfig) throws {
        qkv = try Linear(c.embedDim, 3 * c.embedDim)
        proj = try Linear(c.embedDim, c.embedDim)
        heads = c.headCount
        super.init()
    }

    /// x [N, D] holds every image's patches; `visible` [1, 1, N, N] keeps attention within an image.
    func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, visible: Tensor) throws -> Tensor {
        let n = x.size(0)
        let parts = try qkv(x).view([n, 3, heads, -1]).permute([1, 2, 0, 3])       // [3, heads, N, hd]
        let q = try RotaryEmbedding.apply(parts.select(dim: 0, index: 0), cos: cos, sin: sin).unsqueeze(0)
        let k = try RotaryEmbedding.apply(parts.select(dim: 0, index: 1), cos: cos, sin: sin).unsqueeze(0)
        let v = try parts.select(dim: 0, index: 2).unsqueeze(0)
        let out = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: visible)
        return try proj(out.squeeze(0).transpose(0, 1).reshape([n, -1]))
    }
}

final class VisionMLP: Module {
    let fc1: Linear
    let fc2: Linear

    init(_ c: Qwen2VLVisionConfig) throws {
        let hidden = Int(Double(c.embedDim) * c.mlpRatio)
        fc1 = try Linear(c.embedDim, hidden)
        fc2 = try Linear(hidden, c.embedDim)
        super.init()
    }

    /// QuickGELU: x·σ(1.702x).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try fc1(x)
        return try fc2(h * (h * 1.702).sigmoid())
    }
}

final class VisionBlock: Module {
    let norm1: LayerNorm
    let norm2: LayerNorm
    let attn: VisionAttention
    let mlp: VisionMLP

    init(_ c: Qwen2VLVisionConfig) throws {
        norm1 = try LayerNorm(c.embedDim, eps: 1e-6)
        norm2 = try LayerNorm(c.embedDim, eps: 1e-6)
        attn = try VisionAttention(c)
        mlp = try VisionMLP(c)
        super.init()
    }

    func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, visible: Tensor) throws -> Tensor {
        let h = try x + attn(norm1(x), cos: cos, sin: sin, visible: visible)
        return try h + mlp(norm2(h))
    }
}

/// Joins each 2×2 group of neighbouring patches (contiguous rows, as the processor orders them)
/// into one language-model token.
final class PatchMerger: Module {
    @Key("ln_q") var norm: LayerNorm
    @Key("mlp.0") var fc1: Linear
    @Key("mlp.2") var fc2: Linear
    let groupWidth: Int

    init(_ c: Qwen2VLVisionConfig) throws {
        groupWidth = c.embedDim * c.spatialMergeSize * c.spatialMergeSize
        _norm.wrappedValue = try LayerNorm(c.embedDim, eps: 1e-6)
        _fc1.wrappedValue = try Linear(groupWidth, groupWidth)
        _fc2.wrappedValue = try Linear(groupWidth, c.hiddenSize)
        super.init()
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try fc2(fc1(norm(x).reshape([-1, groupWidth])).gelu())
    }
}

/// The vision tower (`visual.*`): patches of any number of images in, one feature per merged
/// 2×2 group out, each image attending only to itself.
public final class Qwen2VLVisionTower: Module {
    public let config: Qwen2VLVisionConfig
    @Key("patch_embed") var patchEmbedding: PatchEmbedding
    let blocks: [VisionBlock]
    let merger: PatchMerger

    public init(_ config: Qwen2VLVisionConfig) throws {
        self.config = config
        _patchEmbedding.wrappedValue = try PatchEmbedding(config)
        blocks = try (0..<config.depth).map { _ in try VisionBlock(config) }
        merger = try PatchMerger(config)
        super.init()
    }

    /// Features [Σ t·h·w / merge², hidden] of patches [Σ t·h·w, C·T·P·P] with their grids.
    public func callAsFunction(_ patches: Tensor, grids: [(t: Int, h: Int, w: Int)]) throws -> Tensor {
        let counts = grids.map { $0.t * $0.h * $0.w }
        guard patches.rank == 2, patches.size(0) == counts.reduce(0, +) else {
            throw ConfigError(source: "vision tower", message: "\(patches.shape) patches for grids \(grids.map { [$0.t, $0.h, $0.w] })")
        }
        // Patches come as float32 from the processor; the tower may be on another device or in bf16.
        let weight = patchEmbedding.parameters()[0]
        let device = weight.device
        var h = try patchEmbedding(patches.to(device).to(weight.dtype))
        let (cos, sin) = try rotary(grids: grids, device: device, dtype: h.dtype)
        let visible = try blockDiagonal(counts, device: device)
        for block in blocks { h = try block(h, cos: cos, sin: sin, visible: visible) }
        return try merger(h)
    }

    /// 2-D rotary angles per patch, in the processor's merge-aware order: the first half of each
    /// head turns with the patch's row, the second with its column.
    private func rotary(grids: [(t: Int, h: Int, w: Int)], device: Device, dtype: DType) throws -> (Tensor, Tensor) {
        let m = config.spatialMergeSize
        var rows: [Float] = [], columns: [Float] = []
        for g in grids {
            for _ in 0..<g.t {
                for bh in 0..<(g.h / m) { for bw in 0..<(g.w / m) { for mh in 0..<m { for mw in 0..<m {
                    rows.append(Float(bh * m + mh))
                    columns.append(Float(bw * m + mw))
                } } } }
            }
        }
        let spatial = config.headDim / 2
        let inverse = try Tensor(RotaryEmbedding.defaultFrequencies(dim: spatial, base: config.ropeTheta).map(Float.init))
        let angles = try Tensor.cat([Tensor(rows).unsqueeze(1) * inverse, Tensor(columns).unsqueeze(1) * inverse], dim: 1)
        let emb = try Tensor.cat([angles, angles], dim: 1).unsqueeze(0).to(device)   // [1, N, hd], broadcast over heads
        return (try emb.cos().to(dtype), try emb.sin().to(dtype))
    }

    private func blockDiagonal(_ counts: [Int], device: Device) throws -> Tensor {
        let image = try Tensor(counts.enumerated().flatMap { i, n in [Float](repeating: Float(i), count: n) })
        return try image.unsqueeze(1).eq(image.unsqueeze(0)).unsqueeze(0).unsqueeze(0).to(device)
    }
}
