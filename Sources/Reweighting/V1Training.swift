import Foundation
import Models
import NN
import PRM
import Tokenizers
import Torch

/// Everything a DreamPRM (v1) run needs; the defaults are METHOD.md §5's v1 column.
public struct V1TrainingConfiguration: Codable, Equatable {
    public var trainFile = ""
    public var metaFile = ""
    public var outputDirectory = "runs/dreamprm"
    public var rewardModel = "smollm2-135m-instruct"
    public var iterations = 10_000
    public var batchSize = 1
    public var metaBatchSize = 1
    public var learningRate = 5e-7
    public var metaLearningRate = 0.01
    public var weightDecay = 0.0
    public var metaWeightDecay = 1e-3
    public var schedulerStepSize = 5000
    public var schedulerGamma = 0.5
    public var unrollSteps = 5
    public var gradientAccumulation = 1
    public var saveEveryIterations = 1000
    public var precision = "fp32"
    public var device = "cpu"
    public var seed: UInt64 = 0
    public var rollback = false
    public var baseline = false
    public var hypergradient = "darts"
    /// Records of each domain in the batch the upper step differentiates (0: the last lower
    /// batch, as Betty). A balanced batch gives every domain a hypergradient at every upper
    /// step, where a small lower batch leaves most domains out.
    public var hypergradientPerDomain = 0
    /// darts' radius r (ε = r/‖v‖), Neumann or CG terms, and the Neumann step, under Betty's names.
    public var dartsAlpha = 0.01
    public var hypergradientIterations = 1
    public var neumannAlpha = 1.0
    public var headInput = ScalarHeadInput.logits
    /// The head's start and rate: `standardized` (default) or the original's `reference`.
    public var headInit = ScalarHeadInit.standardized
    /// With `standardized`: the head bias's AdamW rate; its weight's is this / fan-in, so one
    /// step moves z by at most about twice this. Follows the lower schedule.
    public var headLearningRate = 0.05
    public var scoring = PrefixScoring.sharedPrefix
    public var aggregation = Aggregation.meanLogOdds
    public var softLabels = false
    /// Train only the top N decoder layers (and the head); nil trains the whole backbone.
    public var trainLayers: Int?
    /// AdamW's eps below (1e-6: the first published v1 `main.py`, transformers.AdamW) and
    /// above (1e-8: torch.optim.AdamW's default, which the reference's upper optimiser keeps).
    public var epsilon = 1e-6
    public var metaEpsilon = 1e-8
    /// Gradient-norm clipping below and above (none by default, as the reference).
    public var lowerClipNorm: Double?
    public var upperClipNorm: Double?
    /// Meta records without steps are an error instead of being skipped and counted.
    public var strict = false
    /// Where metrics go besides metrics.jsonl: "tensorboard" adds event files in the run directory.
    public var reportTo: [String] = []

    public init() {}
}

extension V1TrainingConfiguration {
    /// Keys that are absent keep their defaults, so a partial settings file or a checkpoint
    /// written before a setting existed still reads.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trainFile = try c.decodeIfPresent(String.self, forKey: .trainFile) ?? trainFile
        metaFile = try c.decodeIfPresent(String.self, forKey: .metaFile) ?? metaFile
        outputDirectory = try c.decodeIfPresent(String.self, forKey: .outputDirectory) ?? outputDirectory
        rewardModel = try c.decodeIfPresent(String.self, forKey: .rewardModel) ?? rewardModel
        iterations = try c.decodeIfPresent(Int.self, forKey: .iterations) ?? iterations
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        metaBatchSize = try c.decodeIfPresent(Int.self, forKey: .metaBatchSize) ?? metaBatchSize
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? learningRate
        metaLearningRate = try c.decodeIfPresent(Double.self, forKey: .metaLearningRate) ?? metaLearningRate
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? weightDecay
        metaWeightDecay = try c.decodeIfPresent(Double.self, forKey: .metaWeightDecay) ?? metaWeightDecay
        schedulerStepSize = try c.decodeIfPresent(Int.self, forKey: .schedulerStepSize) ?? schedulerStepSize
        schedulerGamma = try c.decodeIfPresent(Double.self, forKey: .schedulerGamma) ?? schedulerGamma
        unrollSteps = try c.decodeIfPresent(Int.self, forKey: .unrollSteps) ?? unrollSteps
        gradientAccumulation = try c.decodeIfPresent(Int.self, forKey: .gradientAccumulation) ?? gradientAccumulation
        saveEveryIterations = try c.decodeIfPresent(Int.self, forKey: .saveEveryIterations) ?? saveEveryIterations
        precision = try c.decodeIfPresent(String.self, forKey: .precision) ?? precision
        device = try c.decodeIfPresent(String.self, forKey: .device) ?? device
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        rollback = try c.decodeIfPresent(Bool.self, forKey: .rollback) ?? rollback
        baseline = try c.decodeIfPresent(Bool.self, forKey: .baseline) ?? baseline
        hypergradient = try c.decodeIfPresent(String.self, forKey: .hypergradient) ?? hypergradient
        hypergradientPerDomain = try c.decodeIfPresent(Int.self, forKey: .hypergradientPerDomain) ?? hypergradientPerDomain
        dartsAlpha = try c.decodeIfPresent(Double.self, forKey: .dartsAlpha) ?? dartsAlpha
        hypergradientIterations = try c.decodeIfPresent(Int.self, forKey: .hypergradientIterations) ?? hypergradientIterations
        neumannAlpha = try c.decodeIfPresent(Double.self, forKey: .neumannAlpha) ?? neumannAlpha
        headInput = try c.decodeIfPresent(ScalarHeadInput.self, forKey: .headInput) ?? headInput
        headInit = try c.decodeIfPresent(ScalarHeadInit.self, forKey: .headInit) ?? headInit
        headLearningRate = try c.decodeIfPresent(Double.self, forKey: .headLearningRate) ?? headLearningRate
        scoring = try c.decodeIfPresent(PrefixScoring.self, forKey: .scoring) ?? scoring
        aggregation = try c.decodeIfPresent(Aggregation.self, forKey: .aggregation) ?? aggregation
        softLabels = try c.decodeIfPresent(Bool.self, forKey: .softLabels) ?? softLabels
        trainLayers = try c.decodeIfPresent(Int.self, forKey: .trainLayers) ?? trainLayers
        epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon) ?? epsilon
        metaEpsilon = try c.decodeIfPresent(Double.self, forKey: .metaEpsilon) ?? metaEpsilon
        lowerClipNorm = try c.decodeIfPresent(Double.self, forKey: .lowerClipNorm) ?? lowerClipNorm
        upperClipNorm = try c.decodeIfPresent(Double.self, forKey: .upperClipNorm) ?? upperClipNorm
        strict = try c.decodeIfPresent(Bool.self, forKey: .strict) ?? strict
        reportTo = try c.decodeIfPresent([String].self, forKey: .reportTo) ?? reportTo
    }
}

/// What a run reports about its data, for `run_report.json` and the terminal.
public struct V1DataReport: Codable, Equatable {
    public var trainRecords = 0
    public var domains: [String] = []
    public var metaRecords = 0
    public var metaChainsUsed = 0
    /// Skipped meta records by reason, with their indices (first 20).
    public var metaSkipped: [String: Int] = [:]
    public var metaSkippedExamples: [Int] = []
    public var recordsWithImages = 0
}

/// A DreamPRM (v1) training run: reads and checks the data, builds the PRM, runs the bi-level
/// engine with progress, JSON-lines metrics and atomic checkpoints, and resumes exactly.
public final class V1Training {
    public let configuration: V1TrainingConfiguration
    public let log: (String) -> Void
    /// Where the progress line goes (a terminal redraws it in place); `log` by default.
    public let progress: (String) -> Void

    public init(_ configuration: V1TrainingConfiguration, log: @escaping (String) -> Void, progress: ((String) -> Void)? = nil) {
        self.configuration = configuration
        self.log = log
        self.progress = progress ?? log
    }

    struct CheckpointMetadata: Codable {
        var configuration: V1TrainingConfiguration
        var engine: [String: Int]
        var lowerPosition: [Int]
        var metaPosition: [Int]
        /// Per domain (epoch, index) of the hypergradient batches' orders; absent in older checkpoints.
        var hypergradientPositions: [[Int]]?
        var domainWeights: [String: Double]
    }

    /// Reads and checks both files (meta chains split into steps); malformed input throws
    /// `DataError` before the model loads or anything is written.
    public func readData() throws -> (train: [V1TrainRecord], meta: [(chain: SplitChain, label: Bool)], report: V1DataReport) {
        let c = configuration
        var report = V1DataReport()
        let train = try RecordReader.read(URL(fileURLWithPath: c.trainFile), V1TrainRecord.init)
        guard !train.isEmpty else { throw DataError(file: c.trainFile, message: "no training records") }
        // (id, sid) names one step prefix of one chain; a second record under it is a copy or a clash.
        var seen: [String: Int] = [:]
        for (i, r) in train.enumerated() {
            guard let id = r.id, let sid = r.sid else { continue }
            if let first = seen.updateValue(i, forKey: "\(id)\u{1}\(sid)") {
                throw DataError(file: c.trainFile, record: i, field: "id", message: "id '\(id)' with sid \(sid) is also record \(first)'s")
            }
        }
        report.trainRecords = train.count
        report.domains = Array(Set(train.map(\.dataset))).sorted()
        var chains: [(chain: SplitChain, label: Bool)] = []
        var index = 0
        try RecordReader.forEach(in: URL(fileURLWithPath: c.metaFile)) { fields in
            defer { index += 1 }
            let record = try V1MetaRecord(fields)
            if record.imagePath != nil { report.recordsWithImages += 1 }
            let chain = StepSplitter.v1.split(record.input)
            guard chain.count > 0 else {
                if c.strict { throw DataError(file: c.metaFile, record: index, field: "input", message: "has no 'Step N' markers (run without --strict to skip such records)") }
                report.metaSkipped["no steps (no 'Step N' marker in input)", default: 0] += 1
                if report.metaSkippedExamples.count < 20 { report.metaSkippedExamples.append(index) }
                return
            }
            chains.append((chain, record.trueFalse))
        }
        report.metaRecords = index
        report.metaChainsUsed = chains.count
        report.recordsWithImages += train.filter { $0.imagePath != nil }.count
        guard !chains.isEmpty else { throw DataError(file: c.metaFile, message: "no usable meta chains (\(report.metaSkipped))") }
        return (train, chains, report)
    }

    /// Trains into the output directory: `resume` continues its checkpoint; otherwise the
    /// directory must hold no earlier run unless `overwrite` (which removes that run's files).
    public func run(resume: Bool, overwrite: Bool = false) throws -> V1DataReport {
        let c = configuration
        let out = URL(fileURLWithPath: c.outputDirectory)
        // Settings and data first: bad input stops the run before the model loads or anything is written.
        try c.validate()
        let (train, metaChains, report) = try readData()
        let device = try Check.device(c.device)
        let dtype: DType = c.precision.hasPrefix("bf") ? .bfloat16 : .float32
        let directory = try RunDirectory(out, mode: resume ? .resume : overwrite ? .overwrite : .fresh, log: log)
        let loaded: LoadedModel
        do { loaded = try ModelLoader.load(try ModelRegistry.resolve(c.rewardModel)) } catch {
            throw SettingError("reward_model", "cannot load '\(c.rewardModel)': \(error)")
        }
        guard let template = loaded.chatTemplate else { throw EngineError("\(loaded.source) has no chat template this build can render") }
        let encoder = PromptEncoder(tokenizer: loaded.tokenizer, template: template)
        let chains = metaChains.map { m in ((0..<m.chain.count).map { encoder.encode(m.chain.prefix(through: $0)) }, m.label) }
        if report.recordsWithImages > 0 {
            log("notice: \(report.recordsWithImages) records name an image; \(c.rewardModel) is a text-only backbone, so images are ignored")
        }
        if let skipped = report.metaSkipped.first {
            log("meta: \(report.metaChainsUsed) of \(report.metaRecords) records used; skipped \(skipped.value): \(skipped.key)")
        }
        Runtime.manualSeed(c.seed)
        try loaded.model.to(device, dtype: dtype)
        if let n = c.trainLayers {
            guard n <= loaded.model.config.layerCount else {
                throw SettingError("train_layers", "\(c.rewardModel) has \(loaded.model.config.layerCount) decoder layers, not \(n)")
            }
            try loaded.model.freezeAllButTopLayers(n)
        }
        let prm = try ScalarHeadPRM(backbone: loaded.model, input: c.headInput, initialization: c.headInit)
        try prm.head.to(device, dtype: .float32)
        let lower = V1TrainingProblem(prm: prm, records: train, encoder: encoder, batchSize: c.batchSize, seed: c.seed, softLabels: c.softLabels,
                                       hypergradientPerDomain: c.hypergradientPerDomain)
        // A record longer than the model's context is an error, not silent extrapolation.
        let context = loaded.model.config.maxPositions
        if let i = lower.sequences.firstIndex(where: { $0.count > context }) {
            throw DataError(file: c.trainFile, record: i, field: "add", message: "is \(lower.sequences[i].count) tokens with its question; \(c.rewardModel) reads at most \(context)")
        }
        if let i = chains.firstIndex(where: { $0.0.contains { $0.count > context } }) {
            throw DataError(file: c.metaFile, message: "meta chain \(i) (of those with steps) is longer than the \(context) tokens \(c.rewardModel) reads")
        }
        if !resume { try prm.centerFeatures(on: lower.centeringSample()) }
        let upper = V1MetaProblem(prm: prm, chains: chains, batchSize: c.metaBatchSize, seed: c.seed &+ 1, mode: c.scoring, aggregation: c.aggregation)
        let weights = try DomainTable(domains: lower.domains)
        try weights.to(device)
        let lowerOptimizer = try AdamW(lower.parameters, learningRate: c.learningRate, eps: c.epsilon, weightDecay: c.weightDecay)
        lowerOptimizer.learningRateScales = prm.learningRateScales(for: lower.parameters, backboneRate: c.learningRate,
                                                                   headRate: c.headLearningRate)
        let upperOptimizer = try AdamW(weights.trainableParameters(), learningRate: c.metaLearningRate, eps: c.metaEpsilon,
                                       weightDecay: c.metaWeightDecay)
        let engine = try BilevelEngine(
            lower: lower, upper: upper, weights: weights, lowerOptimizer: lowerOptimizer, upperOptimizer: upperOptimizer,
            lowerSchedule: .step(stepSize: c.schedulerStepSize, gamma: c.schedulerGamma),
            configuration: EngineConfiguration(unrollSteps: c.unrollSteps, hypergradient: try c.hypergradientMethod(),
                                               rollback: c.rollback, baseline: c.baseline, gradientAccumulation: c.gradientAccumulation,
                                               lowerClipNorm: c.lowerClipNorm, upperClipNorm: c.upperClipNorm))
        let state = TrainingState(prm: prm, weights: weights)
        let optimizers: [String: Optimizer] = ["prm": lowerOptimizer, "weights": upperOptimizer]
        let checkpointURL = out.appendingPathComponent("checkpoint")
        let metricsURL = out.appendingPathComponent("metrics.jsonl")
        if resume {
            let meta: CheckpointMetadata
            do { meta = try Checkpoint.load(from: checkpointURL, module: state, optimizers: optimizers, metadata: CheckpointMetadata.self).metadata } catch {
                throw DataError(file: checkpointURL.path, message: "cannot resume from it: \(error)")
            }
            try engine.restore(meta.engine)
            lower.order.restore(epoch: meta.lowerPosition[0], index: meta.lowerPosition[1])
            upper.order.restore(epoch: meta.metaPosition[0], index: meta.metaPosition[1])
            for (d, position) in (meta.hypergradientPositions ?? []).enumerated() where d < lower.domainOrders.count {
                lower.domainOrders[d].restore(epoch: position[0], index: position[1])
            }
            try MetricsLog.truncate(metricsURL, after: engine.iteration)
            log("resumed from iteration \(engine.iteration)")
        }
        try directory.clearEarlierRun(log: log)
        // The settings under the flags' names: `train --config RUN/config.json` repeats the run.
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: c.flagValues, options: [.prettyPrinted, .sortedKeys]),
                             to: out.appendingPathComponent("config.json"))
        let metrics = try MetricsLog(metricsURL)
        // Checkpoints fall at the end of unroll windows, so a resumed run starts a fresh window
        // and loses no rollback snapshot or reverse-mode history.
        let saveInterval = c.baseline ? c.saveEveryIterations : (c.saveEveryIterations + c.unrollSteps - 1) / c.unrollSteps * c.unrollSteps
        if saveInterval != c.saveEveryIterations {
            log("checkpoints every \(saveInterval) iterations: --save_every_iterations rounded up to whole windows of --unroll_steps \(c.unrollSteps)")
        }
        let progress = Progress(total: c.iterations, start: engine.iteration, log: self.progress)
        var health = TrainingHealth()

        func save() throws {
            let meta = CheckpointMetadata(configuration: c, engine: engine.state, lowerPosition: [lower.order.epoch, lower.order.index],
                                          metaPosition: [upper.order.epoch, upper.order.index],
                                          hypergradientPositions: lower.domainOrders.map { [$0.epoch, $0.index] }, domainWeights: try weights.snapshot())
            try Checkpoint.save(to: checkpointURL, step: engine.iteration, module: state, optimizers: optimizers, metadata: meta) { dir in
                try JSONFile.write(try weights.snapshot(), to: dir.appendingPathComponent("domain_weights.json"))
            }
        }

        let tensorBoard = c.reportTo.contains("tensorboard") ? try TensorBoardWriter(directory: out) : nil
        while engine.iteration < c.iterations {
            let began = Date()
            let r = try engine.step()
            let (logits, lowerTokens) = lower.takeStatistics()
            let seconds = Date().timeIntervalSince(began)
            let tokens = lowerTokens + (r.metaLoss == nil ? 0 : upper.lastTokens.processed)
            var line = MetricsLine(iteration: r.iteration, lowerLoss: r.lowerLoss, lr: r.lowerLearningRate,
                                   saturatedFraction: logits.saturatedFraction, meanAbsLogit: logits.meanAbs,
                                   time: Date().timeIntervalSince1970, tokensPerSecond: Double(tokens) / max(seconds, 1e-9))
            if let m = r.metaLoss {
                line.metaLoss = m
                line.metaAccuracy = upper.lastAccuracy
                line.metaSaturatedFraction = upper.lastStatistics.saturatedFraction
                line.hypergradientNorm = r.hypergradientNorm ?? 0
                line.domainWeights = try weights.snapshot()
                line.metaTokens = upper.lastTokens.processed
                line.metaTokensPerPrefix = upper.lastTokens.perPrefix
                line.upperPhaseSeconds = r.upperPhaseSeconds
            }
            try metrics.append(line)
            try tensorBoard?.add(step: r.iteration, scalars: line.scalars)
            progress.update(r.iteration, lowerLoss: r.lowerLoss, metaLoss: r.metaLoss, metaAccuracy: r.metaLoss.map { _ in upper.lastAccuracy },
                            logits: logits, weights: c.baseline ? nil : try weights.snapshot())
            for warning in health.record(lower: logits, hypergradientNorm: r.hypergradientNorm) { log(warning) }
            if r.iteration % saveInterval == 0 || r.iteration == c.iterations { try save() }
        }
        try SafeTensors.write(prm.stateDict(), metadata: ["format": "dreamprm-v1-prm", "reward_model": c.rewardModel, "head_input": c.headInput.rawValue,
                                                           "head_init": c.headInit.rawValue], to: out.appendingPathComponent("prm.safetensors"))
        try JSONFile.write(try weights.snapshot(), to: out.appendingPathComponent("domain_weights.json"))
        var finalReport = report
        finalReport.domains = lower.domains
        try JSONFile.write(RunReport(data: finalReport, iterations: engine.iteration, domainWeights: try weights.snapshot(),
                                     trainTokens: lower.tokenCount, seconds: progress.elapsed), to: out.appendingPathComponent("run_report.json"))
        withExtendedLifetime(directory) {}
        return finalReport
    }
}

struct RunReport: Codable {
    /// Which published reference each optimiser default follows (they differ; METHOD.md §8).
    var defaultsFollow = [
        "lower_optimizer": "AdamW eps 1e-6, weight decay 0: the first published v1 main.py (transformers.AdamW); the other version uses torch.optim.AdamW, eps 1e-8, weight decay 0.01",
        "upper_optimizer": "AdamW lr 0.01, eps 1e-8 (torch.optim default), weight decay 1e-3",
        "weight_decay": "--weight_decay feeds the lower optimiser here and --meta_weight_decay the upper; the reference feeds --weight_decay to the upper optimiser and ignores --meta_weight_decay",
    ]
    var data: V1DataReport
    var iterations: Int
    var domainWeights: [String: Double]
    var trainTokens: Int
    var seconds: Double
}

/// The PRM and the data weights as one module, so a checkpoint holds both (`prm.*`, `weights.*`).
final class TrainingState: Module {
    let prm: Module
    let weights: Module

    init(prm: Module, weights: Module) {
        self.prm = prm
        self.weights = weights
        super.init()
    }
}

enum JSONFile {
    static func write<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(value), to: url)
    }
}
