import Torch

/// Keys and values of earlier positions, per layer, shaped [B, kvHeads, S, headDim].
/// Appending concatenates, as transformers' DynamicCache does, so a tensor once cached is never
/// written again: forks share them.
public final class KVCache {
    public private(set) var keys: [Tensor?]
    public private(set) var values: [Tensor?]

    public init(layers: Int) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
    }

    /// Positions already cached.
    public var length: Int { keys.first??.size(2) ?? 0 }

    /// Rows cached.
    public var batchSize: Int { keys.first??.size(0) ?? 0 }

    /// A cache that starts as this one and grows on its own (the tensors are shared, not copied).
    public func fork() -> KVCache {
        let copy = KVCache(layers: keys.count)
        (copy.keys, copy.values) = (keys, values)
        return copy
    }

    /// Keeps the first `length` positions.
    public func trim(to length: Int) throws {
        precondition(length >= 0 && length <= self.length, "KVCache.trim(to: \(length)) of \(self.length) positions")
        if length == self.length { return }
        for i in keys.indices {
            keys[i] = length == 0 ? nil : try keys[i]!.narrow(dim: 2, start: 0, length: length)
            values[i] = length == 0 ? nil : try values[i]!.narrow(dim: 2, start: 0, length: length)
        }
    }

    /// A one-row cache repeated into `rows` rows, so `rows` sequences decode on from one prefill.
    public func expand(to rows: Int) throws {
        precondition(batchSize == 1, "KVCache.expand(to:) needs a one-row cache, not \(batchSize) rows")
        for i in keys.indices {
            guard let k = keys[i], let v = values[i] else { continue }
            keys[i] = try k.expand([rows, k.size(1), k.size(2), k.size(3)]).contiguous()
            values[i] = try v.expand([rows, v.size(1), v.size(2), v.size(3)]).contiguous()
        }
    }

    /// Appends this step's keys and values for `layer`; returns the full ones.
    func update(layer: Int, keys k: Tensor, values v: Tensor) throws -> (Tensor, Tensor) {
        if let pk = keys[layer], let pv = values[layer] {
            keys[layer] = try Tensor.cat([pk, k], dim: 2)
            values[layer] = try Tensor.cat([pv, v], dim: 2)
        } else {
            keys[layer] = k
            values[layer] = v
        }
        return (keys[layer]!, values[layer]!)
    }
}
