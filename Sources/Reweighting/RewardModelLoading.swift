import Models
import PRM
import Tokenizers
import Torch

extension V1TrainingConfiguration {
    /// The reward model's backbone, seeded, on the run's device and precision, with only its
    /// top `train_layers` decoder layers trainable; and the chat template its prompts use.
    func loadRewardModel() throws -> (model: LoadedModel, template: ChatTemplate) {
        let loaded: LoadedModel
        do { loaded = try ModelLoader.load(try ModelRegistry.resolve(rewardModel)) } catch {
            throw SettingError("reward_model", "cannot load '\(rewardModel)': \(error)")
        }
        guard let template = loaded.chatTemplate else { throw EngineError("\(loaded.source) has no chat template this build can render") }
        Runtime.manualSeed(seed)
        try loaded.model.to(try Check.device(device), dtype: precision.hasPrefix("bf") ? .bfloat16 : .float32)
        if let n = trainLayers {
            guard n <= loaded.model.config.layerCount else {
                throw SettingError("train_layers", "\(rewardModel) has \(loaded.model.config.layerCount) decoder layers, not \(n)")
            }
            try loaded.model.freezeAllButTopLayers(n)
        }
        return (loaded, template)
    }
}
