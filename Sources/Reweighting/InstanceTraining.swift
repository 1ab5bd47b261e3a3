import Foundation
import Models
import NN
import PRM
import Tokenizers
import Torch

/// What an instance-reweighting run reports about its data.
public struct InstanceDataReport: Codable, Equatable {
    public var trainRecords = 0
    public var labelledSteps = 0
    public var metaRecords = 0
    public var recordsWithImages = 0
}

/// A DreamPRM-1.5 run: the generative PRM on conversations with an instance table or an
/// instance net as the data weights, on the training loop every method shares.
public final class InstanceTraining {
    public let configuration: V1TrainingConfiguration
    public let log: (String) -> Void
    public let progress: (String) -> Void

    public init(_ configuration: V1TrainingConfiguration, log: @escaping (String) -> Void, progress: ((String) -> Void)? = nil) {
        self.configuration = configuration
        self.log = log
        self.progress = progress ?? log
    }

    /// Reads and checks both files: training conversations need a unique `id` and at least one
    /// `+`/`-` judgement; meta conversations a `true_false` and at least one judged step.
    public func readData() throws -> (train: [ConversationRecord], meta: [ConversationRecord], report: InstanceDataReport) {
        let c = configuration
        let train = try RecordReader.read(URL(fileURLWithPath: c.trainFile), ConversationRecord.init)
        guard !train.isEmpty else { throw DataError(file: c.trainFile, message: "no training conversations") }
        var seen: [String: Int] = [:]
        var report = InstanceDataReport()
        for (i, r) in train.enumerated() {
            guard let id = r.id else { throw DataError(file: c.trainFile, record: i, field: "id", message: "is required: instance weights are keyed by it") }
            if let first = seen.updateValue(i, forKey: id) {
                throw DataError(file: c.trainFile, record: i, field: "id", message: "'\(id)' is also record \(first)'s")
            }
            let labelled = r.turns.filter { $0.from == .gpt }.count
            guard labelled > 0 else {
                throw DataError(file: c.trainFile, record: i, field: "conversations", message: "has no \"+\" or \"-\" judgement to learn from")
            }
            report.labelledSteps += labelled
        }
        let meta = try RecordReader.read(URL(fileURLWithPath: c.metaFile), ConversationRecord.init)
        guard !meta.isEmpty else { throw DataError(file: c.metaFile, message: "no meta conversations") }
        for (i, r) in meta.enumerated() {
            guard r.trueFalse != nil else { throw DataError(file: c.metaFile, record: i, field: "true_false", message: "is required in a meta conversation") }
            guard !r.labelledSteps.isEmpty else {
                throw DataError(file: c.metaFile, record: i, field: "conversations", message: "has no step (no human turn after the question) to score")
            }
        }
        report.trainRecords = train.count
        report.metaRecords = meta.count
        report.recordsWithImages = (train + meta).filter { $0.image != nil }.count
        return (train, meta, report)
    }

    public func run(resume: Bool, overwrite: Bool = false) throws -> InstanceDataReport {
        let c = configuration
        try c.validate()
        let (train, meta, report) = try readData()
        let (loaded, template, vision) = try c.loadRewardModel()
        (vision as? InternVLBackbone)?.processor.maxTiles = c.maxPatchNum
        let images = vision.map { PromptImages(backbone: $0, longestSide: nil) }
        let device = try Check.device(c.device)
        let encoder: ConversationEncoder
        do { encoder = try ConversationEncoder(tokenizer: loaded.tokenizer, template: template, images: images) } catch {
            throw SettingError("reward_model", "\(c.rewardModel) cannot be a generative PRM: \(error)")
        }
        // Every conversation (and image) is read before the run directory is touched: a bad one stops the run with nothing written.
        func encode(_ records: [ConversationRecord], _ file: String, as chain: (ConversationRecord) -> GenerativeChain) throws -> [EncodedConversation] {
            let context = loaded.model.config.maxPositions
            return try records.enumerated().map { i, r in
                let e: EncodedConversation
                do {
                    e = try PromptImages.reading(file: file, record: i, field: "image") {
                        try encoder.encode(chain(r), image: r.image.map { PromptImages.location(of: $0, inDataFile: file) })
                    }
                } catch let error as DataError { throw error } catch {
                    throw DataError(file: file, record: i, field: "conversations", message: "\(error)")
                }
                guard e.tokens.count <= context else {
                    throw DataError(file: file, record: i, field: "conversations", message: "is \(e.tokens.count) tokens; \(c.rewardModel) reads at most \(context)")
                }
                return e
            }
        }
        let trainConversations = try encode(train, c.trainFile) { GenerativeChain($0) }
        // A meta chain reads as evaluation reads it, every step `+`: its own labels must not be
        // in the context of the steps the meta loss judges.
        let metaConversations = try encode(meta, c.metaFile) { GenerativeChain($0).judgedAllRight }
        if report.recordsWithImages > 0 {
            log(images == nil ? "notice: \(report.recordsWithImages) records name an image; \(c.rewardModel) is a text-only backbone, so images are ignored"
                : "\(report.recordsWithImages) records with images, up to \(c.maxPatchNum) tiles each; the vision tower is frozen")
        }
        let directory = try RunDirectory(URL(fileURLWithPath: c.outputDirectory), mode: resume ? .resume : overwrite ? .overwrite : .fresh, log: log)
        let prm = GenerativePRM(backbone: loaded.model, encoder: encoder)
        prm.images = images
        if let run = c.initFrom { try Self.initialise(prm, from: run, rewardModel: c.rewardModel, device: device) }
        // Conversations recur (darts reads each lower batch three times): with --train_layers
        // their frozen trunk states are kept, within 1 GiB.
        prm.trunkCache = FrozenTrunkCache(byteBudget: 1 << 30)
        let lower = try GenerativeTrainingProblem(prm: prm, conversations: trainConversations, batchSize: c.batchSize, seed: c.seed)
        let upper = GenerativeMetaProblem(prm: prm, chains: zip(metaConversations, meta).map { ($0, $1.trueFalse!) }, batchSize: c.metaBatchSize,
                                          seed: c.seed &+ 1, target: c.lossTarget, aggregation: c.aggregation)
        let weights: DataWeights = c.reweighting == .instanceNet
            ? try InstanceNet(hidden: c.instanceNetHidden, hiddenLayers: c.instanceNetLayers, activation: c.activation, detachInput: c.instanceNetDetach)
            : try InstanceTable(count: train.count, initialization: c.initialization, activation: c.activation)
        try weights.to(device)
        let lowerOptimizer = try AdamW(lower.parameters, learningRate: c.learningRate, eps: c.epsilon, weightDecay: c.weightDecay)
        let (engine, upperOptimizer) = try c.engine(lower: lower, upper: upper, weights: weights, lowerOptimizer: lowerOptimizer)
        // Scoring later writes candidates under the system prompt the PRM learned with.
        let prompts = Dictionary(grouping: train.compactMap(\.systemPrompt), by: { $0 })
        let systemPrompt = prompts.max { $0.value.count < $1.value.count }?.key
        let method = InstanceMethod(engine: engine, prm: prm, weights: weights, lower: lower, upper: upper, ids: train.map { $0.id! },
                                    systemPrompt: systemPrompt,
                                    optimizers: ["prm": lowerOptimizer, "weights": upperOptimizer], configuration: c)
        let seconds = try TrainingLoop(configuration: c, directory: directory, log: log, progress: progress).run(method, resume: resume)
        try JSONFile.write(InstanceRunReport(data: report, iterations: engine.iteration, seconds: seconds),
                           to: directory.url.appendingPathComponent("run_report.json"))
        return report
    }

    /// Loads a finished generative run's PRM (the 1.5 cold start); its backbone must be this run's.
    static func initialise(_ prm: GenerativePRM, from run: String, rewardModel: String, device: Device) throws {
        let file = URL(fileURLWithPath: run).appendingPathComponent("prm.safetensors")
        let weights: SafeTensorsCheckpoint
        do { weights = try SafeTensorsCheckpoint(file) } catch { throw SettingError("init_from", "cannot read \(file.path): \(error)") }
        let metadata = weights.files.first?.metadata ?? [:]
        guard metadata["format"] == GenerativePRM.fileFormat else {
            throw SettingError("init_from", "'\(run)' holds a \(metadata["format"] ?? "unknown") PRM, not a generative (\(GenerativePRM.fileFormat)) one")
        }
        guard metadata["reward_model"] == rewardModel else {
            throw SettingError("init_from", "'\(run)' was trained on \(metadata["reward_model"] ?? "an unnamed backbone"), not \(rewardModel)")
        }
        _ = try prm.load(from: weights, strict: true)
        try prm.to(device)
    }
}

/// DreamPRM-1.5: the generative PRM with an instance table or an instance net.
struct InstanceMethod: TrainingMethod {
    let engine: BilevelEngine<GenerativeTrainingProblem, GenerativeMetaProblem>
    let prm: GenerativePRM
    let weights: DataWeights
    let lower: GenerativeTrainingProblem
    let upper: GenerativeMetaProblem
    /// Training instances' ids, in key order.
    let ids: [String]
    /// The training conversations' (most common) system prompt, saved for scoring.
    let systemPrompt: String?
    let optimizers: [String: Optimizer]
    let configuration: V1TrainingConfiguration

    var state: Module { TrainingState(prm: prm, weights: weights, instanceLosses: lower.lossLog) }

    var dataPositions: [String: [Int]] {
        ["lower": [lower.order.epoch, lower.order.index], "meta": [upper.order.epoch, upper.order.index]]
    }

    func restore(dataPositions p: [String: [Int]]) throws {
        guard let l = p["lower"], let m = p["meta"], l.count == 2, m.count == 2 else { throw EngineError("the checkpoint lacks its data positions") }
        lower.order.restore(epoch: l[0], index: l[1])
        upper.order.restore(epoch: m[0], index: m[1])
    }

    func takeStatistics() -> (logits: LogitStatistics, tokens: Int) { lower.takeStatistics() }

    func describeUpperStep(_ line: inout MetricsLine, _ report: IterationReport) throws {
        line.metaAccuracy = upper.lastAccuracy
        line.metaTokens = upper.lastTokens
        line.weightQuantiles = try weightSummary()
    }

    /// Quantiles of the table's weights, or of the net's weights on the last lower batch.
    func weightSummary() throws -> [String: Double] {
        let values: [Double]
        if let table = weights as? InstanceTable {
            values = try table.all().doubles()
        } else if let batch = lower.lastWeightInput {
            values = try Autograd.noGrad { try weights.weights(for: batch).doubles() }
        } else {
            return [:]
        }
        return Quantiles.summary(values)
    }

    /// `{id: weight}` for every training instance (the net's from one pass over the data).
    func instanceWeights() throws -> [String: Double] {
        let values: [Double]
        if let table = weights as? InstanceTable {
            values = try table.all().doubles()
        } else {
            values = try Autograd.noGrad {
                try stride(from: 0, to: ids.count, by: 8).flatMap { start in
                    try weights.weights(for: lower.losses(Array(start..<min(start + 8, ids.count)))).doubles()
                }
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(ids, values))
    }

    /// `instance_weights.json` and `instance_losses.json` (each instance's mean training loss so far).
    func writeWeights(into directory: URL) throws {
        try JSONFile.write(try instanceWeights(), to: directory.appendingPathComponent("instance_weights.json"))
        let losses = try lower.lossLog.means()
        try JSONFile.write(Dictionary(uniqueKeysWithValues: zip(ids, losses).compactMap { id, l in l.map { (id, $0) } }),
                           to: directory.appendingPathComponent("instance_losses.json"))
    }

    func writeModel(into directory: URL) throws {
        try SafeTensors.write(prm.stateDict(), metadata: ["format": GenerativePRM.fileFormat, "reward_model": configuration.rewardModel,
                                                           "plus_token": "\(prm.plus)", "minus_token": "\(prm.minus)",
                                                           "system_prompt": systemPrompt ?? "", "max_patch_num": "\(configuration.maxPatchNum)"],
                              to: directory.appendingPathComponent("prm.safetensors"))
    }
}

/// `run_report.json` of an instance-weights run.
struct InstanceRunReport: Codable {
    /// Which published reference the defaults follow.
    var defaultsFollow = [
        "optimizers": "DreamPRM-1.5's published settings: lower AdamW lr 5e-5 (weight decay 0.01 with the table, 0.05 with the net), upper AdamW lr 5e-3 (table) or 1e-4 (net; the paper says 5e-4), weight decay 1e-3, eps 1e-8",
        "schedule": "cosine with 5 % warm-up at both levels, gradient clipping 1.0 at both, one lower step per upper step",
        "meta_loss": "loss_target both with mean P(label token) over the steps; meta chains are read with every step judged +, as evaluation reads them",
        "iterations": "100,000 after a 20,000-step cold start (--retrain, then --init_from)",
    ]
    var data: InstanceDataReport
    var iterations: Int
    var seconds: Double
}

/// Minimum, quartiles and maximum, for logs.
enum Quantiles {
    static func summary(_ values: [Double]) -> [String: Double] {
        guard !values.isEmpty else { return [:] }
        let sorted = values.sorted()
        func q(_ p: Double) -> Double { sorted[Int((p * Double(sorted.count - 1)).rounded())] }
        return ["min": sorted[0], "q25": q(0.25), "median": q(0.5), "q75": q(0.75), "max": sorted[sorted.count - 1]]
    }
}
