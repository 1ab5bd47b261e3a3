import Models
import NN
import PRM
import Tokenizers
import Torch

extension V1TrainingConfiguration {
    /// The reward model's backbone, seeded, on the run's device and precision, with only its
    /// top `train_layers` decoder layers trainable; the chat template its prompts use; and for
    /// a vision-language model, its frozen vision side (on the device, at the run's precision).
    func loadRewardModel() throws -> (model: LoadedModel, template: ChatTemplate, vision: VisionLanguageBackbone?) {
        let backbone: RewardBackbone
        do { backbone = try RewardBackbone.load(try ModelRegistry.resolve(rewardModel)) } catch {
            throw SettingError("reward_model", "cannot load '\(rewardModel)': \(error)")
        }
        let loaded = backbone.loaded
        guard let template = loaded.chatTemplate else { throw EngineError("\(loaded.source) has no chat template this build can render") }
        Runtime.manualSeed(seed)
        // The frozen tower takes the run's precision too (it has no master weights to keep);
        // the decoder's bf16 training keeps its fp32 masters as for text.
        let dtype: DType = precision.hasPrefix("bf") ? .bfloat16 : .float32
        try backbone.vision?.to(try Check.device(device), dtype: dtype)
        try loaded.model.to(try Check.device(device), dtype: dtype)
        if let n = trainLayers {
            guard n <= loaded.model.config.layerCount else {
                throw SettingError("train_layers", "\(rewardModel) has \(loaded.model.config.layerCount) decoder layers, not \(n)")
            }
            try loaded.model.freezeAllButTopLayers(n)
        }
        return (loaded, template, backbone.vision)
    }

    /// The bi-level engine of a run: its schedules, hypergradient and clipping, and the upper
    /// AdamW over the data weights.
    func engine<Lower, Upper>(lower: Lower, upper: Upper, weights: DataWeights, lowerOptimizer: Optimizer) throws
        -> (BilevelEngine<Lower, Upper>, upperOptimizer: Optimizer) {
        let upperOptimizer = try AdamW(weights.trainableParameters(), learningRate: metaLearningRate, eps: metaEpsilon, weightDecay: metaWeightDecay)
        var configuration = EngineConfiguration(unrollSteps: unrollSteps, hypergradient: try hypergradientMethod(),
                                                rollback: rollback, baseline: baseline,
                                                gradientAccumulation: gradientAccumulation,
                                                lowerClipNorm: lowerClipNorm, upperClipNorm: upperClipNorm)
        // Alignment is measured per key: domains, not instances.
        configuration.alignmentEvery = weights is DomainTable ? alignmentEvery : 0
        let engine = try BilevelEngine(
            lower: lower, upper: upper, weights: weights, lowerOptimizer: lowerOptimizer, upperOptimizer: upperOptimizer,
            lowerSchedule: schedules.lower, upperSchedule: schedules.upper,
            configuration: configuration)
        return (engine, upperOptimizer)
    }
}
