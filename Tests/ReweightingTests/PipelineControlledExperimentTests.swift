import Foundation
import Reweighting
import TestSupport
import Torch
import XCTest

/// The controlled corrupted-domain experiment through the whole `dreamprm train` pipeline:
/// JSON files, chat template, tokenizer, a transformer PRM with the v1 head, shared-prefix meta
/// chains, darts. A step is right or wrong by one word; three domains label it truthfully, one
/// has its labels randomly permuted among its own records.
final class PipelineControlledExperimentTests: XCTestCase {
    private var dir: URL!
    static let domains = ["alpha", "beta", "gamma", "corrupted"]
    static let nouns = ["box", "cup", "lamp", "door", "pipe", "gate"]
    /// Each domain's 48 steps, alternately right and wrong.
    static let verdicts = (0..<48).map { $0 % 2 == 0 }

    /// The verdicts, or for the corrupted domain a random permutation of them.
    static func labels(_ domain: String) -> [Bool] {
        domain == "corrupted" ? verdicts.shuffledDeterministically(seed: 20) : verdicts
    }

    override func setUpWithError() throws {
        Runtime.threadCount = 1
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-experiment-\(UUID().uuidString)")
        try TinyBackbone.write(to: dir.appendingPathComponent("backbone"))
        try writeData()
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func json(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    private func writeData() throws {
        var train: [String] = []
        for domain in Self.domains {
            let labels = Self.labels(domain)
            for i in 0..<Self.verdicts.count {
                // The same few texts in every domain, so no record can be told apart (and its
                // label memorised) by anything but the step's verdict word.
                let noun = Self.nouns[(i / 2) % Self.nouns.count]
                train.append(try json(["input": "Question: is the \(noun) in order?",
                                       "add": "Step 1: the \(noun) is \(Self.verdicts[i] ? "fine" : "broken").",
                                       "dataset": domain, "accuracy": labels[i] ? 1.0 : 0.0]))
            }
        }
        var meta: [String] = []
        for m in 0..<16 {
            let steps = m % 2 == 0 ? [true, true] : [(m / 2) % 2 == 0, (m / 2) % 2 == 1]
            let noun = Self.nouns[m % Self.nouns.count]
            meta.append(try json(["input": "Question: is the \(noun) in order?\n\n" + steps.enumerated().map { "Step \($0 + 1): the \(noun) is \($1 ? "fine" : "broken")." }.joined(separator: "\n\n"),
                                  "true_false": steps.allSatisfy { $0 }]))
        }
        try "[\(train.joined(separator: ","))]".write(to: dir.appendingPathComponent("train.json"), atomically: true, encoding: .utf8)
        try meta.joined(separator: "\n").write(to: dir.appendingPathComponent("meta.jsonl"), atomically: true, encoding: .utf8)
    }

    /// 400 iterations of batch 32 with an upper step every 2: a noisy hypergradient needs many
    /// upper steps to average out. With the reference head and seeds 1-6 the corrupted domain
    /// ended lowest every time, at 0.24-0.52 against ≥ 1.03; with the default head, seed 1 ends
    /// at 0.33 against ≥ 1.18.
    private func train(baseline: Bool) throws -> [String: Double] {
        var c = V1TrainingConfiguration()
        c.trainFile = dir.appendingPathComponent("train.json").path
        c.metaFile = dir.appendingPathComponent("meta.jsonl").path
        c.outputDirectory = dir.appendingPathComponent(baseline ? "baseline" : "dreamprm").path
        c.rewardModel = dir.appendingPathComponent("backbone").path
        c.headInput = .hidden
        c.iterations = 400
        c.batchSize = 32
        c.metaBatchSize = 16
        c.learningRate = 3e-3
        c.metaLearningRate = 0.03
        c.unrollSteps = 2
        c.saveEveryIterations = 1000
        c.baseline = baseline
        c.seed = 1
        _ = try V1Training(c, log: { _ in }).run(resume: false)
        return try JSONDecoder().decode([String: Double].self,
                                        from: Data(contentsOf: URL(fileURLWithPath: c.outputDirectory).appendingPathComponent("domain_weights.json")))
    }

    func testTheCorruptedDomainGetsTheLowestWeightThroughThePipeline() throws {
        let agreement = Double(zip(Self.verdicts, Self.labels("corrupted")).filter { $0 == $1 }.count) / Double(Self.verdicts.count)
        XCTAssert((0.35...0.65).contains(agreement), "the permutation leaves the labels about as informative as coin flips: \(agreement)")
        let weights = try train(baseline: false)
        print("pipeline experiment, learned domain weights: \(weights.sorted { $0.key < $1.key })")
        let corrupted = try XCTUnwrap(weights["corrupted"])
        let cleanest = try XCTUnwrap(weights.filter { $0.key != "corrupted" }.values.min())
        XCTAssertLessThan(corrupted, cleanest - 0.3, "\(weights)")
        XCTAssertEqual(try train(baseline: true), Dictionary(uniqueKeysWithValues: Self.domains.map { ($0, 1.0) }))
    }
}
