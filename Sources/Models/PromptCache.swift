import Torch

/// The keys and values of the last prompt prefilled, so that prompts sharing their beginning
/// (the rounds of rollouts from one step prefix; the step prefixes of one chain) prefill only
/// past what they share.
///
/// Prompts are prefilled in blocks aligned to multiples of `block` tokens and only whole
/// blocks are reused, so each position's keys and values come out of the same computation
/// whatever was prefilled before: samples do not depend on the order of requests, and a
/// resumed run equals an uninterrupted one bit for bit.
public final class PromptCache {
    public let block: Int
    private var ids: [Int] = []
    private var cache: KVCache?
    private var lastLogits: Tensor?
    /// Prompt tokens run through the model, and those taken from the cache instead.
    public private(set) var prefilledTokens = 0, reusedTokens = 0

    public init(block: Int = 64) {
        precondition(block > 0)
        self.block = block
    }

    /// A one-row cache holding `prompt` (a fork the caller may extend) and the logits [1, V]
    /// of its last position.
    public func prefill(_ prompt: [Int], model: CausalLM) throws -> (KVCache, Tensor) {
        if prompt == ids, let cache, let lastLogits {
            reusedTokens += prompt.count
            return (cache.fork(), lastLogits)
        }
        let shared = zip(prompt, ids).prefix { $0 == $1 }.count
        // At least one token runs, for the last position's logits.
        let kept = min(shared, prompt.count - 1) / block * block
        let cache = self.cache?.fork() ?? KVCache(layers: model.config.layerCount)
        try cache.trim(to: kept)
        var last: Tensor?
        for start in stride(from: kept, to: prompt.count, by: block) {
            let chunk = prompt[start..<min(start + block, prompt.count)].map(Int64.init)
            let hidden = try model.hiddenStates(.tokens(Tensor(chunk, shape: [1, chunk.count]).to(model.device)), cache: cache)
            last = try model.logits(hidden.narrow(dim: 1, start: chunk.count - 1, length: 1)).select(dim: 1, index: 0)
        }
        (ids, self.cache, lastLogits) = (prompt, cache, last)
        prefilledTokens += prompt.count - kept
        reusedTokens += kept
        return (cache.fork(), last!)
    }
}
