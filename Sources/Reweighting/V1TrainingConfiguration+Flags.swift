import Foundation

extension V1TrainingConfiguration {
    /// The settings under the `train` flags' names, as a config file states them: what a run
    /// writes to its `config.json`, from which `--config` repeats it.
    public var flagValues: [String: Any] {
        var values: [String: Any] = [
            "train_json_file": trainFile, "meta_json_file": metaFile, "weights_path": outputDirectory, "reward_model": rewardModel,
            "iteration_num": iterations, "batch_size": batchSize, "meta_batch_size": metaBatchSize,
            "lr": learningRate, "meta_lr": metaLearningRate, "weight_decay": weightDecay, "meta_weight_decay": metaWeightDecay,
            "eps": epsilon, "meta_eps": metaEpsilon, "scheduler_step_size": schedulerStepSize, "scheduler_gamma": schedulerGamma,
            "unroll_steps": unrollSteps, "gradient_accumulation": gradientAccumulation, "save_every_iterations": saveEveryIterations,
            "precision": precision, "device": device, "seed": seed, "hypergradient": hypergradient,
            "hypergradient_batch_per_domain": hypergradientPerDomain, "batch_strata": batchStrata.rawValue, "meta_loss": metaObjective.rawValue,
            "alignment_every": alignmentEvery,
            "darts_alpha": dartsAlpha,
            "neumann_iterations": hypergradientIterations, "neumann_alpha": neumannAlpha, "scoring": scoring.rawValue,
            "aggregation": aggregation.rawValue, "head_input": headInput.rawValue, "head_init": headInit.rawValue, "head_lr": headLearningRate,
            "rollback": rollback, "baseline": baseline, "soft_labels": softLabels, "strict": strict,
            "report_to": reportTo.isEmpty ? "none" : reportTo.joined(separator: ","),
        ]
        values.merge([
            "reweighting": reweighting.rawValue, "activation_function": activation.rawValue, "initialization": initialization,
            "instance_net_hidden": instanceNetHidden, "instance_net_layers": instanceNetLayers,
            "instance_net_input": instanceNetDetach ? "detached" : "reference", "loss_target": lossTarget.rawValue,
            "scheduler_type": schedulerType.rawValue, "warmup_ratio": warmupRatio, "meta_scheduler_step_size": metaSchedulerStepSize,
            "meta_scheduler_gamma": metaSchedulerGamma, "max_patch_num": maxPatchNum,
        ]) { $1 }
        if let prmStyle { values["prm_style"] = prmStyle.rawValue }
        if let initFrom { values["init_from"] = initFrom }
        if let trainLayers { values["train_layers"] = trainLayers }
        if let lowerClipNorm { values["gradient_clipping"] = lowerClipNorm }
        if let upperClipNorm { values["meta_gradient_clipping"] = upperClipNorm }
        return values
    }
}

extension V1TrainingConfiguration {
    /// The upper level's batches and objective as run, each beside the reference's, for
    /// run_report.json: the choices that decide whether domain weights find bad data.
    var upperLevelChoices: [String: String] {
        [
            "hypergradient_batch": hypergradientPerDomain > 0
                ? "\(hypergradientPerDomain) records of every domain (the reference: the last lower batch)"
                : "the last lower batch, as the reference",
            "meta_batch": "\(metaBatchSize) chains" + (metaBatchSize == 1 ? ", as the reference" : " (the reference: 1)"),
            "batch_strata": batchStrata == .label
                ? "label: half right, half wrong, weighted by each label's share (the reference: none)" : "none, as the reference",
            "meta_loss": metaObjective == .squared ? "squared, as the reference" : "\(metaObjective.rawValue) (the reference: squared)",
        ]
    }
}
