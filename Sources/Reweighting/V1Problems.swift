import Foundation
import Models
import PRM
import Tokenizers
import Torch

/// Seeded epoch-wise shuffling with a resumable position.
public struct ShuffledOrder {
    public let count: Int
    public let seed: UInt64
    public private(set) var epoch = 0
    public private(set) var index = 0
    private var order: [Int] = []

    public init(count: Int, seed: UInt64) {
        self.count = count
        self.seed = seed
        order = Self.permutation(count, seed: seed, epoch: 0)
    }

    static func permutation(_ n: Int, seed: UInt64, epoch: Int) -> [Int] {
        var g = SplitMix64(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        var a = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        return a
    }

    public mutating func take(_ n: Int) -> [Int] {
        (0..<n).map { _ in
            if index == count {
                epoch += 1
                index = 0
                order = Self.permutation(count, seed: seed, epoch: epoch)
            }
            defer { index += 1 }
            return order[index]
        }
    }

    /// Jumps to a saved position (epoch, index).
    public mutating func restore(epoch: Int, index: Int) {
        self.epoch = epoch
        self.index = index
        order = Self.permutation(count, seed: seed, epoch: epoch)
    }
}

/// The lower level of DreamPRM v1: MSE (or soft BCE) of the PRM's score on a step prefix
/// against its Monte-Carlo accuracy; weight key = the record's domain.
public final class V1TrainingProblem: LowerProblem {
    public let prm: ScalarHeadPRM
    public let domains: [String]
    let sequences: [[Int]]
    let accuracy: [Float]
    let domainIndex: [Int64]
    let batchSize: Int
    let softLabels: Bool
    public var order: ShuffledOrder
    /// With `hypergradientPerDomain` k > 0, each upper step differentiates k records of every
    /// domain, drawn from one sampler per domain, instead of the last lower batch. Each record's
    /// loss then counts K·n_d/N times (K domains, n_d of the N records in its domain): a
    /// balanced batch over-represents small domains by N/(K·n_d), and this importance weight
    /// makes the batch's weighted loss an unbiased estimate of the whole training loss. With
    /// `stratifyByLabel` a domain's k records are half labelled right and half wrong, weighted
    /// by their stratum's share in the domain (`StratifiedSampler`).
    let hypergradientPerDomain: Int
    public var domainSamplers: [StratifiedSampler]
    let recordsOfDomain: [[Int]]
    /// The last balanced batch handed out and its records' importance weights, until the next
    /// lower batch: `losses` weights it.
    private var balancedBatch: (records: [Int], importance: [Double])?
    /// θ, collected once: the engine asks for it several times per iteration.
    public let parameters: [Tensor]
    /// The head's parameters and the backbone's trained ones, for the alignment diagnostics.
    public let parameterGroups: [String: [Int]]
    public var frozenParameters: [Tensor] { prm.parameters().filter { !$0.requiresGrad } }
    /// Step logits of the forwards with a graph since the last `takeStatistics()`: the lower
    /// step's (and neumann/cg's pass over the same batch); darts' forwards at θ ± εv run
    /// without a graph and are not counted.
    private var statistics = LogitStatistics()

    /// Text records, each read as its prompt alone.
    public convenience init(prm: ScalarHeadPRM, records: [V1TrainRecord], encoder: PromptEncoder, batchSize: Int, seed: UInt64,
                            softLabels: Bool = false, hypergradientPerDomain: Int = 0, stratifyByLabel: Bool = false) {
        self.init(prm: prm, records: records, sequences: records.map { encoder.encode($0.prompt) }, batchSize: batchSize, seed: seed,
                  softLabels: softLabels, hypergradientPerDomain: hypergradientPerDomain, stratifyByLabel: stratifyByLabel)
    }

    /// `sequences[i]`: the tokens the PRM reads for record i (images included).
    public init(prm: ScalarHeadPRM, records: [V1TrainRecord], sequences: [[Int]], batchSize: Int, seed: UInt64,
                softLabels: Bool = false, hypergradientPerDomain: Int = 0, stratifyByLabel: Bool = false) {
        precondition(sequences.count == records.count, "one token sequence per record")
        self.prm = prm
        parameters = prm.trainableParameters()
        let head = prm.head.parameters()
        let isHead = parameters.map { p in head.contains { $0 === p } }
        parameterGroups = ["head": parameters.indices.filter { isHead[$0] },
                           "layers": parameters.indices.filter { !isHead[$0] }].filter { !$0.value.isEmpty }
        domains = Array(Set(records.map(\.dataset))).sorted()
        let index = Dictionary(uniqueKeysWithValues: domains.enumerated().map { ($1, Int64($0)) })
        self.sequences = sequences
        accuracy = records.map { Float($0.accuracy) }
        domainIndex = records.map { index[$0.dataset]! }
        self.batchSize = batchSize
        self.softLabels = softLabels
        order = ShuffledOrder(count: records.count, seed: seed)
        self.hypergradientPerDomain = hypergradientPerDomain
        let members = Dictionary(grouping: records.indices) { index[records[$0].dataset]! }
        recordsOfDomain = domains.indices.map { members[Int64($0)] ?? [] }
        domainSamplers = recordsOfDomain.enumerated().map { d, members in
            let strata = stratifyByLabel
                ? [members.filter { records[$0].accuracy >= 0.5 }, members.filter { records[$0].accuracy < 0.5 }]
                : [members]
            return StratifiedSampler(strata: strata, seed: seed &+ 2 &+ UInt64(d))
        }
    }

    public func hypergradientBatch() throws -> [Int]? {
        guard hypergradientPerDomain > 0 else { return nil }
        let total = Double(sequences.count), k = Double(domains.count)
        var batch: [Int] = [], importance: [Double] = []
        for d in domains.indices {
            let (records, weights) = domainSamplers[d].take(hypergradientPerDomain)
            batch += records
            importance += weights.map { $0 * k * Double(recordsOfDomain[d].count) / total }
        }
        balancedBatch = (batch, importance)
        return batch
    }

    /// Up to 4 records of every domain, so each upper step that measures alignment sees every
    /// domain (the default lower batch of 1 holds one).
    public func alignmentBatch(upperStep: Int) throws -> [Int]? {
        recordsOfDomain.enumerated().flatMap { d, members in
            ShuffledOrder.permutation(members.count, seed: order.seed &+ 0xA1 &+ UInt64(d), epoch: upperStep)
                .prefix(4).map { members[$0] }
        }
    }

    public var tokenCount: Int { sequences.reduce(0) { $0 + $1.count } }

    public func nextBatch() throws -> [Int] {
        balancedBatch = nil
        return order.take(batchSize)
    }

    /// Up to `count` training prompts spread evenly over the records, for the head's feature centre.
    private var tokensRead = 0

    public func centeringSample(count: Int = 64) -> [[Int]] {
        let step = Swift.max(1, sequences.count / count)
        return stride(from: 0, to: sequences.count, by: step).prefix(count).map { sequences[$0] }
    }

    public func losses(_ batch: [Int]) throws -> LowerLosses {
        // Packed into token tries rather than padded: records of unequal length waste no
        // compute on padding, and records of one question share its tokens.
        let inputs = batch.map { sequences[$0] }
        let z = try Tensor.cat(TokenTrie.groups(inputs.map { [$0] }, maxTokens: 2048).map { group in
            try prm.packedLogits(group.map { inputs[$0] }).logits
        })
        if Autograd.isEnabled {
            statistics = statistics + LogitStatistics(try z.detach().doubles())
            tokensRead += batch.reduce(0) { $0 + sequences[$1].count }
        }
        let target = try Tensor(batch.map { accuracy[$0] }).to(z.device)
        let keys = try Tensor(batch.map { domainIndex[$0] }).to(z.device)
        var perSample = softLabels ? try PRMLoss.softBCE(logits: z, accuracy: target) : try PRMLoss.mse(logits: z, accuracy: target)
        if let balancedBatch, balancedBatch.records == batch {
            perSample = try perSample * Tensor(balancedBatch.importance).to(perSample.dtype).to(z.device)
        }
        return LowerLosses(perSample, keys: keys)
    }

    /// The logit statistics and the tokens of the training forwards since the last call, and a fresh start.
    public func takeStatistics() -> (logits: LogitStatistics, tokens: Int) {
        defer { (statistics, tokensRead) = (LogitStatistics(), 0) }
        return (statistics, tokensRead)
    }
}

/// The upper level of DreamPRM v1: each meta chain's step prefixes are scored, aggregated
/// (σ of the mean log-odds by default) and compared with the chain's correctness.
public final class V1MetaProblem: UpperProblem {
    public let prm: ScalarHeadPRM
    let chains: [(prefixes: [[Int]], label: Float)]
    let batchSize: Int
    let mode: PrefixScoring
    let aggregation: Aggregation
    public var order: ShuffledOrder
    /// With `stratifyByLabel`: batches half of right chains and half of wrong ones, each chain
    /// weighted by its stratum's share, instead of `order`'s.
    public var sampler: StratifiedSampler?
    private var stratifiedBatch: (chains: [Int], weights: [Double])?
    /// Tokens run through the backbone by the last meta batch, and what per-prefix would cost.
    public private(set) var lastTokens = (processed: 0, perPrefix: 0)
    /// Of the last meta batch: the fraction of chains whose aggregate is on the label's side of
    /// 0.5, and the statistics of their step logits.
    public private(set) var lastAccuracy = 0.0
    /// The last meta batch's loss (by `objective`) with every step probability p replaced by (p + 0.5)/2.
    public private(set) var lastHedgedLoss = 0.0
    let objective: MetaObjective
    public private(set) var lastStatistics = LogitStatistics()

    public init(prm: ScalarHeadPRM, chains: [(prefixes: [[Int]], label: Bool)], batchSize: Int, seed: UInt64,
                mode: PrefixScoring, aggregation: Aggregation, objective: MetaObjective = .squared,
                stratifyByLabel: Bool = false) {
        self.prm = prm
        self.objective = objective
        self.chains = chains.map { ($0.prefixes, $0.label ? 1 : 0) }
        if stratifyByLabel {
            let right = chains.indices.filter { chains[$0].label }, wrong = chains.indices.filter { !chains[$0].label }
            sampler = StratifiedSampler(strata: [right, wrong], seed: seed &+ 3)
        }
        self.batchSize = batchSize
        self.mode = mode
        self.aggregation = aggregation
        order = ShuffledOrder(count: chains.count, seed: seed)
    }

    public func nextBatch() throws -> [Int] {
        guard sampler != nil else { return order.take(batchSize) }
        let (batch, weights) = sampler!.take(batchSize)
        stratifiedBatch = (batch, weights)
        return batch
    }

    public func loss(_ batch: [Int]) throws -> Tensor {
        var tokens = (processed: 0, perPrefix: 0)
        var right = 0, statistics = LogitStatistics()
        let weights = stratifiedBatch.flatMap { $0.chains == batch ? $0.weights : nil }
            ?? Array(repeating: 1, count: batch.count)
        let labels = batch.map { chains[$0].label }
        var logits: [Tensor] = [], halfway: [Tensor] = []
        for i in batch {
            let scores = try prm.chainLogits(chains[i].prefixes, mode: mode)
            tokens.processed += scores.tokensProcessed
            tokens.perPrefix += scores.perPrefixTokens
            let z = try scores.logits.unsqueeze(0)
            let values = try z.detach().doubles()
            statistics = statistics + LogitStatistics(values)
            if (aggregation.score(logits: values) > 0.5) == (chains[i].label > 0.5) { right += 1 }
            logits.append(z)
            // The same PRM with every step probability p pulled halfway to 0.5.
            halfway.append(try Tensor(values.map { z -> Double in
                let p = (1 / (1 + exp(-z)) + 0.5) / 2
                return log(p / (1 - p))
            }, shape: [1, values.count]).to(z.dtype).to(z.device))
        }
        lastTokens = tokens
        lastAccuracy = Double(right) / Double(batch.count)
        lastHedgedLoss = try Autograd.noGrad {
            try PRMLoss.v1Meta(chainLogits: halfway, labels: labels, weights: weights, aggregation: aggregation,
                               objective: objective).item()
        }
        lastStatistics = statistics
        return try PRMLoss.v1Meta(chainLogits: logits, labels: labels, weights: weights, aggregation: aggregation,
                                  objective: objective)
    }
}
