import Foundation
import NN
import Torch

/// Processed images of one forward, in the order their pad tokens appear (row by row):
/// flattened patches [Σ t·h·w, C·T·P·P] and each image's patch grid.
public struct ImagePatches {
    public let patches: Tensor
    public let grids: [(t: Int, h: Int, w: Int)]

    public init(patches: Tensor, grids: [(t: Int, h: Int, w: Int)]) {
        self.patches = patches
        self.grids = grids
    }
}

/// Qwen2-VL: the vision tower's features take the place of the `<|image_pad|>` tokens in the
/// decoder's input, and M-RoPE gives image tokens (row, column) positions.
public final class Qwen2VLModel: Module {
    public let config: Qwen2VLConfig
    @Key("visual") public var vision: Qwen2VLVisionTower
    @Key("language") public var language: CausalLM

    public init(_ config: Qwen2VLConfig) throws {
        self.config = config
        _vision.wrappedValue = try Qwen2VLVisionTower(config.vision)
        _language.wrappedValue = try CausalLM(config.text)
        super.init()
    }

    /// The checkpoint key of each of our parameters, for both layouts: transformers 5
    /// (`model.visual.*`, `model.language_model.*`, `lm_head.*`) and the original one
    /// (`visual.*`, `model.*`, `lm_head.*`).
    public static func checkpointKey(_ ours: String, layout: CheckpointLayout) -> String {
        let (visual, decoder) = layout == .transformers5 ? ("model.visual.", "model.language_model.") : ("visual.", "model.")
        if ours.hasPrefix("visual.") { return visual + ours.dropFirst("visual.".count) }
        if ours.hasPrefix("language.model.") { return decoder + ours.dropFirst("language.model.".count) }
        return String(ours.dropFirst("language.".count))  // language.lm_head.weight
    }

    public enum CheckpointLayout { case transformers5, original }

    /// Decoder input embeddings [B, L, H] with image features scattered onto the image pad tokens.
    public func inputEmbeddings(ids: Tensor, images: ImagePatches?) throws -> Tensor {
        let embeddings = try language.embed(ids.to(language.device))
        let flat = try ids.reshape([-1]).toArray(Int64.self)
        let slots = flat.indices.filter { flat[$0] == Int64(config.imageTokenId) }
        guard let images else {
            guard slots.isEmpty else { throw ConfigError(source: "Qwen2-VL input", message: "\(slots.count) image tokens but no image") }
            return embeddings
        }
        let features = try vision(images.patches, grids: images.grids).to(embeddings.dtype)
        guard features.size(0) == slots.count else {
            throw ConfigError(source: "Qwen2-VL input", message: "\(slots.count) image tokens for \(features.size(0)) image features")
        }
        let (b, l, hidden) = (embeddings.size(0), embeddings.size(1), embeddings.size(2))
        let index = try Tensor(slots.map(Int64.init), shape: [slots.count, 1]).to(embeddings.device).expand([slots.count, hidden])
        return try embeddings.reshape([b * l, hidden]).scatter(dim: 0, index: index, source: features).reshape([b, l, hidden])
    }

    /// M-RoPE positions [3, B, L] as transformers' `get_rope_index`: text tokens count on along
    /// all three axes; an image's tokens share the temporal position where it starts and take
    /// (row, column) offsets on the other two; the text after it resumes past the image's larger
    /// side. Padding (mask 0) gets 0. Also each row's shift: largest position + 1 − real tokens,
    /// which later tokens' positions carry.
    public func ropePositions(ids: Tensor, attentionMask: Tensor?, grids: [(t: Int, h: Int, w: Int)]) throws -> (positions: Tensor, shifts: [Int]) {
        let (b, l) = (ids.size(0), ids.size(1))
        let tokens = try ids.to(.cpu).toArray(Int64.self)
        let mask = try attentionMask.map { try $0.to(.cpu).to(.int64).toArray(Int64.self) } ?? [Int64](repeating: 1, count: b * l)
        let m = config.vision.spatialMergeSize
        var out = [[Int64]](repeating: [Int64](repeating: 0, count: b * l), count: 3)
        var shifts: [Int] = []
        var nextGrid = grids.makeIterator()
        for row in 0..<b {
            let real = (0..<l).filter { mask[row * l + $0] != 0 }
            var i = 0, current = 0, largest = -1
            func put(_ slot: Int, _ t: Int, _ h: Int, _ w: Int) {
                out[0][row * l + slot] = Int64(t); out[1][row * l + slot] = Int64(h); out[2][row * l + slot] = Int64(w)
                largest = max(largest, t, h, w)
            }
            while i < real.count {
                guard tokens[row * l + real[i]] == Int64(config.imageTokenId) else {
                    put(real[i], current, current, current)
                    current += 1
                    i += 1
                    continue
                }
                guard let g = nextGrid.next() else {
                    throw ConfigError(source: "Qwen2-VL input", message: "more images in the tokens than image grids")
                }
                let (gh, gw) = (g.h / m, g.w / m)
                for t in 0..<g.t { for y in 0..<gh { for x in 0..<gw {
                    guard i < real.count, tokens[row * l + real[i]] == Int64(config.imageTokenId) else {
                        throw ConfigError(source: "Qwen2-VL input", message: "an image of grid \([g.t, g.h, g.w]) needs \(g.t * gh * gw) image tokens in a row")
                    }
                    put(real[i], current + t, current + y, current + x)
                    i += 1
                } } }
                current += max(gh, gw)
            }
            shifts.append(largest + 1 - real.count)
        }
        let positions = try Tensor(out.flatMap { $0 }, shape: [3, b, l]).to(language.device)
        return (positions, shifts)
    }

    /// Logits [B, L, V].
    public func callAsFunction(ids: Tensor, attentionMask: Tensor? = nil, images: ImagePatches?, cache: KVCache? = nil) throws -> Tensor {
        try language.logits(hiddenStates(ids: ids, attentionMask: attentionMask, images: images, cache: cache).hidden)
    }

    /// Final hidden states [B, L, H] and the rows' position shifts for tokens that follow.
    public func hiddenStates(ids: Tensor, attentionMask: Tensor? = nil, images: ImagePatches?,
                             cache: KVCache? = nil) throws -> (hidden: Tensor, shifts: [Int]) {
        let embeddings = try inputEmbeddings(ids: ids, images: images)
        let (positions, shifts) = try ropePositions(ids: ids, attentionMask: attentionMask, grids: images?.grids ?? [])
        let mask = try attentionMask?.to(language.device)
        let hidden = try language.hiddenStates(.embeddings(embeddings), attentionMask: mask, positions: positions, cache: cache)
        return (hidden, shifts)
    }
}
