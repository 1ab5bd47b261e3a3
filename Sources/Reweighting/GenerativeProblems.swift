import Foundation
import NN
import PRM
import Torch

/// The lower level of DreamPRM-1.5: per conversation, the mean cross-entropy of its
/// labelled steps' `+`/`-` tokens (softmax over the whole vocabulary); the weight key is the
/// conversation's index, one weight per training instance.
public final class GenerativeTrainingProblem: LowerProblem {
    public let prm: GenerativePRM
    let conversations: [EncodedConversation]
    let batchSize: Int
    public var order: ShuffledOrder
    public let parameters: [Tensor]
    public var frozenParameters: [Tensor] { prm.parameters().filter { !$0.requiresGrad } }
    /// Step log-odds log P(+) − log P(−) and tokens of the forwards with a graph since the
    /// last `takeStatistics()`, and the last such batch's weight input (detached).
    private var statistics = LogitStatistics()
    private var tokensRead = 0
    public private(set) var lastWeightInput: LowerLosses?
    /// Each instance's losses summed over the forwards with a graph, checkpointed with the run.
    public let lossLog: InstanceLossLog

    /// Every conversation must hold at least one labelled step (the reader checks this and
    /// names the record).
    public init(prm: GenerativePRM, conversations: [EncodedConversation], batchSize: Int, seed: UInt64) throws {
        precondition(conversations.allSatisfy { !$0.readPositions.isEmpty }, "a training conversation without labels")
        self.prm = prm
        self.conversations = conversations
        self.batchSize = batchSize
        parameters = prm.trainableParameters()
        order = ShuffledOrder(count: conversations.count, seed: seed)
        lossLog = try InstanceLossLog(count: conversations.count)
    }

    public func nextBatch() throws -> [Int] { order.take(batchSize) }

    /// Besides the losses, each step's softmax([logit₊, logit₋]) [B, K, 2] and its mask
    /// [B, K]: an instance net's input.
    public func losses(_ batch: [Int]) throws -> LowerLosses {
        let longest = batch.map { conversations[$0].readPositions.count }.max() ?? 0
        var perSample: [Tensor] = [], features: [Tensor] = [], stepLogOdds: [Tensor] = []
        for i in batch {
            let c = conversations[i]
            let logP = try prm.labelLogProbabilities(c)
            let target = try Tensor(c.labels.map { $0 == true ? 1.0 : 0.0 }).to(logP.dtype).to(logP.device)
            perSample.append(try PRMLoss.generativeCE(logProbabilities: logP, plus: prm.plus, minus: prm.minus, target: target).mean())
            let pair = try Tensor.cat([logP.narrow(dim: 1, start: prm.plus, length: 1), logP.narrow(dim: 1, start: prm.minus, length: 1)], dim: 1)
            stepLogOdds.append(try (pair.narrow(dim: 1, start: 0, length: 1) - pair.narrow(dim: 1, start: 1, length: 1)).detach())
            let padding = try Tensor.zeros([longest - c.readPositions.count, 2], dtype: logP.dtype, device: logP.device)
            features.append(try Tensor.cat([pair.softmax(dim: -1), padding]))
        }
        let losses = try Tensor.stack(perSample)
        let mask = try Tensor(batch.flatMap { i in (0..<longest).map { $0 < conversations[i].readPositions.count } }, shape: [batch.count, longest])
        let result = LowerLosses(losses, keys: try Tensor(batch.map(Int64.init)).to(losses.device), features: try Tensor.stack(features),
                                 featureMask: try mask.to(losses.device))
        if Autograd.isEnabled {
            var detached = result
            detached.perSample = try losses.detach()
            detached.features = try result.features!.detach()
            lastWeightInput = detached
            try lossLog.add(batch, try losses.detach().doubles())
            tokensRead += batch.reduce(0) { $0 + conversations[$1].tokens.count }
            statistics = statistics + LogitStatistics(try stepLogOdds.map { try $0.doubles() }.flatMap { $0 })
        }
        return result
    }

    public func takeStatistics() -> (logits: LogitStatistics, tokens: Int) {
        defer { (statistics, tokensRead) = (LogitStatistics(), 0) }
        return (statistics, tokensRead)
    }
}

/// The upper level of DreamPRM-1.5: each meta conversation's steps are judged by the
/// probability of `+` (or of the chain's label token with `.both`), aggregated and compared
/// with the chain's correctness (METHOD.md §4).
public final class GenerativeMetaProblem: UpperProblem {
    public let prm: GenerativePRM
    let chains: [(conversation: EncodedConversation, label: Bool)]
    let batchSize: Int
    let target: PRMLoss.GenerativeTarget
    let aggregation: Aggregation
    public var order: ShuffledOrder
    /// Of the last meta batch: the fraction of chains whose mean P(+) is on the label's side of
    /// 0.5, and the tokens it read.
    public private(set) var lastAccuracy = 0.0
    public private(set) var lastTokens = 0

    public init(prm: GenerativePRM, chains: [(conversation: EncodedConversation, label: Bool)], batchSize: Int, seed: UInt64,
                target: PRMLoss.GenerativeTarget = .both, aggregation: Aggregation = .mean) {
        precondition(chains.allSatisfy { !$0.conversation.readPositions.isEmpty }, "a meta conversation without steps")
        self.prm = prm
        self.chains = chains
        self.batchSize = batchSize
        self.target = target
        self.aggregation = aggregation
        order = ShuffledOrder(count: chains.count, seed: seed)
    }

    public func nextBatch() throws -> [Int] { order.take(batchSize) }

    public func loss(_ batch: [Int]) throws -> Tensor {
        var right = 0
        let losses = try batch.map { i -> Tensor in
            let logP = try prm.labelLogProbabilities(chains[i].conversation)
            let logPlus = try logP.narrow(dim: 1, start: prm.plus, length: 1).transpose(0, 1)
            let logMinus = try logP.narrow(dim: 1, start: prm.minus, length: 1).transpose(0, 1)
            let meanPlus = try logPlus.detach().exp().mean().item()
            if (meanPlus > 0.5) == chains[i].label { right += 1 }
            let mask = try Tensor.ones(logPlus.shape, dtype: .bool, device: logPlus.device)
            let label = try Tensor([chains[i].label ? 1.0 : 0.0]).to(logP.dtype).to(logP.device)
            return try PRMLoss.generativeMeta(logProbabilityPlus: logPlus, logProbabilityMinus: logMinus, mask: mask, label: label,
                                              target: target, aggregation: aggregation)
        }
        lastAccuracy = Double(right) / Double(batch.count)
        lastTokens = batch.reduce(0) { $0 + chains[$1].conversation.tokens.count }
        return try Tensor.cat(losses).mean()
    }
}

/// Running sums and counts of each training instance's loss, as tensors so a checkpoint holds them.
public final class InstanceLossLog: Module {
    let sum: Tensor
    let count: Tensor

    init(count n: Int) throws {
        sum = try Tensor.zeros([n], dtype: .float64)
        count = try Tensor.zeros([n], dtype: .float64)
        super.init()
    }

    func add(_ instances: [Int], _ losses: [Double]) throws {
        let index = try Tensor(instances.map(Int64.init))
        try Autograd.noGrad {
            try sum.setData(sum.scatterAdd(dim: 0, index: index, source: Tensor(losses)))
            try count.setData(count.scatterAdd(dim: 0, index: index, source: Tensor.ones([instances.count], dtype: .float64)))
        }
    }

    /// Each instance's mean loss, nil for one never trained on.
    public func means() throws -> [Double?] {
        zip(try sum.doubles(), try count.doubles()).map { $1 > 0 ? $0 / $1 : nil }
    }
}
