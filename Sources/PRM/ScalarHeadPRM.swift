import Models
import NN
import Torch

/// Where the scalar head reads: DreamPRM v1 puts Linear(vocab → 1) on the full next-token
/// logit vector at the last position; the hidden-state head is Linear(hidden → 1), far cheaper.
public enum ScalarHeadInput: String, Codable, CaseIterable, Sendable {
    case logits, hidden
}

/// How the scalar head starts and how fast it learns (METHOD.md §8).
public enum ScalarHeadInit: String, Codable, CaseIterable, Sendable {
    /// Zero weight and bias over standardised features, the weight trained at a rate divided
    /// by its fan-in: every step probability is 0.5 at the start, and one AdamW step moves z
    /// by at most about 2 × the head rate, whatever the vocabulary size or the logits' offset
    /// and scale. The features are each position's vector standardised (a LayerNorm without
    /// affine), minus their mean over a sample of training inputs, standardised again: what all
    /// inputs share (most of a logit vector) is removed, so what tells steps apart has unit
    /// scale and the head learns it at the same bounded rate.
    case standardized
    /// The original: PyTorch's default Linear initialisation over the raw features, trained at
    /// the backbone's rate. On SmolLM2's logits |z| is several units at step 0 (σ is nearly flat)
    /// and one step at the backbone's rate moves it by about lr × ‖logits‖₁.
    case reference
}

/// How a chain's step prefixes are run through the backbone.
public enum PrefixScoring: String, Codable, CaseIterable, Sendable {
    /// One forward per step prefix, exactly as the original.
    case perPrefix = "per-prefix"
    /// One forward over the prefixes' token trie (a tree attention mask): shared leading
    /// tokens run once, giving the same scores.
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
    /// With `.standardized`: the mean standardised feature vector of the training inputs
    /// (`centerFeatures`); a buffer, saved with the head, never trained.
    @Key("prm_feature_center") public var featureCenter: Tensor?
    public let input: ScalarHeadInput
    public let initialization: ScalarHeadInit
    /// The images of a vision-language backbone's sequences (their negative keys); nil for text.
    public var images: PromptImages?
    /// Set while training with frozen bottom layers (`--train_layers`): the states leaving them
    /// are kept per token sequence, so a record read three times (the step, θ ± εv), again in
    /// later batches, and meta chains that recur run the frozen layers once (text only).
    public var trunkCache: FrozenTrunkCache?

    public init(backbone: CausalLM, input: ScalarHeadInput = .logits, initialization: ScalarHeadInit = .standardized) throws {
        self.input = input
        self.initialization = initialization
        _backbone.wrappedValue = backbone
        let width = input == .logits ? backbone.config.vocabSize : backbone.config.hiddenSize
        // float32 whatever the backbone's dtype, as the reference keeps its head.
        let head = try Linear(width, 1, dtype: .float32)
        if initialization == .standardized {
            try Autograd.noGrad {
                try head.weight.zero_()
                try head.bias?.zero_()
            }
        }
        _head.wrappedValue = head
        _featureCenter.wrappedValue = initialization == .standardized
            ? try Tensor.zeros([width], dtype: .float32, device: backbone.device) : nil
        super.init()
    }

    /// The head's input width.
    public var fanIn: Int { head.weight.size(1) }

    /// Per-parameter multipliers of the lower optimiser's rate for `parameters` (the order the
    /// optimiser holds them): with `.standardized`, the head's bias learns at `headRate` and
    /// its weight at `headRate / fanIn`, so a step's change of z is bounded by ~2 × headRate
    /// (Adam moves each coordinate by about its rate, and Σ|x̂_i| ≤ fanIn for standardised x̂).
    /// The backbone keeps rate × 1; `.reference` trains everything at the backbone's rate.
    public func learningRateScales(for parameters: [Tensor], backboneRate: Double, headRate: Double) -> [Double] {
        parameters.map { p in
            guard initialization == .standardized else { return 1 }
            if p === head.weight { return headRate / (Double(fanIn) * backboneRate) }
            if let b = head.bias, p === b { return headRate / backboneRate }
            return 1
        }
    }

    /// The head's input from final hidden states [N, H] at the scored positions.
    func features(_ hidden: Tensor, centered: Bool = true) throws -> Tensor {
        let raw = try (input == .logits ? try backbone.logits(hidden) : hidden).to(.float32)
        guard let center = featureCenter else { return raw }
        let standardized = try raw.layerNorm([fanIn], weight: nil, bias: nil)
        return centered ? try (standardized - center).layerNorm([fanIn], weight: nil, bias: nil) : standardized
    }

    /// z from final hidden states [N, H] at the scored positions.
    func headLogits(_ hidden: Tensor) throws -> Tensor {
        try head(features(hidden)).squeeze(-1)
    }

    /// Sets the feature centre to the mean standardised feature of `sequences` (read at their
    /// last token, as the head reads them), in batches, without a graph.
    public func centerFeatures(on sequences: [[Int]], batchSize: Int = 8) throws {
        guard let center = featureCenter, !sequences.isEmpty else { return }
        try Autograd.noGrad {
            var sum = try Tensor.zeros([fanIn], dtype: .float32, device: center.device)
            for start in stride(from: 0, to: sequences.count, by: batchSize) {
                let batch = Array(sequences[start..<Swift.min(start + batchSize, sequences.count)])
                sum = try sum + features(lastHiddenStates(batch), centered: false).sum(dim: 0)
            }
            try center.copy_(sum / Double(sequences.count))
        }
    }

    /// z for each sequence, read at its last token. Sequences are right-padded into one batch.
    public func logits(_ sequences: [[Int]]) throws -> Tensor {
        try headLogits(lastHiddenStates(sequences))
    }

    /// Final hidden states [B, H] at each sequence's last token.
    func lastHiddenStates(_ sequences: [[Int]]) throws -> Tensor {
        if let images, sequences.contains(where: { $0.contains { $0 < 0 } }) {
            // With images, one sequence at a time: each has its own features and positions.
            return try Tensor.cat(sequences.map { s in
                let positions = try images.ropePositions(s).map { try Tensor($0.flatMap { $0.map(Int64.init) }, shape: [3, 1, s.count]) }
                let hidden = try backbone.hiddenStates(.embeddings(images.embeddings(s)), positions: positions?.to(backbone.device))
                return try hidden.narrow(dim: 1, start: s.count - 1, length: 1).squeeze(1)
            })
        }
        let width = sequences.map(\.count).max() ?? 0
        let ids = sequences.flatMap { $0.map(Int64.init) + [Int64](repeating: 0, count: width - $0.count) }
        let mask = sequences.flatMap { [Int64](repeating: 1, count: $0.count) + [Int64](repeating: 0, count: width - $0.count) }
        let device = backbone.device
        let b = sequences.count
        let padded = sequences.contains { $0.count < width }
        let hidden = try backbone.hiddenStates(.tokens(Tensor(ids, shape: [b, width]).to(device)),
                                               attentionMask: padded ? Tensor(mask, shape: [b, width]).to(device) : nil)
        let last = try Tensor(sequences.map { Int64($0.count - 1) }, shape: [b, 1, 1]).to(device).expand([b, 1, hidden.size(2)])
        return try hidden.gather(dim: 1, index: last).squeeze(1)
    }

    /// z_k for every step prefix of one chain; `prefixes[k]` is the full token sequence the
    /// PRM reads for step k (chat-wrapped, generation prompt included).
    public func chainLogits(_ prefixes: [[Int]], mode: PrefixScoring) throws -> ChainScores {
        guard mode == .sharedPrefix, prefixes.count > 1 else {
            let tokens = prefixes.reduce(0) { $0 + $1.count }
            return ChainScores(logits: try logits(prefixes), tokensProcessed: tokens, perPrefixTokens: tokens)
        }
        return try packedLogits(prefixes)
    }

    /// z for each sequence, read at its last token, from one forward over their token trie:
    /// every shared leading run (the question, earlier steps, other candidates' common steps)
    /// runs once. Equal to `logits(sequences)` up to rounding. With a `trunk` (which this PRM's
    /// backbone must hold unchanged) its layers' states come from there.
    public func packedLogits(_ sequences: [[Int]], trunk: SharedTrunk? = nil) throws -> ChainScores {
        let textOnly = !sequences.contains { $0.contains { $0 < 0 } }
        let cachedLayers = trunkCache == nil || trunk != nil || !textOnly ? 0 : backbone.frozenBottomLayers
        if sequences.count == 1 && trunk == nil && cachedLayers == 0 {  // plain causal attention needs no mask
            return ChainScores(logits: try logits(sequences), tokensProcessed: sequences[0].count, perPrefixTokens: sequences[0].count)
        }
        let trie = TokenTrie(sequences)
        let device = backbone.device
        let n = trie.tokens.count
        let (input, positions) = try trieInput(trie, sequences: sequences)
        let visibility = try Tensor(trie.visibility(), shape: [1, n, n]).to(device)
        let hidden: Tensor
        if let trunk {
            let entering = try trunk.states(sequences, input: input, positions: positions, visibility: visibility)
            hidden = try backbone.hiddenStates(.embeddings(entering), positions: positions, visibility: visibility,
                                               layers: trunk.layers..<backbone.config.layerCount)
        } else if let trunkCache, cachedLayers > 0 {
            let entering = try cachedTrunkStates(trie, sequences: sequences, layers: cachedLayers, cache: trunkCache)
            hidden = try backbone.hiddenStates(.embeddings(entering), positions: positions, visibility: visibility,
                                               layers: cachedLayers..<backbone.config.layerCount)
        } else {
            hidden = try backbone.hiddenStates(input, positions: positions, visibility: visibility)
        }
        let read = try Tensor(trie.ends.map(Int64.init)).to(device)
        return ChainScores(logits: try headLogits(hidden.squeeze(0).indexSelect(dim: 0, index: read)),
                           tokensProcessed: n, perPrefixTokens: sequences.reduce(0) { $0 + $1.count })
    }
}

extension ScalarHeadPRM {
    /// The states leaving the bottom `layers` for every node of a packed trie, from each
    /// sequence's own states, kept in `cache` per sequence: a node's state depends only on its
    /// ancestors, which are the same in every sequence through it, so the states hold whichever
    /// batch a record is packed into.
    func cachedTrunkStates(_ trie: TokenTrie, sequences: [[Int]], layers: Int,
                           cache: FrozenTrunkCache) throws -> Tensor {
        let device = backbone.device
        var source = [Int64](repeating: -1, count: trie.tokens.count)
        var offset = 0
        let states = try sequences.map { s in
            let key = FrozenTrunkCache.Key(tokens: s, layers: layers, dtype: backbone.embeddingWeight.dtype)
            let states = try cache.states(key) {
                try Autograd.noGrad {
                    let ids = try Tensor(s.map(Int64.init), shape: [1, s.count]).to(device)
                    return try backbone.hiddenStates(.tokens(ids), layers: 0..<layers).squeeze(0)
                }
            }
            for (depth, node) in trie.path(s).enumerated() where source[node] < 0 {
                source[node] = Int64(offset + depth)
            }
            offset += s.count
            return states
        }
        return try Tensor.cat(states).indexSelect(dim: 0, index: Tensor(source).to(device)).unsqueeze(0)
    }

    /// The decoder input of a packed trie and its positions: tokens at their depths, or with
    /// images, embeddings carrying their features and, for M-RoPE, each node at the position
    /// the sequence that added it gives it (positions are causal, so every sequence through a
    /// node agrees on it).
    func trieInput(_ trie: TokenTrie, sequences: [[Int]]) throws -> (DecoderInput, positions: Tensor) {
        let device = backbone.device
        let n = trie.tokens.count
        guard let images, trie.tokens.contains(where: { $0 < 0 }) else {
            return (.tokens(try Tensor(trie.tokens.map(Int64.init), shape: [1, n]).to(device)),
                    try Tensor(trie.depths.map(Int64.init), shape: [1, n]).to(device))
        }
        let input = DecoderInput.embeddings(try images.embeddings(trie.tokens))
        var rows: [[Int64]]? = nil
        for s in sequences {
            guard let positions = try images.ropePositions(s) else { break }
            if rows == nil { rows = [[Int64]](repeating: [Int64](repeating: 0, count: n), count: positions.count) }
            for (depth, node) in trie.path(s).enumerated() {
                for axis in positions.indices { rows![axis][node] = Int64(positions[axis][depth]) }
            }
        }
        guard let rows else { return (input, try Tensor(trie.depths.map(Int64.init), shape: [1, n]).to(device)) }
        return (input, try Tensor(rows.flatMap { $0 }, shape: [rows.count, 1, n]).to(device))
    }
}

/// Token sequences merged into a trie and laid out as one packed sequence: a node per distinct
/// leading run, each after its parent. A node attends to itself and its ancestors only, at its
/// depth as position, so one forward (and one backward) gives every sequence's hidden states
/// exactly as its own forward would, while the weights and shared tokens are read once.
public struct TokenTrie {
    /// Each node's token, and its position (depth) in the sequences through it.
    public private(set) var tokens: [Int] = []
    public private(set) var depths: [Int] = []
    /// Each node's parent (-1 for a first token).
    private var parents: [Int] = []
    private var children: [Int: [Int: Int]] = [:]
    /// Where each inserted sequence's last token sits.
    public private(set) var ends: [Int] = []

    public init(_ sequences: [[Int]] = []) {
        for s in sequences { insert(s) }
    }

    /// Adds a (non-empty) sequence; returns how many nodes it added.
    @discardableResult
    public mutating func insert(_ sequence: [Int]) -> Int {
        precondition(!sequence.isEmpty, "an empty sequence has no last token to read")
        var node = -1, added = 0
        for (depth, token) in sequence.enumerated() {
            if let next = children[node]?[token] {
                node = next
                continue
            }
            let new = tokens.count
            tokens.append(token)
            depths.append(depth)
            parents.append(node)
            children[node, default: [:]][token] = new
            node = new
            added += 1
        }
        ends.append(node)
        return added
    }

    /// The node of each token of an inserted `sequence`.
    public func path(_ sequence: [Int]) -> [Int] {
        var node = -1
        return sequence.map { token in
            node = children[node]![token]!
            return node
        }
    }

    /// Consecutive groups of `units` (each a list of sequences kept in one trie, such as a
    /// chain's prefixes) whose tries stay within `maxTokens` nodes, so that attention over a
    /// packed trie, quadratic in its nodes, stays bounded; a unit larger than the cap is a
    /// group of its own. Returns the units' indices per group, in order.
    public static func groups(_ units: [[[Int]]], maxTokens: Int) -> [[Int]] {
        var groups: [[Int]] = [], trie = TokenTrie()
        for (i, unit) in units.enumerated() {
            let added = unit.reduce(0) { $0 + trie.insert($1) }
            if groups.isEmpty || (trie.tokens.count > maxTokens && trie.tokens.count > added) {
                trie = TokenTrie(unit)
                groups.append([i])
            } else {
                groups[groups.count - 1].append(i)
            }
        }
        return groups
    }

    /// Row-major [n, n]: may node i attend to node j (j is i or an ancestor of i).
    public func visibility() -> [Bool] {
        let n = tokens.count
        var visible = [Bool](repeating: false, count: n * n)
        for i in 0..<n {
            var j = i
            while j >= 0 {
                visible[i * n + j] = true
                j = parents[j]
            }
        }
        return visible
    }
}
