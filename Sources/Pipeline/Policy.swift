import Foundation
import Imaging
import Models
import PRM
import Tokenizers
import Torch

/// What a policy is asked for: `count` samples of the assistant's reply to one user turn,
/// each continuing `assistantPrefix` (empty for a fresh reply; a chain's first steps for a
/// Monte-Carlo rollout). The samples depend on `sampling.seed` alone.
public struct PolicyRequest: Sendable {
    public var userTurn: String
    public var image: URL?
    public var assistantPrefix: String
    public var count: Int
    public var sampling: SamplingParameters

    public init(userTurn: String, image: URL? = nil, assistantPrefix: String = "", count: Int, sampling: SamplingParameters) {
        self.userTurn = userTurn
        self.image = image
        self.assistantPrefix = assistantPrefix
        self.count = count
        self.sampling = sampling
    }
}

/// A model that answers: local weights or a server.
public protocol Policy: AnyObject {
    /// Names the policy in outputs (a model path, a registry name, a server's model).
    var name: String { get }
    /// The continuations of `request.assistantPrefix`, `request.count` of them.
    func sample(_ request: PolicyRequest) throws -> [String]
    /// Whether a request's image reaches the model.
    var readsImages: Bool { get }
    /// How many requests it serves at once: callers with independent work (the prefixes of
    /// Monte-Carlo labelling) call `sample` from that many threads. 1: one call at a time.
    var concurrentRequests: Int { get }
}

/// A local model (a registry name, a Hugging Face directory or a GGUF file): a request's prompt
/// is prefilled once, reusing what it shares with the one before (rollouts of one chain's step
/// prefixes follow each other), and its samples decode as one batch. A vision-language
/// directory sees the requests' images; a language model does not (`readsImages`).
public final class LocalPolicy: Policy {
    public let name: String
    let generator: TextGenerator
    let template: ChatTemplate
    let vision: VisionLanguageBackbone?
    public let prompts = PromptCache()
    /// The last image prompt's head (its user turn, images expanded), kept while the rollouts
    /// of one question follow each other.
    private var lastHead: (key: String, ids: [Int], head: PromptHead)?

    public init(_ name: String, device: Device = .cpu) throws {
        let backbone = try RewardBackbone.load(try ModelRegistry.resolve(name))
        guard let template = backbone.loaded.chatTemplate else {
            throw ConfigError(source: backbone.loaded.source, message: "has no chat template this build can render; a policy answers chat turns")
        }
        if let vision = backbone.vision { try vision.to(device) } else { try backbone.loaded.model.to(device) }
        self.name = name
        self.template = template
        vision = backbone.vision
        generator = TextGenerator(model: backbone.loaded.model, tokenizer: backbone.loaded.tokenizer)
    }

    public var readsImages: Bool { vision != nil }
    /// One model, one batch at a time (its prompt cache follows the calls in order).
    public var concurrentRequests: Int { 1 }

    public func sample(_ request: PolicyRequest) throws -> [String] {
        var ids: [Int], head: PromptHead?
        if let image = request.image, let vision {
            let key = image.path + "\u{0}" + request.userTurn
            if lastHead?.key != key {
                let (headIDs, prefill) = try vision.prepare(vision.userPrompt(request.userTurn, imageCount: 1), images: [ImageFile.read(image)])
                guard let prefill else { throw ConfigError(source: name, message: "gave no image prefill for \(image.path)") }
                lastHead = (key, headIDs, PromptHead(key: image.path, length: headIDs.count, prefill: prefill))
            }
            ids = lastHead!.ids + generator.tokenizer.encode(request.assistantPrefix, addBOS: false)
            head = lastHead!.head
        } else {
            ids = generator.tokenizer.encode(template.render([.user(request.userTurn)], addGenerationPrompt: true) + request.assistantPrefix)
        }
        let context = generator.model.config.maxPositions
        guard ids.count + request.sampling.maxTokens <= context else {
            throw ConfigError(source: name, message: "a prompt of \(ids.count) tokens and \(request.sampling.maxTokens) new ones exceed its \(context)-token context")
        }
        return try generator.sample(ids, count: request.count, request.sampling, prompts: prompts, head: head).map(\.text)
    }
}
