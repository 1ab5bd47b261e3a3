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

    /// Per candidate, each step's log-odds of `+`: log P(+) − log(1 − P(+)), P over the whole
    /// vocabulary, so σ of it is P(+) and every aggregation applies as to a scalar head's logits.
    public func stepLogits(question: String, candidates: [String], splitter: StepSplitter, image: URL? = nil) throws -> [[Double]] {
        let context = prm.backbone.config.maxPositions
        return try candidates.enumerated().map { j, candidate in
            var chain = splitter.split(candidate)
            if chain.count == 0 { chain = StepSplitter.generic.split(candidate) }
            let steps = chain.count == 0 ? [candidate] : chain.steps
            let conversation = try encoder.encode(system: systemPrompt, question: question, steps: steps, image: image)
            guard conversation.tokens.count <= context else { throw CandidateTooLong(candidate: j, tokens: conversation.tokens.count, context: context) }
            let logPlus = try Autograd.noGrad {
                try prm.labelLogProbabilities(conversation).narrow(dim: 1, start: prm.plus, length: 1).squeeze(1).doubles()
            }
            return logPlus.map { lp in
                let l = Swift.min(lp, -1e-12)
                return l - Foundation.log(-Foundation.expm1(l))
            }
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

    func stepLogits(question: String, candidates: [String], splitter: StepSplitter, image: URL?, trunk: SharedTrunk?) throws -> [[Double]] {
        switch self {
        case .scalar(let t): try t.stepLogits(question: question, candidates: candidates, splitter: splitter, image: image, trunk: trunk)
        case .generative(let t): try t.stepLogits(question: question, candidates: candidates, splitter: splitter, image: image)
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
