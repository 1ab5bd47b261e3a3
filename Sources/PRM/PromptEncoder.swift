import Tokenizers

/// Turns user text into the token sequence a chat-template PRM reads: the text as one user
/// turn plus the generation prompt (METHOD.md §2).
public struct PromptEncoder {
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate

    public init(tokenizer: BPETokenizer, template: ChatTemplate) {
        self.tokenizer = tokenizer
        self.template = template
    }

    public func encode(_ userText: String) -> [Int] {
        tokenizer.encode(template.render([.user(userText)], addGenerationPrompt: true))
    }
}
