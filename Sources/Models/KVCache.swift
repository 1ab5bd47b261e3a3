import Torch

/// Keys and values of earlier positions, per layer, shaped [B, kvHeads, S, headDim].
/// Appending concatenates, as transformers' DynamicCache does.
public final class KVCache {
    public private(set) var keys: [Tensor?]
    public private(set) var values: [Tensor?]

    public init(layers: Int) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
    }

    /// Positions already cached.
    public var length: Int { keys.first??.size(2) ?? 0 }

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
