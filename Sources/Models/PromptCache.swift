import Torch

/// The beginning of a prompt that enters the model in one piece through `prefill` (a user turn
/// holding images): its first `length` tokens, told apart from other heads with the same ids
/// (the images' tokens are all alike) by `key`.
public struct PromptHead {
    public let key: String
    public let length: Int
    public let prefill: TextGenerator.Prefill

    public init(key: String, length: Int, prefill: @escaping TextGenerator.Prefill) {
        self.key = key
        self.length = length
        self.prefill = prefill
    }
}

/// The keys and values of the last prompt prefilled, so that prompts sharing their beginning
/// (the rounds of rollouts from one step prefix; the step prefixes of one chain) prefill only
/// past what they share.
///
/// Prompts are prefilled in blocks aligned to multiples of `block` tokens (counted from the end
/// of the head, where there is one) and only whole blocks are reused, so each position's keys
/// and values come out of the same computation whatever was prefilled before: samples do not
/// depend on the order of requests, and a resumed run equals an uninterrupted one bit for bit.
public final class PromptCache {
    public let block: Int
    private var ids: [Int] = []
    private var headKey: String?
    private var cache: KVCache?
    private var lastLogits: Tensor?
    private var shift = 0
    /// Prompt tokens run through the model, and those taken from the cache instead.
    public private(set) var prefilledTokens = 0, reusedTokens = 0

    public init(block: Int = 64) {
        precondition(block > 0)
        self.block = block
    }

    /// A one-row cache holding `prompt` (a fork the caller may extend), the logits [1, V] of its
    /// last position, and how far the positions of tokens that follow lie past the prompt's
    /// length (M-RoPE images; 0 otherwise).
    public func prefill(_ prompt: [Int], model: CausalLM, head: PromptHead? = nil) throws -> (cache: KVCache, last: Tensor, shift: Int) {
        let start = head?.length ?? 0
        precondition(start <= prompt.count && !prompt.isEmpty, "a prompt of \(prompt.count) tokens and a head of \(start)")
        let sameHead = head?.key == headKey
        if sameHead, prompt == ids, let cache, let lastLogits {
            reusedTokens += prompt.count
            return (cache.fork(), lastLogits, shift)
        }
        let shared = sameHead ? zip(prompt, ids).prefix { $0 == $1 }.count : 0
        var cache: KVCache, last: Tensor?, kept: Int
        if let head, shared < head.length || prompt.count == head.length || self.cache == nil {
            // The head runs whole (its last logits are not kept), then the rest in blocks from its end.
            cache = KVCache(layers: model.config.layerCount)
            let ids = try Tensor(prompt[..<head.length].map(Int64.init), shape: [1, head.length]).to(model.device)
            let (logits, shifts) = try head.prefill(ids, nil, cache)
            (last, shift, kept) = (try logits.select(dim: 1, index: -1), shifts[0], head.length)
            prefilledTokens += head.length
        } else {
            // At least one token runs, for the last position's logits.
            kept = start + max(0, min(shared, prompt.count - 1) - start) / block * block
            if head == nil { shift = 0 }
            cache = self.cache?.fork() ?? KVCache(layers: model.config.layerCount)
            try cache.trim(to: kept)
            reusedTokens += kept
        }
        for from in stride(from: kept, to: prompt.count, by: block) {
            let chunk = prompt[from..<min(from + block, prompt.count)].map(Int64.init)
            let positions = shift == 0 ? nil : try Tensor((from..<(from + chunk.count)).map { Int64($0 + shift) }, shape: [1, chunk.count]).to(model.device)
            let hidden = try model.hiddenStates(.tokens(Tensor(chunk, shape: [1, chunk.count]).to(model.device)), positions: positions, cache: cache)
            last = try model.logits(hidden.narrow(dim: 1, start: chunk.count - 1, length: 1)).select(dim: 1, index: 0)
            prefilledTokens += chunk.count
        }
        (ids, headKey, self.cache, lastLogits) = (prompt, head?.key, cache, last)
        return (cache.fork(), last!, shift)
    }
}
