import Foundation
import Models
import NN
import PRM
import Tokenizers
import Torch

/// Which data weights a run learns.
public enum Reweighting: String, Codable, CaseIterable, Sendable {
    /// DreamPRM: one weight per domain (`dataset`).
    case domain
    /// DreamPRM-1.5: one weight per training instance (its `id`), or a net over its step scores.
    case instanceTable = "instance-table", instanceNet = "instance-net"
}

/// The PRM's form: a scalar head on step prefixes (v1) or `+`/`-` judgements in a conversation (1.5).
public enum PRMStyle: String, Codable, CaseIterable, Sendable { case scalar, generative }

/// The learning-rate schedule at both levels.
public enum SchedulerType: String, Codable, CaseIterable, Sendable {
    /// StepLR: the lower level by `scheduler_step_size`/`scheduler_gamma`, the upper by the `meta_` pair.
    case step
    /// Linear warm-up over `warmup_ratio` of the iterations, then a cosine to 0 (1.5's default).
    case cosine = "cosine_schedule_with_warmup"
    case constant
}

/// Everything a training run needs. The defaults are METHOD.md §5's v1 column;
/// `defaults(for:)` gives each method's.
public struct V1TrainingConfiguration: Codable, Equatable {
    public var reweighting = Reweighting.domain
    /// nil: scalar for domain weights, generative for instance weights.
    public var prmStyle: PRMStyle?
    /// Instance weights: the table's (and the net's output) activation, the table's start.
    public var activation = InstanceTable.Activation.leakyRelu
    public var initialization = 1.0
    /// Instance net: hidden width and layers; its input detached (default) or, as the
    /// reference, passing the PRM gradient through its own weight.
    public var instanceNetHidden = 10
    public var instanceNetLayers = 1
    public var instanceNetDetach = true
    /// 1.5 meta loss: judge every chain by P(+) (`+`) or by its label's token (`both`).
    public var lossTarget = PRMLoss.GenerativeTarget.both
    public var schedulerType = SchedulerType.step
    public var warmupRatio = 0.05
    public var metaSchedulerStepSize = 1000
    public var metaSchedulerGamma = 1.0
    /// A finished run whose PRM this run starts from (1.5's cold start).
    public var initFrom: String?
    /// InternVL tiles per image (kept for the vision backbones; text backbones ignore images).
    public var maxPatchNum = 6

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
    /// `label`: draw that batch and the meta batch half from right and half from wrong labels,
    /// each weighted by its stratum's share (unbiased, less noisy); `none`: as the reference.
    public var batchStrata = BatchStrata.none
    /// What the upper level minimises over a meta batch: the reference's squared error, log
    /// loss, or a ranking loss over its right/wrong pairs.
    public var metaObjective = MetaObjective.squared
    /// Domain weights: every this many upper steps, each domain's gradient alignment with the
    /// meta gradient by parameter group goes to metrics.jsonl (0: never).
    public var alignmentEvery = 5
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

    /// The defaults of a method: v1's for domain weights; METHOD.md §5's 1.5 Table and Net
    /// columns for instance weights (the paper's 100,000 iterations after a cold start).
    public static func defaults(for reweighting: Reweighting) -> Self {
        var c = Self()
        c.reweighting = reweighting
        guard reweighting != .domain else { return c }
        c.iterations = 100_000
        c.learningRate = 5e-5
        c.epsilon = 1e-8
        c.weightDecay = reweighting == .instanceTable ? 0.01 : 0.05
        c.metaLearningRate = reweighting == .instanceTable ? 5e-3 : 1e-4
        c.metaWeightDecay = 1e-3
        c.schedulerType = .cosine
        c.unrollSteps = 1
        c.lowerClipNorm = 1
        c.upperClipNorm = 1
        c.aggregation = .mean
        c.activation = reweighting == .instanceTable ? .leakyRelu : .sigmoid
        return c
    }

    public var resolvedPRMStyle: PRMStyle { prmStyle ?? (reweighting == .domain ? .scalar : .generative) }

    /// The schedules of the lower and upper optimisers.
    public var schedules: (lower: LearningRateSchedule, upper: LearningRateSchedule) {
        switch schedulerType {
        case .constant: return (.constant, .constant)
        case .step: return (.step(stepSize: schedulerStepSize, gamma: schedulerGamma), .step(stepSize: metaSchedulerStepSize, gamma: metaSchedulerGamma))
        case .cosine:
            let upperSteps = iterations / max(1, unrollSteps)
            return (.cosineWithWarmup(warmupSteps: Int((warmupRatio * Double(iterations)).rounded()), totalSteps: iterations),
                    .cosineWithWarmup(warmupSteps: Int((warmupRatio * Double(upperSteps)).rounded()), totalSteps: upperSteps))
        }
    }
}

extension V1TrainingConfiguration {
    /// Keys that are absent keep their defaults, so a partial settings file or a checkpoint
    /// written before a setting existed still reads.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        reweighting = try c.decodeIfPresent(Reweighting.self, forKey: .reweighting) ?? reweighting
        prmStyle = try c.decodeIfPresent(PRMStyle.self, forKey: .prmStyle) ?? prmStyle
        activation = try c.decodeIfPresent(InstanceTable.Activation.self, forKey: .activation) ?? activation
        initialization = try c.decodeIfPresent(Double.self, forKey: .initialization) ?? initialization
        instanceNetHidden = try c.decodeIfPresent(Int.self, forKey: .instanceNetHidden) ?? instanceNetHidden
        instanceNetLayers = try c.decodeIfPresent(Int.self, forKey: .instanceNetLayers) ?? instanceNetLayers
        instanceNetDetach = try c.decodeIfPresent(Bool.self, forKey: .instanceNetDetach) ?? instanceNetDetach
        lossTarget = try c.decodeIfPresent(PRMLoss.GenerativeTarget.self, forKey: .lossTarget) ?? lossTarget
        schedulerType = try c.decodeIfPresent(SchedulerType.self, forKey: .schedulerType) ?? schedulerType
        warmupRatio = try c.decodeIfPresent(Double.self, forKey: .warmupRatio) ?? warmupRatio
        metaSchedulerStepSize = try c.decodeIfPresent(Int.self, forKey: .metaSchedulerStepSize) ?? metaSchedulerStepSize
        metaSchedulerGamma = try c.decodeIfPresent(Double.self, forKey: .metaSchedulerGamma) ?? metaSchedulerGamma
        initFrom = try c.decodeIfPresent(String.self, forKey: .initFrom) ?? initFrom
        maxPatchNum = try c.decodeIfPresent(Int.self, forKey: .maxPatchNum) ?? maxPatchNum
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
        batchStrata = try c.decodeIfPresent(BatchStrata.self, forKey: .batchStrata) ?? batchStrata
        metaObjective = try c.decodeIfPresent(MetaObjective.self, forKey: .metaObjective) ?? metaObjective
        alignmentEvery = try c.decodeIfPresent(Int.self, forKey: .alignmentEvery) ?? alignmentEvery
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

/// A meta record's chain, split into steps, with its label and image.
public struct V1MetaChain {
    public let chain: SplitChain
    public let label: Bool
    public let image: String?
    /// The record's index in the meta file.
    public let record: Int
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

    /// Reads and checks both files (meta chains split into steps); malformed input throws
    /// `DataError` before the model loads or anything is written.
    public func readData() throws -> (train: [V1TrainRecord], meta: [V1MetaChain], report: V1DataReport) {
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
        var chains: [V1MetaChain] = []
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
            chains.append(V1MetaChain(chain: chain, label: record.trueFalse, image: record.imagePath, record: index))
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
        let (loaded, template, vision) = try c.loadRewardModel()
        let images = vision.map { PromptImages(backbone: $0, longestSide: PromptImages.v1LongestSide) }
        let encoder = PromptEncoder(tokenizer: loaded.tokenizer, template: template, images: images)
        // Every prompt (and image) is read before the run directory is touched: a bad one stops the run with nothing written.
        let sequences = try train.enumerated().map { i, r in
            try encoder.encode(r.prompt, image: r.imagePath, file: c.trainFile, record: i, field: "image_path")
        }
        let chains = try metaChains.map { m in
            (try (0..<m.chain.count).map { try encoder.encode(m.chain.prefix(through: $0), image: m.image, file: c.metaFile, record: m.record, field: "image_path") },
             m.label)
        }
        if report.recordsWithImages > 0 {
            log(images == nil ? "notice: \(report.recordsWithImages) records name an image; \(c.rewardModel) is a text-only backbone, so images are ignored"
                : "\(report.recordsWithImages) records with images, longest side ≤ \(PromptImages.v1LongestSide) px; the vision tower is frozen")
        }
        let directory = try RunDirectory(out, mode: resume ? .resume : overwrite ? .overwrite : .fresh, log: log)
        if let skipped = report.metaSkipped.first {
            log("meta: \(report.metaChainsUsed) of \(report.metaRecords) records used; skipped \(skipped.value): \(skipped.key)")
        }
        let prm = try ScalarHeadPRM(backbone: loaded.model, input: c.headInput, initialization: c.headInit)
        prm.images = images
        // With --train_layers, darts reads each lower batch three times and meta chains recur:
        // the frozen layers' states are kept, within 1 GiB.
        prm.trunkCache = FrozenTrunkCache(byteBudget: 1 << 30)
        try prm.head.to(device, dtype: .float32)
        let lower = V1TrainingProblem(prm: prm, records: train, sequences: sequences, batchSize: c.batchSize, seed: c.seed, softLabels: c.softLabels,
                                       hypergradientPerDomain: c.hypergradientPerDomain, stratifyByLabel: c.batchStrata == .label)
        // A record longer than the model's context is an error, not silent extrapolation.
        let context = loaded.model.config.maxPositions
        if let i = lower.sequences.firstIndex(where: { $0.count > context }) {
            throw DataError(file: c.trainFile, record: i, field: "add", message: "is \(lower.sequences[i].count) tokens with its question; \(c.rewardModel) reads at most \(context)")
        }
        if let i = chains.firstIndex(where: { $0.0.contains { $0.count > context } }) {
            throw DataError(file: c.metaFile, message: "meta chain \(i) (of those with steps) is longer than the \(context) tokens \(c.rewardModel) reads")
        }
        if !resume { try prm.centerFeatures(on: lower.centeringSample()) }
        let upper = V1MetaProblem(prm: prm, chains: chains, batchSize: c.metaBatchSize, seed: c.seed &+ 1, mode: c.scoring, aggregation: c.aggregation,
                                  objective: c.metaObjective, stratifyByLabel: c.batchStrata == .label)
        let weights = try DomainTable(domains: lower.domains)
        try weights.to(device)
        let lowerOptimizer = try AdamW(lower.parameters, learningRate: c.learningRate, eps: c.epsilon, weightDecay: c.weightDecay)
        lowerOptimizer.learningRateScales = prm.learningRateScales(for: lower.parameters, backboneRate: c.learningRate,
                                                                   headRate: c.headLearningRate)
        let (engine, upperOptimizer) = try c.engine(lower: lower, upper: upper, weights: weights, lowerOptimizer: lowerOptimizer)
        let method = V1Method(engine: engine, prm: prm, weights: weights, lower: lower, upper: upper,
                              optimizers: ["prm": lowerOptimizer, "weights": upperOptimizer], configuration: c)
        let loop = TrainingLoop(configuration: c, directory: directory, log: log, progress: progress)
        let seconds = try loop.run(method, resume: resume)
        var finalReport = report
        finalReport.domains = lower.domains
        var runReport = RunReport(data: finalReport, iterations: engine.iteration, domainWeights: try weights.snapshot(),
                                  trainTokens: lower.tokenCount, seconds: seconds)
        runReport.hypergradient = c.hypergradient
        runReport.upperLevel = c.upperLevelChoices
        if !c.baseline {
            // From metrics.jsonl, so a resumed run judges its whole history.
            let metrics = try MetricsLog.read(directory.url.appendingPathComponent("metrics.jsonl"))
            let verdict = WeightVerdict(metrics: metrics, finalWeights: runReport.domainWeights)
            log(verdict.summary)
            runReport.weightsVerdict = verdict
        }
        try JSONFile.write(runReport, to: directory.url.appendingPathComponent("run_report.json"))
        return finalReport
    }
}

/// DreamPRM (v1): the scalar-head PRM on step prefixes with a domain table.
struct V1Method: TrainingMethod {
    let engine: BilevelEngine<V1TrainingProblem, V1MetaProblem>
    let prm: ScalarHeadPRM
    let weights: DomainTable
    let lower: V1TrainingProblem
    let upper: V1MetaProblem
    let optimizers: [String: Optimizer]
    let configuration: V1TrainingConfiguration

    var state: Module { TrainingState(prm: prm, weights: weights) }

    var dataPositions: [String: [Int]] {
        var p = ["lower": [lower.order.epoch, lower.order.index], "meta": [upper.order.epoch, upper.order.index]]
        // One position per stratum of every domain (a domain is one stratum unless stratified).
        for (i, order) in lower.domainSamplers.flatMap(\.orders).enumerated() {
            p["hypergradient.\(i)"] = [order.epoch, order.index]
        }
        for (s, order) in (upper.sampler?.orders ?? []).enumerated() { p["meta.\(s)"] = [order.epoch, order.index] }
        return p
    }

    func restore(dataPositions p: [String: [Int]]) throws {
        func restore(_ order: inout ShuffledOrder, _ name: String) {
            if let position = p[name], position.count == 2 { order.restore(epoch: position[0], index: position[1]) }
        }
        restore(&lower.order, "lower")
        restore(&upper.order, "meta")
        var i = 0
        for d in lower.domainSamplers.indices {
            for s in lower.domainSamplers[d].orders.indices {
                restore(&lower.domainSamplers[d].orders[s], "hypergradient.\(i)")
                i += 1
            }
        }
        for s in upper.sampler?.orders.indices ?? 0..<0 { restore(&upper.sampler!.orders[s], "meta.\(s)") }
    }

    func takeStatistics() -> (logits: LogitStatistics, tokens: Int) { lower.takeStatistics() }

    func describeUpperStep(_ line: inout MetricsLine, _ report: IterationReport) throws {
        line.metaAccuracy = upper.lastAccuracy
        line.metaLossHedged = upper.lastHedgedLoss
        if let g = report.hypergradient, g.count == lower.domains.count {
            line.hypergradientByDomain = Dictionary(uniqueKeysWithValues: zip(lower.domains, g))
        }
        if let alignment = report.alignment {
            var flat: [String: Double] = [:]
            for (key, groups) in alignment where key < lower.domains.count {
                for (group, a) in groups {
                    flat["\(lower.domains[key])/\(group)/dot"] = a.dot
                    flat["\(lower.domains[key])/\(group)/cosine"] = a.cosine
                }
            }
            line.alignment = flat
        }
        line.metaSaturatedFraction = upper.lastStatistics.saturatedFraction
        line.domainWeights = try weights.snapshot()
        line.metaTokens = upper.lastTokens.processed
        line.metaTokensPerPrefix = upper.lastTokens.perPrefix
    }

    func weightSummary() throws -> [String: Double] { try weights.snapshot() }

    func writeWeights(into directory: URL) throws {
        try JSONFile.write(try weights.snapshot(), to: directory.appendingPathComponent("domain_weights.json"))
    }

    func writeModel(into directory: URL) throws {
        let c = configuration
        try SafeTensors.write(prm.stateDict(), metadata: ["format": "dreamprm-v1-prm", "reward_model": c.rewardModel, "head_input": c.headInput.rawValue,
                                                           "head_init": c.headInit.rawValue], to: directory.appendingPathComponent("prm.safetensors"))
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
    var hypergradient: String?
    /// What the upper step differentiated and judged on (`V1TrainingConfiguration.upperLevelChoices`).
    var upperLevel: [String: String]?
    var weightsVerdict: WeightVerdict?
}
