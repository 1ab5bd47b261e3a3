import Foundation
import NN
import PRM
import Torch

/// What one reweighting method brings to a training run: its engine (PRM, data weights and
/// problems), the pieces a checkpoint holds, and its own metrics and output files. The loop
/// that drives it (`TrainingLoop`) is the same for every method.
protocol TrainingMethod {
    associatedtype Lower: LowerProblem
    associatedtype Upper: UpperProblem
    var engine: BilevelEngine<Lower, Upper> { get }
    /// The PRM and the data weights as one module, with the optimisers of both levels.
    var state: Module { get }
    var optimizers: [String: Optimizer] { get }
    /// Positions of every data order, by name, for exact resumption.
    var dataPositions: [String: [Int]] { get }
    func restore(dataPositions: [String: [Int]]) throws
    /// Step-score statistics and tokens of the lower forwards since the last call.
    func takeStatistics() -> (logits: LogitStatistics, tokens: Int)
    /// Meta accuracy, meta tokens, the weights and the diagnostics of an upper step.
    func describeUpperStep(_ line: inout MetricsLine, _ report: IterationReport) throws
    /// Named weights for the progress line (domain weights, or instance weight quantiles).
    func weightSummary() throws -> [String: Double]
    /// The learned weights (`domain_weights.json` or `instance_weights.json`) into `directory`.
    func writeWeights(into directory: URL) throws
    /// `prm.safetensors` into `directory`.
    func writeModel(into directory: URL) throws
}

/// A training run's checkpoint metadata. `lowerPosition`, `metaPosition` and
/// `hypergradientPositions` are how checkpoints before `dataPositions` named the v1 orders.
struct CheckpointMetadata: Codable {
    var configuration: V1TrainingConfiguration
    var engine: [String: Int]
    var dataPositions: [String: [Int]]?
    var lowerPosition: [Int]?
    var metaPosition: [Int]?
    var hypergradientPositions: [[Int]]?
    var weights: [String: Double]?

    /// The data positions, from either form.
    var positions: [String: [Int]] {
        if let dataPositions { return dataPositions }
        var p: [String: [Int]] = [:]
        if let lowerPosition { p["lower"] = lowerPosition }
        if let metaPosition { p["meta"] = metaPosition }
        for (d, position) in (hypergradientPositions ?? []).enumerated() { p["hypergradient.\(d)"] = position }
        return p
    }
}

/// Drives a method's engine to the configured iteration count with progress, JSON-lines
/// metrics (and TensorBoard), health warnings and atomic checkpoints at window ends; resumes
/// exactly from the last checkpoint.
struct TrainingLoop {
    let configuration: V1TrainingConfiguration
    let directory: RunDirectory
    let log: (String) -> Void
    let progress: (String) -> Void

    /// Runs to the end; returns the seconds it took.
    func run<M: TrainingMethod>(_ method: M, resume: Bool) throws -> Double {
        let c = configuration
        let out = directory.url
        let engine = method.engine
        let checkpointURL = out.appendingPathComponent("checkpoint")
        let metricsURL = out.appendingPathComponent("metrics.jsonl")
        if resume {
            let meta: CheckpointMetadata
            do {
                meta = try Checkpoint.load(from: checkpointURL, module: method.state, optimizers: method.optimizers,
                                           metadata: CheckpointMetadata.self).metadata
            } catch {
                throw DataError(file: checkpointURL.path, message: "cannot resume from it: \(error)")
            }
            try engine.restore(meta.engine)
            try method.restore(dataPositions: meta.positions)
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
        let bar = Progress(total: c.iterations, start: engine.iteration, log: progress)
        var health = TrainingHealth()

        func save() throws {
            let meta = CheckpointMetadata(configuration: c, engine: engine.state, dataPositions: method.dataPositions,
                                          weights: try method.weightSummary())
            try Checkpoint.save(to: checkpointURL, step: engine.iteration, module: method.state, optimizers: method.optimizers,
                                metadata: meta) { dir in try method.writeWeights(into: dir) }
        }

        let tensorBoard = c.reportTo.contains("tensorboard") ? try TensorBoardWriter(directory: out) : nil
        while engine.iteration < c.iterations {
            let began = Date()
            let r = try engine.step()
            let (logits, lowerTokens) = method.takeStatistics()
            let seconds = Date().timeIntervalSince(began)
            var line = MetricsLine(iteration: r.iteration, lowerLoss: r.lowerLoss, lr: r.lowerLearningRate,
                                   saturatedFraction: logits.saturatedFraction, meanAbsLogit: logits.meanAbs,
                                   time: Date().timeIntervalSince1970, tokensPerSecond: 0)
            if let m = r.metaLoss {
                line.metaLoss = m
                line.hypergradientNorm = r.hypergradientNorm ?? 0
                line.upperPhaseSeconds = r.upperPhaseSeconds
                try method.describeUpperStep(&line, r)
            }
            line.tokensPerSecond = Double(lowerTokens + (line.metaTokens ?? 0)) / max(seconds, 1e-9)
            try metrics.append(line)
            try tensorBoard?.add(step: r.iteration, scalars: line.scalars)
            bar.update(r.iteration, lowerLoss: r.lowerLoss, metaLoss: r.metaLoss, metaAccuracy: line.metaAccuracy,
                       logits: logits, weights: c.baseline ? nil : try method.weightSummary())
            for warning in health.record(lower: logits, hypergradientNorm: r.hypergradientNorm) { log(warning) }
            if r.iteration % saveInterval == 0 || r.iteration == c.iterations { try save() }
        }
        try method.writeModel(into: out)
        try method.writeWeights(into: out)
        return bar.elapsed
    }
}

/// The PRM, the data weights and any per-instance records as one module, so a checkpoint
/// holds them all (`prm.*`, `weights.*`, `instance_losses.*`).
final class TrainingState: Module {
    let prm: Module
    let weights: Module
    @Key("instance_losses") var instanceLosses: Module?

    init(prm: Module, weights: Module, instanceLosses: Module? = nil) {
        self.prm = prm
        self.weights = weights
        super.init()
        self.instanceLosses = instanceLosses
    }
}

enum JSONFile {
    static func write<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(value), to: url)
    }
}
