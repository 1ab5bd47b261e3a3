import ArgumentParser
import Foundation
import PRM
import Reweighting
import Torch

/// `dreamprm train`: DreamPRM (v1) domain reweighting. Flags keep the original project's
/// names (with kebab-case aliases); a JSON config file gives defaults that flags override.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a PRM with learned domain weights (DreamPRM, bi-level optimisation).",
        discussion: """
            Every setting is checked before the model loads. Exit codes: 0 done; 1 the run failed (e.g. a non-finite loss; \
            the last checkpoint stays intact); 2 bad input: a flag, the config file, a data file or the output directory.
            """)

    private static func names(_ original: String) -> NameSpecification {
        [.customLong(original), .customLong(original.replacingOccurrences(of: "_", with: "-"))]
    }

    @Option(help: "A settings file, YAML or JSON (.json), keyed by these flags' names (train_json_file, lr, rollback: true, …); partial files are fine, and flags given here override it. Every run writes its resolved settings to weights_path/config.json, so `--config RUN/config.json` repeats it.")
    var config: String?
    @Option(name: names("train_json_file"), help: "v1 training records (JSON array or JSON Lines).") var trainJSONFile: String?
    @Option(name: names("meta_json_file"), help: "v1 meta records (JSON array or JSON Lines).") var metaJSONFile: String?
    @Option(name: names("weights_path"), help: "Output directory: checkpoint/, prm.safetensors, domain_weights.json, metrics.jsonl.") var weightsPath: String?
    @Option(name: names("reward_model"), help: "Backbone: built-in name, .gguf file or HF directory.") var rewardModel: String?
    @Option(name: names("iteration_num"), parsing: .unconditional, help: "Lower-level iterations (\(byMethod(\.iterations))).") var iterationNum: Int?
    @Option(name: names("batch_size"), parsing: .unconditional, help: "Training records per lower step (\(byMethod(\.batchSize))).") var batchSize: Int?
    @Option(name: names("meta_batch_size"), parsing: .unconditional, help: "Meta chains per upper step (\(byMethod(\.metaBatchSize))).") var metaBatchSize: Int?
    @Option(name: names("lr"), parsing: .unconditional, help: "Lower AdamW learning rate (\(byMethod(\.learningRate))).") var lr: Double?
    @Option(name: names("meta_lr"), parsing: .unconditional, help: "Upper AdamW learning rate (\(byMethod(\.metaLearningRate))).") var metaLR: Double?
    @Option(name: names("weight_decay"), parsing: .unconditional, help: "Lower AdamW weight decay (\(byMethod(\.weightDecay))).") var weightDecay: Double?
    @Option(name: names("meta_weight_decay"), parsing: .unconditional, help: "Upper AdamW weight decay (\(byMethod(\.metaWeightDecay))).") var metaWeightDecay: Double?
    @Option(name: names("eps"), parsing: .unconditional, help: "Lower AdamW eps (\(byMethod(\.epsilon)); v1's is its first published main.py's).") var eps: Double?
    @Option(name: names("meta_eps"), parsing: .unconditional, help: "Upper AdamW eps (\(byMethod(\.metaEpsilon))).") var metaEps: Double?
    @Option(name: [.customLong("gradiant_clipping"), .customLong("gradient_clipping"), .customLong("gradient-clipping")], parsing: .unconditional,
            help: "Clip the lower gradient to this norm (\(byMethod(\.lowerClipNorm)); DreamPRM-1.5's spelling is accepted).") var gradientClipping: Double?
    @Option(name: [.customLong("meta_gradiant_clipping"), .customLong("meta_gradient_clipping"), .customLong("meta-gradient-clipping")],
            parsing: .unconditional, help: "Clip the hypergradient to this norm (\(byMethod(\.upperClipNorm))).") var metaGradientClipping: Double?
    @Option(name: names("scheduler_step_size"), parsing: .unconditional, help: "StepLR step size of the lower rate (default 5000).") var schedulerStepSize: Int?
    @Option(name: names("scheduler_gamma"), parsing: .unconditional, help: "StepLR factor (default 0.5).") var schedulerGamma: Double?
    @Option(name: names("unroll_steps"), parsing: .unconditional, help: "Lower steps per upper step (\(byMethod(\.unrollSteps))).") var unrollSteps: Int?
    @Option(name: [.customLong("gradiant_accumulation"), .customLong("gradient_accumulation"), .customLong("gradient-accumulation")],
            parsing: .unconditional, help: "Micro-batches per lower step (default 1; the original's spelling is accepted).") var gradientAccumulation: Int?
    @Option(name: names("save_every_iterations"), parsing: .unconditional, help: "Checkpoint interval (default 1000).") var saveEveryIterations: Int?
    @Option(name: names("precision"), help: "fp32 or bf16 (bf16 computes over float32 master weights).") var precision: String?
    @Option(name: names("device"), help: "cpu, cuda or cuda:N.") var device: String?
    @Option(name: names("seed"), parsing: .unconditional, help: "Seed for the head, data order and sampling.") var seed: UInt64?
    @Option(name: names("hypergradient"),
            help: """
                darts (default), darts-step (darts along the lower optimiser's per-parameter steps), neumann or cg. \
                (reverse, exact through plain SGD steps, is the engine's for small problems: training's lower \
                optimiser is AdamW.)
                """) var hypergradient: String?
    @Option(name: names("hypergradient_batch_per_domain"), parsing: .unconditional,
            help: "Domain weights: the upper step differentiates this many records of every domain, drawn in a balanced batch, each weighted K·n_d/N so the estimate stays unbiased, instead of the last lower batch (default 0: the last lower batch, as Betty).")
    var hypergradientBatchPerDomain: Int?
    @Option(name: names("batch_strata"), parsing: .unconditional,
            help: """
                Domain weights: label draws the hypergradient batch (--hypergradient_batch_per_domain) and the meta batch \
                half from steps/chains labelled right and half wrong, each weighted by its label's share so the estimate \
                stays unbiased (needs --meta_batch_size of at least 2); none draws them as the reference (default none).
                """) var batchStrata: String?
    @Option(name: names("meta_loss"), parsing: .unconditional,
            help: """
                Domain weights: what the upper level minimises over a meta batch: squared, (aggregate − label)² as the \
                reference (default); log, the log loss; rank, a logistic loss over every right/wrong pair of chains \
                (needs --batch_strata label).
                """) var metaLoss: String?
    @Option(name: names("alignment_every"), parsing: .unconditional,
            help: """
                Domain weights: every this many upper steps, write each domain's gradient alignment with the meta \
                gradient (⟨v, ∇ℓ_d⟩ and its cosine, by parameter group) to metrics.jsonl; costs a forward and one \
                backward per domain (default 5; 0: never).
                """)
    var alignmentEvery: Int?
    @Option(name: names("darts_alpha"), parsing: .unconditional, help: "darts: the perturbation radius r, ε = r/‖v‖ (default 0.01, Betty's).") var dartsAlpha: Double?
    @Option(name: [.customLong("neumann_iterations"), .customLong("neumann-iterations"), .customLong("cg_iterations"), .customLong("cg-iterations")],
            parsing: .unconditional, help: "neumann: terms of the series; cg: iterations (default 1, Betty's).") var hypergradientIterations: Int?
    @Option(name: names("neumann_alpha"), parsing: .unconditional, help: "neumann: the series' step α (default 1).") var neumannAlpha: Double?
    @Option(name: names("scoring"), help: "Meta chains: shared-prefix (default) or per-prefix; same scores.") var scoring: String?
    @Option(name: [.customLong("aggregation"), .customLong("aggregation_function"), .customLong("aggregation-function")],
            help: "Meta aggregation (\(byMethod(\.aggregation.rawValue))): mean-log-odds (v1 code), sum-log-odds (v1 paper), mean (mean P(+), 1.5), min, max, product, last, log-mean; 1.5's name --aggregation_function and underscores (log_mean) are accepted.")
    var aggregation: String?
    @Option(name: names("head_input"), help: "Scalar head on the last-position logits (default, as v1) or hidden state.") var headInput: String?
    @Option(name: names("head_init"), help: "standardized (default: zero head over standardised features, p = 0.5 at the start) or reference (the original's PyTorch initialisation over raw features; saturates on large vocabularies).") var headInit: String?
    @Option(name: names("head_lr"), parsing: .unconditional, help: "With --head_init standardized: the head's rate; one step moves z by at most about twice this (default 0.05).") var headLR: Double?
    @Option(name: names("train_layers"), parsing: .unconditional, help: "Train only the top N decoder layers and the head (default: the whole backbone).") var trainLayers: Int?
    @Option(name: names("threads"), parsing: .unconditional, help: "CPU threads (default: LibTorch's choice).") var threads: Int?
    @Option(name: names("report_to"), help: "tensorboard: also write TensorBoard event files into weights_path (scalars of every metrics line); none (default).") var reportTo: String?
    @Option(name: names("reweighting"), help: "domain (DreamPRM, default), instance-table or instance-net (DreamPRM-1.5); each has its own defaults (METHOD.md §5).")
    var reweighting: String?
    @Option(name: names("prm_style"), help: "scalar (v1 head on step prefixes) or generative (1.5 +/- judgements); default: scalar for domain, generative for instance weights.")
    var prmStyle: String?
    @Option(name: names("activation_function"), help: "Instance weights' activation: LeakyReLU, ReLU, No, Clip, Sigmoid (\(byMethod(\.activation.rawValue, methods: [.instanceTable, .instanceNet]))).") var activationFunction: String?
    @Option(name: names("loss_target"), help: "1.5 meta loss: + (P(+) against correctness) or both (default: the label's token).") var lossTarget: String?
    @Option(name: names("initialization"), parsing: .unconditional, help: "Instance table's start (default 1.0).") var initialization: Double?
    @Option(name: names("instance_net_hidden"), parsing: .unconditional, help: "Instance net: hidden width (default 10, the reference's --hidden_dim).") var instanceNetHidden: Int?
    @Option(name: names("instance_net_layers"), parsing: .unconditional, help: "Instance net: hidden layers (default 1).") var instanceNetLayers: Int?
    @Option(name: names("instance_net_input"), help: "Instance net input: detached (default) or reference (undetached: the PRM gets gradient through its own weight).")
    var instanceNetInput: String?
    @Option(name: names("scheduler_type"), help: "step (StepLR), cosine_schedule_with_warmup or constant, at both levels (\(byMethod(\.schedulerType.rawValue))).") var schedulerType: String?
    @Option(name: names("warmup_ratio"), parsing: .unconditional, help: "Cosine schedule: warm-up fraction of the steps (default 0.05).") var warmupRatio: Double?
    @Option(name: names("meta_scheduler_step_size"), parsing: .unconditional, help: "StepLR step size of the upper rate (default 1000).") var metaSchedulerStepSize: Int?
    @Option(name: names("meta_scheduler_gamma"), parsing: .unconditional, help: "StepLR factor of the upper rate (default 1: constant).") var metaSchedulerGamma: Double?
    @Option(name: names("init_from"), help: "A finished generative run whose PRM this run starts from (1.5's cold start).") var initFrom: String?
    @Option(name: names("max_patch_num"), parsing: .unconditional, help: "InternVL tiles per image (default 6; text backbones ignore images).") var maxPatchNum: Int?
    @Flag(name: names("rollback"), help: "Restore θ at each window's start after the upper step and redo one lower step.") var rollback = false
    @Flag(name: [.customLong("baseline"), .customLong("retrain")],
          help: "Lower level only, unweighted: a vanilla PRM (1.5's cold start; --retrain is its name there, and --retrain true|false as there).")
    var baseline = false
    @Option(help: "DreamPRM-1.5's flag; accepted and ignored (the optimisers here are AdamW).") var momentum: String?
    @Option(name: [.customLong("meta_momentum")], help: "DreamPRM-1.5's flag; accepted and ignored.") var metaMomentum: String?
    @Option(help: "DreamPRM-1.5's flag; accepted and ignored (one process).") var strategy: String?
    @Option(name: [.customLong("local_rank")], help: "DreamPRM-1.5's flag; accepted and ignored (one process).") var localRank: String?
    @Flag(name: names("soft_labels"), help: "Soft BCE against the MC accuracy instead of MSE.") var softLabels = false
    @Flag(help: "Meta records without steps are an error instead of skipped and counted.") var strict = false
    @Flag(help: "Continue from weights_path/checkpoint.") var resume = false
    @Flag(help: "Replace the earlier run in weights_path (without it, a directory holding a run is refused).") var overwrite = false

    /// A flag's value as one of an enumeration's cases, or an error naming the flag and the cases.
    private func choice<E: RawRepresentable & CaseIterable>(_ value: String?, _ flag: String) throws -> E?
        where E.RawValue == String {
        guard let value else { return nil }
        guard let e = E(rawValue: value) else {
            throw SettingError(flag, "one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value)'")
        }
        return e
    }

    /// "default X", or each method's default where they differ ("domain 5e-07, instance-table 5e-05, …").
    static func byMethod<T>(_ path: KeyPath<V1TrainingConfiguration, T>, methods: [Reweighting] = Reweighting.allCases) -> String {
        func show(_ value: T) -> String {
            if let optional = value as? Double? { return optional.map { "\($0)" } ?? "none" }
            return "\(value)"
        }
        let values = methods.map { ($0.rawValue, show(V1TrainingConfiguration.defaults(for: $0)[keyPath: path])) }
        if Set(values.map(\.1)).count == 1 { return "default \(values[0].1)" }
        return "default: " + values.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    }

    /// The original projects' spellings ArgumentParser cannot read as they are: DreamPRM-1.5's
    /// `--retrain True` / `--retrain=false` (a boolean value) become `--retrain` or nothing.
    static func originalSpellings(_ arguments: [String]) -> [String] {
        let booleans = ["true": true, "false": false, "1": true, "0": false, "yes": true, "no": false]
        var out: [String] = [], i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--retrain", i + 1 < arguments.count, let value = booleans[arguments[i + 1].lowercased()] {
                if value { out.append(a) }
                i += 2
                continue
            }
            if a.hasPrefix("--retrain="), let value = booleans[String(a.dropFirst("--retrain=".count)).lowercased()] {
                if value { out.append("--retrain") }
                i += 1
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    func settings() throws -> V1TrainingConfiguration {
        func parse<T: RawRepresentable & CaseIterable>(_ value: String?, _ flag: String, _ type: T.Type) throws -> T? where T.RawValue == String {
            guard let value else { return nil }
            guard let parsed = T(rawValue: value) else {
                throw SettingError(flag, "one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value)'")
            }
            return parsed
        }
        var c = V1TrainingConfiguration.defaults(for: try parse(reweighting, "reweighting", Reweighting.self) ?? .domain)
        c.prmStyle = try parse(prmStyle, "prm_style", PRMStyle.self)
        if let a = try parse(activationFunction, "activation_function", InstanceTable.Activation.self) { c.activation = a }
        if let t = try parse(lossTarget, "loss_target", PRMLoss.GenerativeTarget.self) { c.lossTarget = t }
        if let s = try parse(schedulerType, "scheduler_type", SchedulerType.self) { c.schedulerType = s }
        if let instanceNetInput {
            guard ["detached", "reference"].contains(instanceNetInput) else {
                throw SettingError("instance_net_input", "detached or reference, not '\(instanceNetInput)'")
            }
            c.instanceNetDetach = instanceNetInput == "detached"
        }
        func set<T>(_ value: T?, _ path: WritableKeyPath<V1TrainingConfiguration, T>) { if let value { c[keyPath: path] = value } }
        set(trainJSONFile, \.trainFile); set(metaJSONFile, \.metaFile); set(weightsPath, \.outputDirectory)
        set(rewardModel, \.rewardModel); set(iterationNum, \.iterations); set(batchSize, \.batchSize); set(metaBatchSize, \.metaBatchSize)
        set(lr, \.learningRate); set(metaLR, \.metaLearningRate); set(eps, \.epsilon); set(metaEps, \.metaEpsilon)
        if let gradientClipping { c.lowerClipNorm = gradientClipping }
        if let metaGradientClipping { c.upperClipNorm = metaGradientClipping }
        set(weightDecay, \.weightDecay); set(metaWeightDecay, \.metaWeightDecay)
        set(schedulerStepSize, \.schedulerStepSize); set(schedulerGamma, \.schedulerGamma); set(unrollSteps, \.unrollSteps)
        set(gradientAccumulation, \.gradientAccumulation); set(saveEveryIterations, \.saveEveryIterations); set(precision, \.precision)
        set(device, \.device); if let trainLayers { c.trainLayers = trainLayers }; set(seed, \.seed); set(hypergradient, \.hypergradient)
        set(hypergradientBatchPerDomain, \.hypergradientPerDomain)
        set(alignmentEvery, \.alignmentEvery)
        set(dartsAlpha, \.dartsAlpha)
        set(hypergradientIterations, \.hypergradientIterations); set(neumannAlpha, \.neumannAlpha)
        try choice(batchStrata, "batch_strata").map { c.batchStrata = $0 }
        try choice(metaLoss, "meta_loss").map { c.metaObjective = $0 }
        try choice(scoring, "scoring").map { c.scoring = $0 }
        if let aggregation {
            guard let a = Aggregation(rawValue: aggregation.replacingOccurrences(of: "_", with: "-")) else {
                throw SettingError("aggregation", "one of \(Aggregation.allCases.map(\.rawValue).joined(separator: ", ")), not '\(aggregation)'")
            }
            c.aggregation = a
        }
        try choice(headInput, "head_input").map { c.headInput = $0 }
        try choice(headInit, "head_init").map { c.headInit = $0 }
        set(headLR, \.headLearningRate); set(initialization, \.initialization); set(instanceNetHidden, \.instanceNetHidden)
        set(instanceNetLayers, \.instanceNetLayers); set(warmupRatio, \.warmupRatio); set(metaSchedulerStepSize, \.metaSchedulerStepSize)
        set(metaSchedulerGamma, \.metaSchedulerGamma); set(maxPatchNum, \.maxPatchNum)
        if let initFrom { c.initFrom = initFrom }
        if let reportTo { c.reportTo = reportTo.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0 != "none" && !$0.isEmpty } }
        if rollback { c.rollback = true }
        if baseline { c.baseline = true }
        if softLabels { c.softLabels = true }
        if strict { c.strict = true }
        try c.validate()
        return c
    }

    /// These flags after the config file's (so they win), parsed again.
    func resolvingConfig(commandLine: [String]) throws -> Train {
        guard let config else { return self }
        let switches: Set = ["rollback", "baseline", "retrain", "soft_labels", "strict", "resume", "overwrite"]
        let fromFile = try ConfigFile.arguments(config, switches: switches)
        var merged: Train
        do { merged = try Train.parse(fromFile + commandLine) } catch {
            throw SettingError("config", "\(config): \(Train.message(for: error))")
        }
        merged.config = nil
        return merged
    }

    func run() throws {
        if config != nil { return try resolvingConfig(commandLine: Self.originalSpellings(Array(CommandLine.arguments.dropFirst(2)))).run() }
        for (flag, value) in [("momentum", momentum), ("meta_momentum", metaMomentum), ("strategy", strategy), ("local_rank", localRank)] where value != nil {
            FileHandle.standardError.write(Data("notice: --\(flag) is DreamPRM-1.5's and does nothing here; ignored\n".utf8))
        }
        if resume && overwrite { throw SettingError("overwrite", "--resume continues a run and --overwrite replaces it; pass one") }
        if let threads { try Check.atLeast(threads, 1, "threads") }
        let c = try settings()
        if let threads { Runtime.threadCount = threads }
        let terminal = TerminalLog()
        if c.reweighting == .domain {
            let report = try V1Training(c, log: terminal.message, progress: terminal.progress).run(resume: resume, overwrite: overwrite)
            terminal.finish()
            print("done: \(c.outputDirectory) (\(report.trainRecords) training records in \(report.domains.count) domains, \(report.metaChainsUsed) meta chains)")
        } else {
            let report = try InstanceTraining(c, log: terminal.message, progress: terminal.progress).run(resume: resume, overwrite: overwrite)
            terminal.finish()
            print("done: \(c.outputDirectory) (\(report.trainRecords) training conversations, \(report.labelledSteps) judged steps, \(report.metaRecords) meta conversations)")
        }
        for path in try TrainingPlots.write(run: URL(fileURLWithPath: c.outputDirectory)) { print("plot: \(path)") }
    }
}
