import Foundation
import Models
import PRM

extension V1TrainingConfiguration {
    /// The hypergradient method with its settings.
    public func hypergradientMethod() throws -> HypergradientMethod {
        try HypergradientMethod(name: hypergradient, radius: dartsAlpha, iterations: hypergradientIterations, alpha: neumannAlpha)
    }

    /// Every setting checked before the model loads or anything is written.
    public func validate() throws {
        try Check.inputFile(trainFile, "train_json_file")
        try Check.inputFile(metaFile, "meta_json_file")
        try Check.outputDirectory(outputDirectory, "weights_path")
        guard !rewardModel.isEmpty else { throw SettingError("reward_model", "is empty") }
        do { _ = try ModelRegistry.resolve(rewardModel) } catch { throw SettingError("reward_model", "\(error)") }
        try Check.atLeast(iterations, 1, "iteration_num")
        try Check.atLeast(batchSize, 1, "batch_size")
        try Check.atLeast(metaBatchSize, 1, "meta_batch_size")
        try Check.positive(learningRate, "lr")
        try Check.positive(metaLearningRate, "meta_lr")
        try Check.nonNegative(weightDecay, "weight_decay")
        try Check.nonNegative(metaWeightDecay, "meta_weight_decay")
        try Check.atLeast(schedulerStepSize, 1, "scheduler_step_size")
        try Check.positive(schedulerGamma, "scheduler_gamma")
        try Check.atLeast(unrollSteps, 1, "unroll_steps")
        try Check.atLeast(gradientAccumulation, 1, "gradient_accumulation")
        try Check.atLeast(saveEveryIterations, 1, "save_every_iterations")
        try Check.positive(headLearningRate, "head_lr")
        try Check.positive(epsilon, "eps")
        try Check.positive(metaEpsilon, "meta_eps")
        if let trainLayers { try Check.atLeast(trainLayers, 1, "train_layers") }
        if let lowerClipNorm { try Check.positive(lowerClipNorm, "gradient_clipping") }
        if let upperClipNorm { try Check.positive(upperClipNorm, "meta_gradient_clipping") }
        guard ["fp32", "float32", "bf16", "bfloat16"].contains(precision) else { throw SettingError("precision", "fp32 or bf16, not '\(precision)'") }
        guard (try? hypergradientMethod()) != nil else {
            throw SettingError("hypergradient", "darts, darts-step, neumann, cg or reverse, not '\(hypergradient)'")
        }
        // Reverse mode differentiates plain SGD steps; training's lower optimiser is AdamW (both
        // papers'), so it is refused here, before anything is written. The engine offers it with SGD.
        if hypergradient == "reverse" {
            throw SettingError("hypergradient", "reverse differentiates plain SGD lower steps and dreamprm train's lower optimiser is AdamW; use darts, neumann or cg (reverse is for BilevelEngine with SGD)")
        }
        try refuseOtherMethodsSettings()
        try Check.positive(dartsAlpha, "darts_alpha")
        try Check.atLeast(hypergradientIterations, 1, hypergradient == "cg" ? "cg_iterations" : "neumann_iterations")
        try Check.positive(neumannAlpha, "neumann_alpha")
        try Check.atLeast(hypergradientPerDomain, 0, "hypergradient_batch_per_domain")
        if metaObjective == .rank && batchStrata != .label {
            throw SettingError("meta_loss", "rank compares right and wrong chains of a meta batch; it needs --batch_strata label, so every batch holds both")
        }
        if batchStrata == .label {
            guard hypergradientPerDomain != 1 else {
                throw SettingError("hypergradient_batch_per_domain", "must be 0 or at least 2 with --batch_strata label: a domain's batch holds a right and a wrong step")
            }
            guard metaBatchSize >= 2 else {
                throw SettingError("meta_batch_size", "must be at least 2 with --batch_strata label: a meta batch holds a right and a wrong chain")
            }
        }
        try Check.atLeast(alignmentEvery, 0, "alignment_every")
        guard initialization.isFinite else { throw SettingError("initialization", "must be a finite number, not \(initialization)") }
        try Check.atLeast(instanceNetHidden, 1, "instance_net_hidden")
        try Check.atLeast(instanceNetLayers, 1, "instance_net_layers")
        try Check.nonNegative(warmupRatio, "warmup_ratio")
        guard warmupRatio < 1 else { throw SettingError("warmup_ratio", "must be below 1, not \(warmupRatio)") }
        try Check.atLeast(metaSchedulerStepSize, 1, "meta_scheduler_step_size")
        try Check.positive(metaSchedulerGamma, "meta_scheduler_gamma")
        try Check.atLeast(maxPatchNum, 1, "max_patch_num")
        switch (reweighting, resolvedPRMStyle) {
        case (.domain, .scalar), (.instanceTable, .generative), (.instanceNet, .generative): break
        case (.domain, .generative):
            throw SettingError("prm_style", "domain weights train the scalar PRM here: 1.5 conversations carry no domain")
        case (_, .scalar):
            throw SettingError("prm_style", "instance weights train the generative PRM here; pass --prm_style generative or --reweighting domain")
        }
        if let initFrom, !FileManager.default.fileExists(atPath: initFrom + "/prm.safetensors") {
            throw SettingError("init_from", "'\(initFrom)' is not a finished training run (it has no prm.safetensors)")
        }
        for target in reportTo where !["tensorboard", "none"].contains(target) {
            throw SettingError("report_to", "tensorboard or none, not '\(target)'")
        }
        _ = try Check.device(device)
    }
}

extension V1TrainingConfiguration {
    /// Settings of domain weights' scalar PRM only, and of instance weights only.
    static let domainOnlySettings = ["soft_labels", "head_input", "head_init", "head_lr", "scoring", "strict",
                                     "hypergradient_batch_per_domain", "batch_strata", "meta_loss", "alignment_every"]
    static let instanceOnlySettings = ["activation_function", "initialization", "loss_target", "init_from", "max_patch_num",
                                       "instance_net_hidden", "instance_net_layers", "instance_net_input"]

    /// A setting of the other method, changed from its default, is refused rather than ignored
    /// (left at its default, as a run's own config.json states it, it is fine).
    func refuseOtherMethodsSettings() throws {
        let given = flagValues, defaults = Self.defaults(for: reweighting).flagValues
        let domain = reweighting == .domain
        for name in domain ? Self.instanceOnlySettings : Self.domainOnlySettings where given[name].map({ "\($0)" }) != defaults[name].map({ "\($0)" }) {
            throw SettingError(name, domain ? "is a setting of instance weights (--reweighting instance-table or instance-net), not of domain weights"
                                            : "is a setting of domain weights' scalar PRM (--reweighting domain), not of --reweighting \(reweighting.rawValue)")
        }
    }
}
