import Models
import NN
import Torch

/// Where the scalar head reads: DreamPRM v1 puts Linear(vocab → 1) on the full next-token
/// logit vector at the last position; the hidden-state head is Linear(hidden → 1), far cheaper.
public enum ScalarHeadInput: String, Codable, Sendable {
    case logits, hidden
}

/// How a chain's step prefixes are run through the backbone.
public enum PrefixScoring: String, Codable, Sendable {
    /// One forward per step prefix, exactly as the original.
    case perPrefix = "per-prefix"
    /// The longest prefix once with a KV cache; every other prefix reuses the cache up to
    /// the tokens it shares with it and runs only the rest (its suffix), giving the same scores.
    case sharedPrefix = "shared-prefix"
}

/// Step logits of one chain and what computing them cost.
public struct ChainScores {
    /// Pre-sigmoid head outputs z_k, one per step [K].
    public let logits: Tensor
    /// Tokens run through the backbone, and what per-prefix scoring would have run.
    public let tokensProcessed: Int
    public let perPrefixTokens: Int
}

/// A PRM that scores a token sequence with a scalar head over a causal LM (DreamPRM v1).
/// Parameter names: `backbone.model.*`, `backbone.lm_head.*`, `prm_head.*`.
public final class ScalarHeadPRM: Module {
    @Key("backbone") public var backbone: CausalLM
    @Key("prm_head") public var head: Linear
    public let input: ScalarHeadInput

    public init(backbone: CausalLM, input: ScalarHeadInput = .logits) throws {
        self.input = input
        _backbone.wrappedValue = backbone
        let width = input == .logits ? backbone.config.vocabSize : backbone.config.hiddenSize
        // float32 whatever the backbone's dtype, as the reference keeps its head.
        _head.wrappedValue = try Linear(width, 1, dtype: .float32)
        super.init()
    }

    /// z from final hidden states [N, H] at the scored positions.
    func headLogits(_ hidden: Tensor) throws -> Tensor {
        let features = input == .logits ? try backbone.logits(hidden) : hidden
        return try head(features.to(.float32)).squeeze(-1)
    }

    /// z for each sequence, read at its last token. Sequences are right-padded into one batch.
    public func logits(_ sequences: [[Int]]) throws -> Tensor {
        let width = sequences.map(\.count).max() ?? 0
        let ids = sequences.flatMap { $0.map(Int64.init) + [Int64](repeating: 0, count: width - $0.count) }
        let mask = sequences.flatMap { [Int64](repeating: 1, count: $0.count) + [Int64](repeating: 0, count: width - $0.count) }
        let device = backbone.device
        let b = sequences.count
        let padded = sequences.contains { $0.count < width }
        let hidden = try backbone.hiddenStates(.tokens(Tensor(ids, shape: [b, width]).to(device)),
                                               attentionMask: padded ? Tensor(mask, shape: [b, width]).to(device) : nil)
        let last = try Tensor(sequences.map { Int64($0.count - 1) }, shape: [b, 1, 1]).to(device).expand([b, 1, hidden.size(2)])
        return try headLogits(hidden.gather(dim: 1, index: last).squeeze(1))
    }

    /// z_k for every step prefix of one chain; `prefixes[k]` is the full token sequence the
    /// PRM reads for step k (chat-wrapped, generation prompt included).
    public func chainLogits(_ prefixes: [[Int]], mode: PrefixScoring) throws -> ChainScores {
        let perPrefixTokens = prefixes.reduce(0) { $0 + $1.count }
        guard mode == .sharedPrefix, prefixes.count > 1 else {
            return ChainScores(logits: try logits(prefixes), tokensProcessed: perPrefixTokens, perPrefixTokens: perPrefixTokens)
        }
        let device = backbone.device
        let longest = prefixes.indices.max { prefixes[$0].count < prefixes[$1].count }!
        let base = prefixes[longest]
        let cache = KVCache(layers: backbone.config.layerCount)
        let baseHidden = try backbone.hiddenStates(.tokens(Tensor(base.map(Int64.init), shape: [1, base.count]).to(device)), cache: cache)
        var processed = base.count
        var z: [Tensor] = []
        for (k, tokens) in prefixes.enumerated() {
            if k == longest {
                z.append(try headLogits(baseHidden.select(dim: 1, index: base.count - 1)))
                continue
            }
            // Reuse the cache over the tokens this prefix shares with the longest one; run
            // at least its last token so there is a position to read.
            let shared = Swift.min(commonPrefixLength(tokens, base), tokens.count - 1)
            let rest = Array(tokens[shared...])
            let hidden = try backbone.hiddenStates(.tokens(Tensor(rest.map(Int64.init), shape: [1, rest.count]).to(device)),
                                                   cache: try cache.truncated(to: shared))
            processed += rest.count
            z.append(try headLogits(hidden.select(dim: 1, index: rest.count - 1)))
        }
        return ChainScores(logits: try Tensor.cat(z, dim: 0), tokensProcessed: processed, perPrefixTokens: perPrefixTokens)
    }

    private func commonPrefixLength(_ a: [Int], _ b: [Int]) -> Int {
        var n = 0
        while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
        return n
    }
}
