import Foundation
import Models

/// The backbone a PRM is built on: a language model, or a vision-language model's decoder
/// together with what puts its images into prompts.
public struct RewardBackbone {
    public let loaded: LoadedModel
    public let vision: VisionLanguageBackbone?

    /// A Hugging Face directory of either kind, or a `.gguf` language model.
    public static func load(_ url: URL) throws -> RewardBackbone {
        if try ModelLoader.isVisionLanguageDirectory(url) {
            let vision = try VisionLanguageBackbones.load(url)
            return RewardBackbone(loaded: LoadedModel(model: vision.language, tokenizer: vision.tokenizer, chatTemplate: vision.chatTemplate,
                                                      source: url.path), vision: vision)
        }
        return RewardBackbone(loaded: try ModelLoader.load(url), vision: nil)
    }
}
