import Torch

/// Keys and values of earlier positions, per layer, shaped [B, kvHeads, S, headDim].
///
/// Without autograd a layer's positions live in buffers with room to grow, so a decoding step
/// writes its one position in place instead of copying the whole cache (as concatenating does);
/// buffers a fork shares are copied before either side writes to them, so forks never see each
/// other's positions. With autograd on, appending concatenates, which keeps the graph intact.
public final class KVCache {
    private struct Layer {
        /// [B, kvHeads, capacity, headDim]; positions below `length` hold the cache.
        var keys: Tensor, values: Tensor
        var length: Int
        /// Also held by a fork (or part of a graph): copied before anything is written into it.
        var shared: Bool
    }
    private var layers: [Layer?]

    public init(layers: Int) {
        self.layers = Array(repeating: nil, count: layers)
    }

    /// Positions already cached.
    public var length: Int { layers.first??.length ?? 0 }

    /// Rows cached.
    public var batchSize: Int { layers.first??.keys.size(0) ?? 0 }

    /// Layer `layer`'s cached keys and values [B, kvHeads, length, headDim] (views of its buffers).
    public func entries(layer: Int) throws -> (keys: Tensor, values: Tensor)? {
        guard let e = layers[layer] else { return nil }
        return (try e.keys.narrow(dim: 2, start: 0, length: e.length), try e.values.narrow(dim: 2, start: 0, length: e.length))
    }

    /// A cache that starts as this one and grows on its own (the buffers are shared until one
    /// side writes, then copied).
    public func fork() -> KVCache {
        for i in layers.indices { layers[i]?.shared = true }
        let copy = KVCache(layers: layers.count)
        copy.layers = layers
        return copy
    }

    /// Keeps the first `length` positions.
    public func trim(to length: Int) throws {
        precondition(length >= 0 && length <= self.length, "KVCache.trim(to: \(length)) of \(self.length) positions")
        for i in layers.indices { layers[i] = length == 0 ? nil : layers[i].map { var e = $0; e.length = length; return e } }
    }

    /// A one-row cache repeated into `rows` rows, so `rows` sequences decode on from one prefill.
    public func expand(to rows: Int) throws {
        precondition(batchSize == 1, "KVCache.expand(to:) needs a one-row cache, not \(batchSize) rows")
        for i in layers.indices {
            guard let e = layers[i] else { continue }
            layers[i] = try Self.moved(e, rows: rows, room: e.length + 1)
        }
    }

    /// Appends this step's keys and values for `layer`; returns the full ones.
    func update(layer: Int, keys k: Tensor, values v: Tensor) throws -> (Tensor, Tensor) {
        let old = layers[layer]
        let length = (old?.length ?? 0) + k.size(2)
        if Autograd.isEnabled {
            let keys = try old.map { try Tensor.cat([$0.keys.narrow(dim: 2, start: 0, length: $0.length), k], dim: 2) } ?? k
            let values = try old.map { try Tensor.cat([$0.values.narrow(dim: 2, start: 0, length: $0.length), v], dim: 2) } ?? v
            layers[layer] = Layer(keys: keys, values: values, length: length, shared: true)
            return (keys, values)
        }
        var e = try old ?? Layer(keys: k.narrow(dim: 2, start: 0, length: 0), values: v.narrow(dim: 2, start: 0, length: 0), length: 0, shared: true)
        if e.shared || e.keys.size(2) < length { e = try Self.moved(e, rows: k.size(0), room: length) }
        try e.keys.narrow(dim: 2, start: e.length, length: k.size(2)).copy_(k)
        try e.values.narrow(dim: 2, start: e.length, length: v.size(2)).copy_(v)
        e.length = length
        layers[layer] = e
        return (try e.keys.narrow(dim: 2, start: 0, length: length), try e.values.narrow(dim: 2, start: 0, length: length))
    }

    /// `e`'s positions in fresh buffers of `rows` rows (repeated from one row) with room for at
    /// least `needed` positions, and half as many again so that growing copies rarely.
    private static func moved(_ e: Layer, rows: Int, room needed: Int) throws -> Layer {
        let capacity = needed + max(64, needed / 2)
        func move(_ t: Tensor) throws -> Tensor {
            let fresh = try Tensor.empty([rows, t.size(1), capacity, t.size(3)], dtype: t.dtype, device: t.device)
            if e.length > 0 {
                try fresh.narrow(dim: 2, start: 0, length: e.length)
                    .copy_(t.narrow(dim: 2, start: 0, length: e.length).expand([rows, t.size(1), e.length, t.size(3)]))
            }
            return fresh
        }
        return Layer(keys: try move(e.keys), values: try move(e.values), length: e.length, shared: false)
    }
}
