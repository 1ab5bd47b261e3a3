import Foundation
import Models
import NN
import PRM
import Reweighting
import TestSupport
import Torch
import XCTest

/// The v1 head on the real embedded backbone (SmolLM2-135M-Instruct, vocabulary 49,152) with
/// its defaults: logits input and full fine-tuning. Skipped when the model is not installed.
final class SmolLM2HeadTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private func loadSmolLM2() throws -> LoadedModel {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        return try ModelLoader.load(url)
    }

    /// The step prefixes of the first 10 released v1 meta chains that have steps, chat-wrapped
    /// (10, not more: the test scores them five times on the full model, and CI has a budget).
    private func releasedChains(_ encoder: PromptEncoder) throws -> [[[Int]]] {
        guard let shared = sharedDirectory() else { throw XCTSkip("../shared is absent") }
        let records = try RecordReader.read(shared.appendingPathComponent("data/dreamprm-release/dreamprm_v1_meta.json"), V1MetaRecord.init)
        let chains = records.lazy.map { StepSplitter.v1.split($0.input) }.filter { $0.count > 0 }.prefix(10)
        return chains.map { chain in (0..<chain.count).map { encoder.encode(chain.prefix(through: $0)) } }
    }

    private func stepProbabilities(_ prm: ScalarHeadPRM, _ chains: [[[Int]]]) throws -> [Double] {
        try Autograd.noGrad { try chains.flatMap { try prm.chainLogits($0, mode: .sharedPrefix).logits.sigmoid().doubles() } }
    }

    /// METHOD.md §8: the reference head saturates on SmolLM2 at step 0; the default starts at
    /// p = 0.5 and, after 10 AdamW steps that all push the same way at lr 1e-5 or 5e-7 (the
    /// head at its own fan-in-scaled rate, as `dreamprm train` sets it), is still well inside (0, 1).
    func testDefaultHeadStaysInTheLinearRangeOnReleasedChains() throws {
        let loaded = try loadSmolLM2()
        let encoder = PromptEncoder(tokenizer: loaded.tokenizer, template: try XCTUnwrap(loaded.chatTemplate))
        let chains = try releasedChains(encoder)
        XCTAssertEqual(chains.count, 10)

        Runtime.manualSeed(0)
        let reference = try ScalarHeadPRM(backbone: loaded.model, initialization: .reference)
        let referenceP = try stepProbabilities(reference, [chains[0]])
        XCTAssertFalse(referenceP.allSatisfy { $0 > 0.05 && $0 < 0.95 }, "the reference head starts outside σ's linear range: \(referenceP)")

        // The first-step prefixes: the centring sample, and the 4 shortest the training batch.
        let firstSteps = chains.map { $0[0] }
        let training = Array(firstSteps.sorted { $0.count < $1.count }.prefix(4))
        for lr in [1e-5, 5e-7] {
            let model = try loadSmolLM2().model
            let prm = try ScalarHeadPRM(backbone: model)
            try prm.centerFeatures(on: firstSteps)
            let before = try stepProbabilities(prm, chains)
            XCTAssert(before.allSatisfy { $0 > 0.05 && $0 < 0.95 }, "lr \(lr), before training: \(before)")
            let parameters = prm.trainableParameters()
            let optimizer = try AdamW(parameters, learningRate: lr, eps: 1e-6, weightDecay: 0)
            optimizer.learningRateScales = prm.learningRateScales(for: parameters, backboneRate: lr,
                                                                  headRate: V1TrainingConfiguration().headLearningRate)
            for _ in 0..<10 {
                try optimizer.zeroGrad()
                let z = try prm.logits(training)
                try PRMLoss.mse(logits: z, accuracy: Tensor.ones(z.shape, dtype: .float32)).mean().backward()
                try optimizer.step()
            }
            let after = try stepProbabilities(prm, chains)
            print(String(format: "lr %g: step probabilities after 10 steps in [%.3f, %.3f] (%d steps)", lr, after.min()!, after.max()!, after.count))
            XCTAssert(after.allSatisfy { $0 > 0.05 && $0 < 0.95 }, "lr \(lr), after 10 steps: \(after)")
            XCTAssertGreaterThan(after.reduce(0, +) / Double(after.count), 0.5 + 1e-3, "lr \(lr): the steps moved the scores up")
        }
    }

    /// `dreamprm train`'s defaults (logits head, full fine-tuning, lr 5e-7, darts every 5
    /// iterations) on a set whose labels a PRM can learn (a step is right or wrong by one
    /// word): 50 iterations end with a training loss below the best constant predictor's.
    func testDefaultTrainingBeatsTheConstantPredictor() throws {
        _ = try loadSmolLM2()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smollm2-head-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let nouns = ["box", "cup", "lamp", "door", "pipe", "gate"]
        var train: [[String: Any]] = [], labels: [Double] = []
        for i in 0..<48 {
            let fine = i % 2 == 0, noun = nouns[(i / 2) % nouns.count]
            labels.append(fine ? 1 : 0)
            train.append(["input": "Question: is the \(noun) in order?", "add": "Step 1: the \(noun) is \(fine ? "fine" : "broken").",
                          "dataset": ["a", "b", "c"][i % 3], "accuracy": fine ? 1.0 : 0.0])
        }
        let meta: [[String: Any]] = (0..<8).map { m in
            ["input": "Question: is the \(nouns[m % 6]) in order?\n\nStep 1: the \(nouns[m % 6]) is \(m % 2 == 0 ? "fine" : "broken").",
             "true_false": m % 2 == 0]
        }
        try JSONSerialization.data(withJSONObject: train).write(to: dir.appendingPathComponent("train.json"))
        try JSONSerialization.data(withJSONObject: meta).write(to: dir.appendingPathComponent("meta.json"))

        var c = V1TrainingConfiguration()
        c.trainFile = dir.appendingPathComponent("train.json").path
        c.metaFile = dir.appendingPathComponent("meta.json").path
        c.outputDirectory = dir.appendingPathComponent("run").path
        c.iterations = 50
        c.batchSize = 4
        c.saveEveryIterations = 1000
        _ = try V1Training(c, log: { _ in }).run(resume: false)

        let lines = try String(contentsOf: dir.appendingPathComponent("run/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let metrics = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let losses = try metrics.map { try XCTUnwrap($0["lower_loss"] as? Double) }
        let mean = labels.reduce(0, +) / Double(labels.count)
        let constant = labels.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(labels.count)
        let last = losses.suffix(10).reduce(0, +) / 10
        print(String(format: "SmolLM2, train defaults: loss of the first 10 iterations %.4f, last 10 %.4f, constant predictor %.4f",
                     losses.prefix(10).reduce(0, +) / 10, last, constant))
        XCTAssertLessThan(last, 0.8 * constant)
        let saturated = try metrics.map { try XCTUnwrap($0["saturated_fraction"] as? Double) }
        XCTAssertEqual(saturated.max(), 0, "no step logit beyond |z| = 8")
    }
}
