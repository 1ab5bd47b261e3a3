import Foundation
import Tokenizers

/// Turns user text into the token sequence a chat-template PRM reads: the text as one user
/// turn plus the generation prompt (METHOD.md §2). With `images` (a vision-language backbone)
/// a prompt's image comes first in the turn, as the model's chat template places it.
public struct PromptEncoder {
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate
    public let images: PromptImages?

    public init(tokenizer: BPETokenizer, template: ChatTemplate, images: PromptImages? = nil) {
        self.tokenizer = tokenizer
        self.template = template
        self.images = images
    }

    public func encode(_ userText: String) -> [Int] {
        tokenizer.encode(template.render([.user(userText)], addGenerationPrompt: true))
    }

    /// The tokens of `userText` with `image` before it; a text backbone (no `images`) reads the text alone.
    public func encode(_ userText: String, image: URL?) throws -> [Int] {
        guard let images, let image else { return encode(userText) }
        return try images.encode(template.render([.user(images.backbone.imagePlaceholder + userText)], addGenerationPrompt: true), images: [image])
    }
}
