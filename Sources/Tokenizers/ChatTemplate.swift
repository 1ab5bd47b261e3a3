/// One turn of a conversation.
public struct ChatMessage: Equatable, Codable, Sendable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ c: String) -> ChatMessage { .init(role: "system", content: c) }
    public static func user(_ c: String) -> ChatMessage { .init(role: "user", content: c) }
    public static func assistant(_ c: String) -> ChatMessage { .init(role: "assistant", content: c) }
}

/// Chat templates of the families we load, written out in Swift instead of evaluating Jinja.
/// Each renders exactly what the family's `apply_chat_template` renders (tested on fixtures).
public enum ChatTemplate: Equatable, Sendable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per turn (Qwen2, Qwen2.5, Qwen2-VL, SmolLM2);
    /// `defaultSystem` is inserted when the conversation does not open with a system turn.
    case chatML(defaultSystem: String?)
    /// InternVL2.5/3's conversation format: ChatML with InternVL's own system message.
    case internVL(system: String)

    public static let smolLM2 = ChatTemplate.chatML(defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
    public static let qwen25 = ChatTemplate.chatML(defaultSystem: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
    public static let qwen2 = ChatTemplate.chatML(defaultSystem: "You are a helpful assistant.")
    public static let internVL3 = ChatTemplate.internVL(
        system: "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。")

    /// The prompt that asks the model for the assistant's turn.
    public static let generationPrompt = "<|im_start|>assistant\n"

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        let opensWithSystem = messages.first?.role == "system"
        switch self {
        case .chatML(let defaultSystem):
            if !opensWithSystem, let s = defaultSystem { out += "<|im_start|>system\n\(s)<|im_end|>\n" }
        case .internVL(let system):
            if !opensWithSystem { out += "<|im_start|>system\n\(system)<|im_end|>\n" }
        }
        for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
        if addGenerationPrompt { out += ChatTemplate.generationPrompt }
        return out
    }

    /// Recognises a GGUF or tokenizer_config Jinja template by what it writes; nil when it is
    /// none of ours (the caller then asks the user to name one).
    public init?(recognizing jinja: String) {
        guard jinja.contains("<|im_start|>") else { return nil }
        if jinja.contains("书生·万象") || jinja.contains("InternVL") { self = .internVL3 }
        else if jinja.contains("You are Qwen, created by Alibaba Cloud") { self = .qwen25 }
        else if jinja.contains("named SmolLM") { self = .smolLM2 }
        else if jinja.contains("You are a helpful assistant.") { self = .qwen2 }
        else { self = .chatML(defaultSystem: nil) }
    }
}
