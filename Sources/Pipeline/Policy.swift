import Foundation
import Models
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
}

/// A local language model (a registry name, a Hugging Face directory or a GGUF file): a
/// request's prompt is prefilled once, reusing what it shares with the one before (rollouts of
/// one chain's step prefixes follow each other), and its samples decode as one batch.
public final class LocalPolicy: Policy {
    public let name: String
    let generator: TextGenerator
    let template: ChatTemplate
    public let prompts = PromptCache()
    /// Set once a request named an image this text model cannot read.
    public private(set) var ignoredImages = false

    public init(_ name: String, device: Device = .cpu) throws {
        let loaded = try ModelLoader.load(try ModelRegistry.resolve(name))
        guard let template = loaded.chatTemplate else {
            throw ConfigError(source: loaded.source, message: "has no chat template this build can render; a policy answers chat turns")
        }
        try loaded.model.to(device)
        self.name = name
        self.template = template
        generator = TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer)
    }

    public func sample(_ request: PolicyRequest) throws -> [String] {
        if request.image != nil { ignoredImages = true }
        let prompt = template.render([.user(request.userTurn)], addGenerationPrompt: true) + request.assistantPrefix
        let ids = generator.tokenizer.encode(prompt)
        let context = generator.model.config.maxPositions
        guard ids.count + request.sampling.maxTokens <= context else {
            throw ConfigError(source: name, message: "a prompt of \(ids.count) tokens and \(request.sampling.maxTokens) new ones exceed its \(context)-token context")
        }
        return try generator.sample(ids, count: request.count, request.sampling, prompts: prompts).map(\.text)
    }
}
