import Foundation
import Models
import NN
import PRM
import Torch

/// A trained generative (DreamPRM-1.5) PRM loaded from `prm.safetensors`, with the system
/// prompt it was trained under. A candidate becomes one conversation: the system prompt, the
/// question as a user turn, then each step as a user turn followed by a `+` turn, so all its
/// steps are judged in one forward.
public struct TrainedGenerativePRM {
    public let prm: GenerativePRM
    public let encoder: ConversationEncoder
    public let systemPrompt: String?
    public let fingerprint: String

    static func load(_ file: URL, weights: SafeTensorsCheckpoint, backboneName: String, device: Device, fingerprint: String) throws -> TrainedGenerativePRM {
        let backbone = try RewardBackbone.load(try ModelRegistry.resolve(backboneName))
        let loaded = backbone.loaded, metadata = weights.files.first?.metadata ?? [:]
        guard let template = loaded.chatTemplate else { throw ConfigError(source: loaded.source, message: "has no chat template this build can render") }
        // The images as in training: as many InternVL tiles as the run used.
        if let tiles = metadata["max_patch_num"], let internVL = backbone.vision as? InternVLBackbone {
            guard let n = Int(tiles), n >= 1 else { throw ConfigError(source: file.path, message: "max_patch_num '\(tiles)' is not a tile count") }
            internVL.processor.maxTiles = n
        }
        let images = backbone.vision.map { PromptImages(backbone: $0, longestSide: nil) }
        let encoder = try ConversationEncoder(tokenizer: loaded.tokenizer, template: template, images: images)
        let prm = GenerativePRM(backbone: loaded.model, encoder: encoder)
        prm.images = images
        _ = try prm.load(from: weights, strict: true)
        try backbone.vision?.to(device)
        try prm.to(device)
        let system = metadata["system_prompt"]
        return TrainedGenerativePRM(prm: prm, encoder: encoder, systemPrompt: system?.isEmpty == false ? system : nil, fingerprint: fingerprint)
    }

    /// Per candidate, each step's log-odds of `+` against every other token: logit(+) −
    /// logsumexp(other logits), in float64, so σ of it is P(+) over the whole vocabulary and
    /// near-certain steps keep apart (from a float32 log-softmax every step with P(+) above
    /// 1 − 6e-8 read 27.63). Candidates are cut as `GenerativeChain` cuts them, or given as
    /// `steps` (a conversation's own).
    public func stepLogits(question: String, candidates: [String], steps: [[String]]? = nil, splitter: StepSplitter,
                           image: URL? = nil) throws -> [[Double]] {
        let context = prm.backbone.config.maxPositions
        return try candidates.enumerated().map { j, candidate in
            let chain = steps.map { GenerativeChain(system: systemPrompt, question: question, steps: $0[j], labels: $0[j].map { _ in true }) }
                ?? GenerativeChain(system: systemPrompt, question: question, response: candidate, splitter: splitter).judgedAllRight
            let conversation = try encoder.encode(chain, image: image)
            guard conversation.tokens.count <= context else { throw CandidateTooLong(candidate: j, tokens: conversation.tokens.count, context: context) }
            return try Autograd.noGrad { try prm.stepLogOdds(conversation) }
        }
    }
}

/// A trained PRM of either style, as `evaluate` reads it: the file's `format` says which.
public enum LoadedPRM {
    case scalar(TrainedPRM)
    case generative(TrainedGenerativePRM)

    public static func load(_ location: URL, rewardModel: String? = nil, device: Device = .cpu) throws -> LoadedPRM {
        let file = TrainedPRM.weightsFile(location)
        let weights = try SafeTensorsCheckpoint(file)
        let metadata = weights.files.first?.metadata ?? [:]
        guard metadata["format"] == GenerativePRM.fileFormat else { return .scalar(try TrainedPRM.load(location, rewardModel: rewardModel, device: device)) }
        guard let backbone = rewardModel ?? metadata["reward_model"] else {
            throw ConfigError(source: file.path, message: "names no reward_model in its metadata; pass --reward_model")
        }
        return .generative(try TrainedGenerativePRM.load(file, weights: weights, backboneName: backbone, device: device,
                                                         fingerprint: try TrainedPRM.fingerprint(of: file)))
    }

    public var fingerprint: String {
        switch self {
        case .scalar(let t): t.fingerprint
        case .generative(let t): t.fingerprint
        }
    }

    /// With `steps` (a conversation's own), candidates are not re-split.
    func stepLogits(question: String, candidates: [String], steps: [[String]]?, splitter: StepSplitter, image: URL?,
                    trunk: SharedTrunk?) throws -> [[Double]] {
        switch self {
        case .scalar(let t):
            guard let steps else { return try t.stepLogits(question: question, candidates: candidates, splitter: splitter, image: image, trunk: trunk) }
            return try t.stepLogits(prefixTexts: steps.map { TrainedPRM.prefixTexts(question: question, steps: $0) }, image: image, trunk: trunk)
        case .generative(let t): return try t.stepLogits(question: question, candidates: candidates, steps: steps, splitter: splitter, image: image)
        }
    }

    /// Whether the PRM's backbone reads images.
    public var readsImages: Bool {
        switch self {
        case .scalar(let t): t.prm.images != nil
        case .generative(let t): t.prm.images != nil
        }
    }
}
