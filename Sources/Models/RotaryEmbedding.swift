import Foundation
import Torch

/// Rotary position embeddings as Hugging Face computes them (`rotate_half` layout):
/// inverse frequencies per scaling type, then cos/sin of position × frequency, duplicated.
public struct RotaryEmbedding {
    public let dim: Int
    public let base: Double
    public let scaling: RopeScaling
    /// Inverse frequencies (dim/2) and the factor cos/sin are multiplied by.
    public let inverseFrequencies: [Double]
    public let attentionScaling: Double
    /// M-RoPE sections (temporal, height, width frequency pairs); nil for 1-D positions.
    public let mropeSection: [Int]?

    public init(dim: Int, base: Double, scaling: RopeScaling, mropeSection: [Int]? = nil) {
        self.dim = dim
        self.base = base
        self.scaling = scaling
        self.mropeSection = mropeSection
        (inverseFrequencies, attentionScaling) = RotaryEmbedding.frequencies(dim: dim, base: base, scaling: scaling, sequenceLength: nil)
    }

    static func defaultFrequencies(dim: Int, base: Double) -> [Double] {
        // Float32 as transformers computes `base ** (arange(0, dim, 2).float() / dim)`.
        stride(from: 0, to: dim, by: 2).map { Double(1 / Foundation.pow(Float(base), Float($0) / Float(dim))) }
    }

    /// Inverse frequencies and attention scaling; `sequenceLength` matters only for dynamic scaling.
    public static func frequencies(dim: Int, base: Double, scaling: RopeScaling, sequenceLength: Int?) -> ([Double], Double) {
        let inv = defaultFrequencies(dim: dim, base: base)
        switch scaling {
        case .none:
            return (inv, 1)
        case .linear(let factor):
            return (inv.map { $0 / factor }, 1)
        case let .dynamic(factor, original):
            guard let n = sequenceLength, n > original else { return (inv, 1) }
            let b = base * Foundation.pow(factor * Double(n) / Double(original) - (factor - 1), Double(dim) / Double(dim - 2))
            return (defaultFrequencies(dim: dim, base: b), 1)
        case let .llama3(factor, low, high, original):
            let lowWavelen = Double(original) / low, highWavelen = Double(original) / high
            let out = inv.map { f -> Double in
                let wavelen = 2 * Double.pi / f
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / factor }
                let smooth = (Double(original) / wavelen - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
            return (out, 1)
        case let .yarn(factor, original, betaFast, betaSlow, attentionFactor):
            func correctionDim(_ rotations: Double) -> Double {
                Double(dim) * Foundation.log(Double(original) / (rotations * 2 * Double.pi)) / (2 * Foundation.log(base))
            }
            let low = Swift.max(Foundation.floor(correctionDim(betaFast)), 0)
            var high = Swift.min(Foundation.ceil(correctionDim(betaSlow)), Double(dim - 1))
            if low == high { high += 0.001 }
            let out = inv.enumerated().map { i, f -> Double in
                let ramp = Swift.min(Swift.max((Double(i) - low) / (high - low), 0), 1)
                let extrapolation = 1 - ramp
                return (f / factor) * (1 - extrapolation) + f * extrapolation
            }
            let mscale = attentionFactor ?? (factor <= 1 ? 1 : 0.1 * Foundation.log(factor) + 1)
            return (out, mscale)
        }
    }

    /// cos and sin of shape [B, 1, L, dim] for position ids [B, L], or [3, B, L] (temporal,
    /// height, width) with M-RoPE: frequency pair j then turns with the position of the axis
    /// whose section holds j (sections [16, 24, 24]: pairs 0–15 by t, 16–39 by h, 40–63 by w).
    public func cosSin(positions: Tensor, dtype: DType) throws -> (Tensor, Tensor) {
        var inv = inverseFrequencies, scale = attentionScaling
        if case .dynamic = scaling {
            let longest = try positions.max().itemInt() + 1
            (inv, scale) = RotaryEmbedding.frequencies(dim: dim, base: base, scaling: scaling, sequenceLength: longest)
        }
        let freqs = try Tensor(inv.map(Float.init)).to(positions.device)
        var angles = try positions.to(.float32).unsqueeze(-1) * freqs          // [B, L, dim/2] or [3, B, L, dim/2]
        if positions.rank == 3 {
            guard let sections = mropeSection, positions.size(0) == 3 else {
                throw ConfigError(source: "rotary positions", message: "[3, B, L] positions need a model with mrope_section")
            }
            let parts = try angles.split(sizes: sections, dim: -1)
            angles = try Tensor.cat(parts.enumerated().map { i, part in try part.select(dim: 0, index: i % 3) }, dim: -1)
        }
        let emb = try Tensor.cat([angles, angles], dim: -1).unsqueeze(1)       // [B, 1, L, dim]
        return (try (emb.cos() * scale).to(dtype), try (emb.sin() * scale).to(dtype))
    }

    /// x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁].
    public static func apply(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
        let half = x.size(-1) / 2
        let x1 = try x.narrow(dim: -1, start: 0, length: half), x2 = try x.narrow(dim: -1, start: half, length: half)
        let rotated = try Tensor.cat([-x2, x1], dim: -1)
        return try x * cos + rotated * sin
    }
}
