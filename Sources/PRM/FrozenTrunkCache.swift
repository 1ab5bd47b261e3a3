import Torch

/// The states leaving the frozen bottom layers of a partially fine-tuned backbone
/// (`--train_layers`), per token sequence. A training iteration reads its lower batch three
/// times (the step, then θ ± εv for darts) and meta chains recur; the frozen layers give the
/// same states each time, so only the trained layers above them need to run again. The frozen
/// weights must not change while a cache is in use; their dtype is part of the key (darts runs
/// low-precision layers as float32 copies).
public final class FrozenTrunkCache {
    struct Key: Hashable {
        let tokens: [Int]
        let layers: Int
        let dtype: DType
    }

    public let byteBudget: Int
    private var entries: [Key: (states: Tensor, lastUse: Int)] = [:]
    private var bytes = 0
    private var clock = 0
    public private(set) var hits = 0
    public private(set) var misses = 0

    /// Least recently used states go first once they hold more than `byteBudget` bytes.
    public init(byteBudget: Int) { self.byteBudget = byteBudget }

    func states(_ key: Key, compute: () throws -> Tensor) throws -> Tensor {
        clock += 1
        if let hit = entries[key] {
            hits += 1
            entries[key] = (hit.states, clock)
            return hit.states
        }
        misses += 1
        let states = try compute()
        let size = states.count * states.dtype.byteSize
        guard size <= byteBudget else { return states }
        while bytes + size > byteBudget, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            bytes -= oldest.value.states.count * oldest.value.states.dtype.byteSize
            entries[oldest.key] = nil
        }
        entries[key] = (states, clock)
        bytes += size
        return states
    }
}
