import Foundation
import Models
import NN
import Tokenizers
import Torch

/// A conversation the generative PRM cannot read (callers add the file and record).
public struct ConversationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A conversation as the generative PRM reads it: its tokens, and for each step the position
/// whose next-token distribution judges it (the last token before the step's `+`/`-` label).
public struct EncodedConversation: Equatable {
    public let tokens: [Int]
    public let readPositions: [Int]
    /// Each step's label where the conversation gives one (true = `+`).
    public let labels: [Bool?]
}

/// Writes DreamPRM-1.5 conversations (METHOD.md §2) through a chat template: the system
/// prompt, the question as a user turn, then per step a user turn and an assistant turn
/// holding `+` or `-`. The label tokens come from the tokenizer.
public struct ConversationEncoder {
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate
    public let plus: Int, minus: Int
    /// With a vision-language backbone: a conversation's image opens its first user turn, as
    /// the model's chat places it.
    public let images: PromptImages?

    public init(tokenizer: BPETokenizer, template: ChatTemplate, images: PromptImages? = nil) throws {
        func single(_ label: String) throws -> Int {
            let ids = tokenizer.encode(label, addBOS: false)
            guard ids.count == 1 else {
                throw ConversationError("the label \(label.debugDescription) is \(ids.count) tokens under this tokenizer; it must be one")
            }
            return ids[0]
        }
        self.tokenizer = tokenizer
        self.template = template
        self.images = images
        plus = try single("+")
        minus = try single("-")
    }

    /// The conversation of `chain` (see `GenerativeChain`): a judged step is followed by its
    /// `+`/`-` turn, an unjudged one by none.
    public func encode(_ chain: GenerativeChain, image: URL? = nil) throws -> EncodedConversation {
        var messages = chain.system.map { [ChatMessage.system($0)] } ?? []
        messages.append(.user(GenerativeChain.questionHeading + chain.question))
        for (step, label) in zip(chain.steps, chain.labels) {
            messages.append(.user(step))
            if let label { messages.append(.assistant(label ? "+" : "-")) }
        }
        return try encode(messages, image: image)
    }

    /// Every assistant turn is a label: `+` or `-`. A text backbone (no `images`) reads no image.
    public func encode(_ messages: [ChatMessage], image: URL? = nil) throws -> EncodedConversation {
        var messages = messages
        var tokenize: (String) throws -> [Int] = { tokenizer.encode($0) }
        if let images, let image, let first = messages.firstIndex(where: { $0.role == "user" }) {
            messages[first].content = images.backbone.imagePlaceholder + messages[first].content
            tokenize = { try images.encode($0, images: [image]) }
        }
        let tokens = try tokenize(template.render(messages, addGenerationPrompt: false))
        var reads: [Int] = [], labels: [Bool?] = []
        for (i, m) in messages.enumerated() where m.role == "assistant" {
            guard m.content == "+" || m.content == "-" else {
                throw ConversationError("assistant turn \(i) holds \(m.content.debugDescription), not \"+\" or \"-\"")
            }
            let before = try tokenize(template.render(Array(messages[..<i]), addGenerationPrompt: true))
            // The label must sit right after its generation prompt, at the same tokens as in
            // the whole conversation, or the scores would be read at the wrong place.
            guard before.count < tokens.count, tokens[..<before.count].elementsEqual(before),
                  tokens[before.count] == (m.content == "+" ? plus : minus) else {
                throw ConversationError("the chat template does not put assistant turn \(i)'s label right after its prompt")
            }
            reads.append(before.count - 1)
            labels.append(m.content == "+")
        }
        return EncodedConversation(tokens: tokens, readPositions: reads, labels: labels)
    }
}

/// DreamPRM-1.5's PRM over a chat language model: a step's score is the probability of the
/// `+` token, softmax over the whole vocabulary, at the position before the step's label.
/// All steps of a conversation come from one forward.
public final class GenerativePRM: Module {
    /// The `format` in the metadata of a trained generative PRM's `prm.safetensors`.
    public static let fileFormat = "dreamprm-1.5-prm"
    @Key("backbone") public var backbone: CausalLM
    public let plus: Int, minus: Int
    /// Set while training with frozen bottom layers: they then run once per conversation.
    public var trunkCache: FrozenTrunkCache?
    /// The images of a vision-language backbone's conversations (their negative keys); nil for text.
    public var images: PromptImages?

    public init(backbone: CausalLM, encoder: ConversationEncoder) {
        _backbone.wrappedValue = backbone
        plus = encoder.plus
        minus = encoder.minus
        super.init()
    }

    /// The backbone's logits [K, V] at the conversation's read positions.
    public func labelLogits(_ conversation: EncodedConversation) throws -> Tensor {
        let device = backbone.device
        let tokens = conversation.tokens, n = tokens.count
        var input = DecoderInput.tokens(try Tensor(tokens.map(Int64.init), shape: [1, n]).to(device))
        var positions: Tensor?
        if let images, tokens.contains(where: { $0 < 0 }) {
            input = .embeddings(try images.embeddings(tokens))
            positions = try images.ropePositions(tokens).map { try Tensor($0.flatMap { $0.map(Int64.init) }, shape: [3, 1, n]).to(device) }
        }
        let bottom = backbone.frozenBottomLayers
        let hidden: Tensor
        if let trunkCache, bottom > 0 {
            let key = FrozenTrunkCache.Key(tokens: tokens, layers: bottom, dtype: backbone.embeddingWeight.dtype)
            let entering = try trunkCache.states(key) { try Autograd.noGrad { try backbone.hiddenStates(input, positions: positions, layers: 0..<bottom) } }
            hidden = try backbone.hiddenStates(.embeddings(entering), positions: positions, layers: bottom..<backbone.config.layerCount)
        } else {
            hidden = try backbone.hiddenStates(input, positions: positions)
        }
        let read = try Tensor(conversation.readPositions.map(Int64.init)).to(device)
        return try backbone.logits(hidden.squeeze(0).indexSelect(dim: 0, index: read))
    }

    /// Log-probabilities over the vocabulary [K, V] at the conversation's read positions.
    public func labelLogProbabilities(_ conversation: EncodedConversation) throws -> Tensor {
        let logits = try labelLogits(conversation)
        // Half-precision logits are upcast for the softmax; float64 (tests) stays as it is.
        return try (logits.dtype == .float64 ? logits : logits.to(.float32)).logSoftmax(dim: -1)
    }

    /// Each step's log-odds of `+` against all other tokens, in float64 (see `logOdds`).
    public func stepLogOdds(_ conversation: EncodedConversation) throws -> [Double] {
        let logits = try labelLogits(conversation).doubles()
        let vocabulary = logits.count / conversation.readPositions.count
        return (0..<conversation.readPositions.count).map { k in
            Self.logOdds(logits[(k * vocabulary)..<((k + 1) * vocabulary)], of: plus)
        }
    }

    /// log P(token) − log(1 − P(token)) from one row of logits: logit(token) − logsumexp(the
    /// others). σ of it is P(token); unlike log p − log(1 − p) from a float32 softmax (27.63 for
    /// every P above 1 − 6e-8) it does not round near-certain steps to one value.
    public static func logOdds(_ row: ArraySlice<Double>, of token: Int) -> Double {
        let index = row.startIndex + token
        var top = -Double.infinity
        for i in row.indices where i != index { top = Swift.max(top, row[i]) }
        var sum = 0.0
        for i in row.indices where i != index { sum += Foundation.exp(row[i] - top) }
        return row[index] - (top + Foundation.log(sum))
    }

    /// P(`+`) for each step [K].
    public func stepProbabilities(_ conversation: EncodedConversation) throws -> Tensor {
        try labelLogProbabilities(conversation).narrow(dim: 1, start: plus, length: 1).squeeze(1).exp()
    }
}
