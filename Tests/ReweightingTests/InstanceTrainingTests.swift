import Evaluation
import Foundation
import Models
import PRM
@testable import Reweighting
import TestSupport
import Torch
import XCTest

/// DreamPRM-1.5 runs end to end (`--reweighting instance-table|instance-net`) on SmolLM2 with
/// one trainable layer, a few iterations each: resumption, outputs, cold start and bad input.
final class InstanceTrainingTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        guard (try? ModelRegistry.resolve("smollm2-135m-instruct")) != nil else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        Runtime.threadCount = 1
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("instance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try write(train: (0..<6).map { i in conversation(id: "c\(i)", steps: ["The cup is \(i % 2 == 0 ? "fine" : "broken")."], labels: [i % 2 == 0 ? "+" : "-"]) },
                  meta: [conversation(id: "m0", steps: ["The box is fine."], labels: ["+"], correct: true),
                         conversation(id: "m1", steps: ["The box is broken."], labels: ["-"], correct: false)])
    }

    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    private func conversation(id: String?, steps: [String], labels: [String], correct: Bool? = nil) -> [String: Any] {
        var turns: [[String: String]] = [["from": "system", "value": "Judge each step."], ["from": "human", "value": "Is all in order?"]]
        for (s, l) in zip(steps, labels) { turns += [["from": "human", "value": s], ["from": "gpt", "value": l]] }
        var record: [String: Any] = ["conversations": turns]
        if let id { record["id"] = id }
        if let correct { record["true_false"] = correct }
        return record
    }

    private func write(train: [[String: Any]], meta: [[String: Any]]) throws {
        try JSONSerialization.data(withJSONObject: train).write(to: dir.appendingPathComponent("train.json"))
        try JSONSerialization.data(withJSONObject: meta).write(to: dir.appendingPathComponent("meta.json"))
    }

    private func configuration(_ method: Reweighting, iterations: Int, output: String) -> V1TrainingConfiguration {
        var c = V1TrainingConfiguration.defaults(for: method)
        c.trainFile = dir.appendingPathComponent("train.json").path
        c.metaFile = dir.appendingPathComponent("meta.json").path
        c.outputDirectory = dir.appendingPathComponent(output).path
        c.iterations = iterations
        c.batchSize = 2
        c.metaBatchSize = 2
        c.trainLayers = 1
        c.saveEveryIterations = 2
        c.metaLearningRate = 0.05
        c.instanceNetHidden = 4
        c.seed = 3
        return c
    }

    private func instanceWeights(_ output: String) throws -> [String: Double] {
        try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: dir.appendingPathComponent("\(output)/instance_weights.json")))
    }

    /// Both methods: a run stopped after its checkpoint at iteration 2 and resumed ends with the
    /// PRM, the weights (`instance_weights.json`, every id) and the metrics of an uninterrupted run.
    /// (StepLR here: the first leg is a 2-iteration run, and a cosine schedule is shaped by the
    /// iteration count, which a resumed run keeps from its settings.)
    func testResumedRunsEqualUninterruptedOnesForTableAndNet() throws {
        for method in [Reweighting.instanceTable, .instanceNet] {
            let name = method.rawValue
            func settings(_ iterations: Int, _ output: String) -> V1TrainingConfiguration {
                var c = configuration(method, iterations: iterations, output: output)
                c.schedulerType = .step
                return c
            }
            _ = try InstanceTraining(settings(4, "\(name)-whole"), log: { _ in }).run(resume: false)
            _ = try InstanceTraining(settings(2, "\(name)-split"), log: { _ in }).run(resume: false)
            let checkpointed = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf:
                dir.appendingPathComponent("\(name)-split/checkpoint/instance_weights.json")))
            XCTAssertEqual(Set(checkpointed.keys), Set((0..<6).map { "c\($0)" }), "\(name): the checkpoint holds every instance's weight")
            var messages: [String] = []
            _ = try InstanceTraining(settings(4, "\(name)-split"), log: { messages.append($0) }).run(resume: true)
            XCTAssertTrue(messages.contains("resumed from iteration 2"), "\(messages)")
            let whole = try instanceWeights("\(name)-whole"), split = try instanceWeights("\(name)-split")
            XCTAssertEqual(split, whole, name)
            XCTAssertGreaterThan(Set(whole.values).count, 1, "\(name): the weights moved apart")
            let file = { (o: String) in try SafeTensorsFile(self.dir.appendingPathComponent("\(o)/prm.safetensors")) }
            let a = try file("\(name)-whole"), b = try file("\(name)-split")
            XCTAssertEqual(a.metadata["format"], "dreamprm-1.5-prm")
            for key in a.names where key.contains("layers.29") || key.contains("norm") {
                XCTAssertEqual(try b.tensor(key).doubles(), try a.tensor(key).doubles(), "\(name): \(key)")
            }
            let lines = try MetricsLog.read(dir.appendingPathComponent("\(name)-split/metrics.jsonl"))
            XCTAssertEqual(lines.map(\.iteration), [1, 2, 3, 4])
            XCTAssertNotNil(lines.last?.weightQuantiles?["median"], "\(name): metrics carry weight quantiles")
        }
    }

    /// The meta loss reads a chain as evaluation does, every step `+`: flipping the labels of a
    /// meta conversation's earlier steps changes neither the meta losses nor (through the
    /// hypergradient) the instance table it moves.
    func testMetaLossDoesNotReadTheMetaChainsOwnLabels() throws {
        func run(_ earlier: String, _ output: String) throws -> (weights: [String: Double], metaLosses: [Double], hypergradients: [Double]) {
            try write(train: (0..<6).map { i in conversation(id: "c\(i)", steps: ["The cup is \(i % 2 == 0 ? "fine" : "broken")."], labels: [i % 2 == 0 ? "+" : "-"]) },
                      meta: [conversation(id: "m0", steps: ["The lid is off.", "The box is fine."], labels: [earlier, "+"], correct: true),
                             conversation(id: "m1", steps: ["The lid is off.", "The box is broken."], labels: [earlier, "-"], correct: false)])
            _ = try InstanceTraining(configuration(.instanceTable, iterations: 2, output: output), log: { _ in }).run(resume: false)
            let lines = try MetricsLog.read(dir.appendingPathComponent("\(output)/metrics.jsonl"))
            return (try instanceWeights(output), lines.compactMap(\.metaLoss), lines.compactMap(\.hypergradientNorm))
        }
        let plus = try run("+", "earlier-plus"), minus = try run("-", "earlier-minus")
        XCTAssertEqual(plus.metaLosses.count, 2)
        XCTAssertEqual(minus.metaLosses, plus.metaLosses)
        XCTAssertEqual(minus.hypergradients, plus.hypergradients)
        XCTAssertEqual(minus.weights, plus.weights)
        XCTAssertGreaterThan(Set(plus.weights.values).count, 1, "the table moved")
    }

    /// `--init_from` starts from a finished generative run's PRM, and refuses anything else.
    func testColdStartInitialisesFromAFinishedRun() throws {
        var cold = configuration(.instanceTable, iterations: 2, output: "cold")
        cold.baseline = true
        _ = try InstanceTraining(cold, log: { _ in }).run(resume: false)
        var warm = configuration(.instanceTable, iterations: 1, output: "warm")
        warm.initFrom = cold.outputDirectory
        warm.learningRate = 1e-12
        _ = try InstanceTraining(warm, log: { _ in }).run(resume: false)
        let a = try SafeTensorsFile(dir.appendingPathComponent("cold/prm.safetensors"))
        let b = try SafeTensorsFile(dir.appendingPathComponent("warm/prm.safetensors"))
        let key = try XCTUnwrap(a.names.first { $0.contains("layers.0.mlp.up_proj") }, "a frozen layer")
        XCTAssertEqual(try b.tensor(key).doubles(), try a.tensor(key).doubles())

        // The run scores best-of-N candidates as `evaluate` does: one conversation per candidate
        // under the training system prompt, a `+` turn after each step, log-odds of P(+).
        guard case .generative(let trained) = try LoadedPRM.load(dir.appendingPathComponent("warm")) else { return XCTFail("not generative") }
        XCTAssertEqual(trained.systemPrompt, "Judge each step.")
        let candidate = "Step 1: The cup is fine.\n\nStep 2: The lid is broken."
        let got = try trained.stepLogits(question: "Is all in order?", candidates: [candidate], splitter: .v1)[0]
        let conversation = try trained.encoder.encode(GenerativeChain(system: "Judge each step.", question: "Is all in order?",
                                                                      steps: StepSplitter.v1.split(candidate).steps, labels: [true, true]))
        // P(+) from LibTorch's float64 softmax over the same logits.
        let p = try Autograd.noGrad {
            try trained.prm.labelLogits(conversation).to(.float64).softmax(dim: -1).narrow(dim: 1, start: trained.prm.plus, length: 1).doubles()
        }
        XCTAssertEqual(got.count, 2)
        assertClose(got.map { 1 / (1 + Foundation.exp(-$0)) }, p, rtol: 1e-9, "σ(step logit) is P(+)")

        var notARun = configuration(.instanceTable, iterations: 1, output: "bad")
        notARun.initFrom = dir.path
        XCTAssertThrowsError(try InstanceTraining(notARun, log: { _ in }).run(resume: false)) {
            XCTAssertEqual(($0 as? SettingError)?.flag, "init_from", "\($0)")
        }
    }

    /// Bad conversations are refused before the model loads, naming file, record and field.
    func testBadInputNamesFileRecordAndField() throws {
        let good = conversation(id: "a", steps: ["The cup is fine."], labels: ["+"])
        let meta = [conversation(id: "m", steps: ["The box is fine."], labels: ["+"], correct: true)]
        let cases: [(train: [[String: Any]], meta: [[String: Any]], file: String, record: Int, field: String)] = [
            ([good, conversation(id: "b", steps: [], labels: [])], meta, "train.json", 1, "conversations"),
            ([good, conversation(id: "b", steps: ["x"], labels: ["yes"])], meta, "train.json", 1, "conversations[3].value"),
            ([good, good], meta, "train.json", 1, "id"),
            ([good, conversation(id: nil, steps: ["x"], labels: ["+"])], meta, "train.json", 1, "id"),
            ([good], [conversation(id: "m", steps: ["x"], labels: ["+"])], "meta.json", 0, "true_false"),
        ]
        for (i, c) in cases.enumerated() {
            try write(train: c.train, meta: c.meta)
            XCTAssertThrowsError(try InstanceTraining(configuration(.instanceTable, iterations: 1, output: "bad-\(i)"), log: { _ in }).run(resume: false)) {
                let error = $0 as? DataError
                XCTAssertEqual(error?.file.hasSuffix(c.file), true, "case \(i): \($0)")
                XCTAssertEqual(error?.record, c.record, "case \(i): \($0)")
                XCTAssertEqual(error?.field, c.field, "case \(i): \($0)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad-\(i)/metrics.jsonl").path))
        }
    }
}
