import Foundation
import Tokenizers
import Torch

/// How the next token is chosen (transformers' semantics for temperature, top-k, top-p).
public struct SamplingParameters: Sendable {
    public var maxTokens = 128
    /// 0 means greedy (argmax).
    public var temperature = 0.0
    public var topK: Int?
    public var topP: Double?
    public var seed: UInt64 = 0
    /// Generation of a row ends when its text contains one of these; the text is cut before it.
    public var stopStrings: [String] = []
    /// Generation of a row ends at these tokens (the tokenizer's EOS is added by default).
    public var stopTokenIDs: Set<Int> = []
    /// The stop tokens cannot be drawn before this many new tokens (transformers' `min_new_tokens`).
    public var minTokens = 0

    public init(maxTokens: Int = 128, temperature: Double = 0, topK: Int? = nil, topP: Double? = nil, seed: UInt64 = 0,
                stopStrings: [String] = [], stopTokenIDs: Set<Int> = [], minTokens: Int = 0) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.stopStrings = stopStrings
        self.stopTokenIDs = stopTokenIDs
        self.minTokens = minTokens
    }
}

/// One finished generation.
public struct Generation: Sendable {
    public var newIDs: [Int]
    public var text: String
    public var stoppedBy: String
}

public enum Sampler {
    /// Next-token ids [B] from logits [B, V].
    public static func next(_ logits: Tensor, _ p: SamplingParameters) throws -> Tensor {
        if p.temperature <= 0 { return try logits.argmax(dim: -1) }
        var scores = try logits.to(.float32) / p.temperature
        if let k = p.topK, k > 0, k < scores.size(-1) {
            let kth = try scores.topk(k, dim: -1).values.narrow(dim: -1, start: k - 1, length: 1)
            scores = try scores.maskedFill(scores.lt(kth), -.infinity)
        }
        if let topP = p.topP, topP < 1, p.topK == nil, let nucleus = try nucleusSample(scores, topP: topP) { return nucleus }
        if let topP = p.topP, topP < 1 {
            // Drop the smallest tokens whose total probability stays within 1 − p; keep the largest.
            let (sorted, order) = try scores.sort(dim: -1, descending: false)
            let cumulative = try sorted.softmax(dim: -1).cumsum(dim: -1)
            var remove = try cumulative.le(1 - topP)
            let last = try Tensor.zeros([remove.size(0), 1], dtype: .bool)
            remove = try Tensor.cat([remove.narrow(dim: -1, start: 0, length: remove.size(-1) - 1), last], dim: -1)
            let removeByToken = try Tensor.zeros(like: remove).scatter(dim: -1, index: order, source: remove)
            scores = try scores.maskedFill(removeByToken, -.infinity)
        }
        return try scores.softmax(dim: -1).multinomial(1).squeeze(-1)
    }

    static let nucleusCandidates = 256

    /// Top-p sampling among the most likely `nucleusCandidates` tokens, which is exact when,
    /// in every row, they hold at least `topP` of the probability: every other token then lies
    /// past the nucleus. Sorting the whole vocabulary costs more than the rest of a small
    /// model's decoding step; nil sends the caller to the full sort.
    private static func nucleusSample(_ scores: Tensor, topP: Double) throws -> Tensor? {
        let k = Swift.min(nucleusCandidates, scores.size(-1))
        let (values, indices) = try scores.logSoftmax(dim: -1).topk(k, dim: -1)
        let probabilities = try values.exp()
        let cumulative = try probabilities.cumsum(dim: -1)
        guard try cumulative.narrow(dim: -1, start: k - 1, length: 1).min().item() >= topP else { return nil }
        // transformers keeps a token while the mass of the tokens above it is below p.
        let outside = try (cumulative - probabilities).ge(topP)
        let pick = try values.maskedFill(outside, -.infinity).softmax(dim: -1).multinomial(1)
        return try indices.gather(dim: -1, index: pick).squeeze(-1)
    }
}

/// Batched autoregressive generation with a KV cache; prompts are left-padded together.
public struct TextGenerator {
    public let model: CausalLM
    public let tokenizer: BPETokenizer

    public init(model: CausalLM, tokenizer: BPETokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// How a prompt enters the model when it holds more than tokens (a vision-language prompt):
    /// given the left-padded ids [B, L], their mask (nil without padding) and the cache to fill,
    /// the logits [B, L, V] and how far each row's later positions lie past its token count.
    public typealias Prefill = (_ ids: Tensor, _ mask: Tensor?, _ cache: KVCache) throws -> (logits: Tensor, positionShifts: [Int])

    /// Generates for every prompt; `onText` receives row 0's text as it grows (for streaming).
    public func generate(_ prompts: [[Int]], _ p: SamplingParameters, prefill: Prefill? = nil,
                         onText: ((String) -> Void)? = nil) throws -> [Generation] {
        guard !prompts.isEmpty, prompts.allSatisfy({ !$0.isEmpty }) else {
            throw ConfigError(source: "generate", message: "every prompt needs at least one token")
        }
        let pad = tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0
        let width = prompts.map(\.count).max()!
        let ids = prompts.flatMap { [Int](repeating: pad, count: width - $0.count) + $0 }.map(Int64.init)
        let mask = prompts.flatMap { [Int64](repeating: 0, count: width - $0.count) + [Int64](repeating: 1, count: $0.count) }
        let b = prompts.count
        let device = model.device
        let attention = try Tensor(mask, shape: [b, width]).to(device)
        let padded = mask.contains(0)
        let cache = KVCache(layers: model.config.layerCount)
        return try Autograd.noGrad {
            let promptIDs = try Tensor(ids, shape: [b, width]).to(device)
            var logits: Tensor, shifts = [Int](repeating: 0, count: b)
            if let prefill {
                (logits, shifts) = try prefill(promptIDs, padded ? attention : nil, cache)
            } else {
                logits = try model(.tokens(promptIDs), attentionMask: padded ? attention : nil, cache: cache)
            }
            return try decode(from: logits.select(dim: 1, index: -1), cache: cache, attention: padded ? attention : nil,
                              counts: prompts.map(\.count), shifts: shifts, p, onText: onText)
        }
    }

    /// `count` samples continuing one prompt: the prompt is prefilled once (through `prompts`,
    /// which reuses what earlier prompts share with it) and the samples decode as one batch
    /// from copies of its cache. A prompt holding images names them in `head`.
    public func sample(_ prompt: [Int], count: Int, _ p: SamplingParameters, prompts: PromptCache, head: PromptHead? = nil) throws -> [Generation] {
        guard !prompt.isEmpty, count > 0 else { throw ConfigError(source: "generate", message: "a prompt needs at least one token and one sample") }
        return try Autograd.noGrad {
            let (cache, last, shift) = try prompts.prefill(prompt, model: model, head: head)
            try cache.expand(to: count)
            return try decode(from: last.expand([count, last.size(-1)]), cache: cache, attention: nil,
                              counts: [Int](repeating: prompt.count, count: count), shifts: [Int](repeating: shift, count: count), p, onText: nil)
        }
    }

    /// Samples token after token from the prompts' last logits [B, V] until every row stops.
    /// `counts` are each row's real tokens so far: a new token's position is that count plus its shift.
    private func decode(from first: Tensor, cache: KVCache, attention: Tensor?, counts: [Int], shifts: [Int],
                        _ p: SamplingParameters, onText: ((String) -> Void)?) throws -> [Generation] {
        Runtime.manualSeed(p.seed)
        let stops = p.stopTokenIDs.union(tokenizer.eosTokenID.map { [$0] } ?? [])
        let pad = tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0
        let b = counts.count, device = model.device
        var results = [Generation](repeating: Generation(newIDs: [], text: "", stoppedBy: "max_tokens"), count: b)
        var finished = [Bool](repeating: false, count: b)
        var logits = first, attention = attention, counts = counts
        let vocabulary = first.size(-1)
        let barStops = p.minTokens > 0 ? try Tensor((0..<vocabulary).map { stops.contains($0) ? -Float.infinity : 0 }, shape: [1, vocabulary])
            .to(device).to(first.dtype) : nil
        for step in 0..<p.maxTokens {
            if let barStops, step < p.minTokens { logits = try logits + barStops }
            let next = try Sampler.next(logits, p).toArray(Int64.self).map(Int.init)
            for row in 0..<b where !finished[row] {
                let token = next[row]
                if stops.contains(token) {
                    finished[row] = true
                    results[row].stoppedBy = "eos"
                    continue
                }
                results[row].newIDs.append(token)
                let text = tokenizer.decode(results[row].newIDs)
                if let stop = p.stopStrings.first(where: { text.contains($0) }) {
                    results[row].text = String(text[..<text.range(of: stop)!.lowerBound])
                    results[row].stoppedBy = "stop_string"
                    finished[row] = true
                } else {
                    results[row].text = text
                }
                if row == 0 { onText?(results[0].text) }
            }
            if finished.allSatisfy({ $0 }) { break }
            let feed = try Tensor(next.enumerated().map { finished[$0.offset] ? Int64(pad) : Int64($0.element) }, shape: [b, 1]).to(device)
            if let mask = attention { attention = try Tensor.cat([mask, Tensor.ones([b, 1], dtype: .int64, device: device)], dim: 1) }
            let positions = shifts.allSatisfy { $0 == 0 } ? nil
                : try Tensor(zip(counts, shifts).map { Int64($0 + $1) }, shape: [b, 1]).to(device)
            counts = counts.map { $0 + 1 }
            logits = try model(.tokens(feed), attentionMask: attention, positions: positions, cache: cache).select(dim: 1, index: -1)
        }
        return results
    }
}
