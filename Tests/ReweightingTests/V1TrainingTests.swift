import Evaluation
import Foundation
import Models
import NN
import PRM
import Reweighting
import TestSupport
import Torch
import XCTest

/// The v1 training pipeline end to end on a tiny random Qwen2 backbone with the tiny
/// byte-level tokenizer (both made here), so runs take seconds.
final class V1TrainingTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        Runtime.threadCount = 1
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("v1train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try TinyBackbone.write(to: dir.appendingPathComponent("backbone"))
        try writeData()
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func writeData() throws {
        var train: [String] = [], meta: [String] = []
        for (d, domain) in ["a", "b", "c"].enumerated() {
            for i in 0..<5 {
                train.append(#"{"input": "Question: what is \#(i) + \#(d)?", "add": "Step 1: add them.\n\nStep 2: the sum is \#(i + d).", "dataset": "\#(domain)", "accuracy": \#(Double((i + d) % 3) / 2)}"#)
            }
        }
        for i in 0..<4 {
            meta.append(#"{"id": \#(i), "true_false": \#(i % 2 == 0), "input": "Question: \#(i) + 1?\n\nStep 1: add.\n\nStep 2: \#(i + 1).\n\nFinal answer: \#(i + 1)"}"#)
        }
        meta.append(#"{"id": 9, "true_false": true, "input": "Question without any steps"}"#)
        try "[\(train.joined(separator: ","))]".write(to: dir.appendingPathComponent("train.json"), atomically: true, encoding: .utf8)
        try meta.joined(separator: "\n").write(to: dir.appendingPathComponent("meta.jsonl"), atomically: true, encoding: .utf8)
    }

    private func configuration(iterations: Int, output: String = "run") -> V1TrainingConfiguration {
        var c = V1TrainingConfiguration()
        c.trainFile = dir.appendingPathComponent("train.json").path
        c.metaFile = dir.appendingPathComponent("meta.jsonl").path
        c.outputDirectory = dir.appendingPathComponent(output).path
        c.rewardModel = dir.appendingPathComponent("backbone").path
        c.iterations = iterations
        c.batchSize = 2
        c.learningRate = 1e-3
        c.metaLearningRate = 0.05
        c.unrollSteps = 2
        c.saveEveryIterations = 4
        c.seed = 3
        return c
    }

    /// Eight one-step records with these labels, the first six in domain "big", the last two in
    /// "small", as the lower problem of a tiny PRM.
    private func eightRecordProblem(labels: [Int], hypergradientPerDomain: Int, stratifyByLabel: Bool = false) throws -> V1TrainingProblem {
        let rows = labels.enumerated().map { i, y in
            #"{"input": "Question: what is \#(i) + 1?", "add": "Step 1: it is \#(i + 1).", "dataset": "\#(i < 6 ? "big" : "small")", "accuracy": \#(y)}"#
        }
        let file = dir.appendingPathComponent("eight.json")
        try "[\(rows.joined(separator: ","))]".write(to: file, atomically: true, encoding: .utf8)
        let records = try RecordReader.read(file, V1TrainRecord.init)
        let loaded = try ModelLoader.load(dir.appendingPathComponent("backbone"))
        Runtime.manualSeed(1)
        let prm = try ScalarHeadPRM(backbone: loaded.model, input: .logits, initialization: .reference)
        let encoder = PromptEncoder(tokenizer: loaded.tokenizer, template: try XCTUnwrap(loaded.chatTemplate))
        return V1TrainingProblem(prm: prm, records: records, encoder: encoder, batchSize: 2, seed: 1,
                                 hypergradientPerDomain: hypergradientPerDomain, stratifyByLabel: stratifyByLabel)
    }

    /// `--hypergradient_batch_per_domain`: a balanced batch (k records of each of K domains)
    /// over-represents small domains; each record's loss counts K·n_d/N, so the batch's mean
    /// loss averages to the whole training set's. Domains of 6 and 2 records, k = 1: over six
    /// batches the first domain is drawn once a record and the second three times.
    func testBalancedHypergradientBatchesEstimateTheWholeLossWithoutBias() throws {
        let lower = try eightRecordProblem(labels: [0, 0, 0, 0, 0, 0, 1, 1], hypergradientPerDomain: 1)
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
        let all = try Autograd.noGrad { try lower.losses(Array(0..<8)).perSample.doubles() }
        var estimates: [Double] = []
        for _ in 0..<6 {
            let batch = try XCTUnwrap(try lower.hypergradientBatch())
            estimates.append(mean(try Autograd.noGrad { try lower.losses(batch).perSample.doubles() }))
        }
        XCTAssertEqual(mean(estimates), mean(all), accuracy: 1e-6)
        let unweighted = 0.5 * mean(Array(all[..<6])) + 0.5 * mean(Array(all[6...]))
        XCTAssertGreaterThan(abs(unweighted - mean(all)), 1e-3, "without the weights the balanced batches would be biased")
        // A lower batch is never weighted, even with the same records.
        let batch = try XCTUnwrap(try lower.hypergradientBatch())
        _ = try lower.nextBatch()
        assertClose(try Autograd.noGrad { try lower.losses(batch).perSample.doubles() }, batch.map { all[$0] }, rtol: 1e-5)
    }

    /// `--batch_strata label`: each domain's k = 2 hypergradient records are one labelled right
    /// and one wrong, weighted by their label's share in the domain, so the batch mean is still
    /// an unbiased estimate of the whole loss. Domain "big": 4 wrong, 2 right; "small": 1 and 1.
    /// Over four batches every record of a stratum is drawn equally often.
    func testLabelStratifiedHypergradientBatchesEstimateTheWholeLossWithoutBias() throws {
        let labels = [0, 0, 0, 0, 1, 1, 0, 1]
        let lower = try eightRecordProblem(labels: labels, hypergradientPerDomain: 2, stratifyByLabel: true)
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
        let all = try Autograd.noGrad { try lower.losses(Array(0..<8)).perSample.doubles() }
        var estimates: [Double] = []
        for _ in 0..<4 {
            let batch = try XCTUnwrap(try lower.hypergradientBatch())
            XCTAssertEqual(batch.map { labels[$0] }, [1, 0, 1, 0], "per domain, a right record then a wrong one: \(batch)")
            estimates.append(mean(try Autograd.noGrad { try lower.losses(batch).perSample.doubles() }))
        }
        XCTAssertEqual(mean(estimates), mean(all), accuracy: 1e-6)
    }

    private func finalPRM(_ output: String) throws -> [String: [Double]] {
        let file = try SafeTensorsFile(dir.appendingPathComponent("\(output)/prm.safetensors"))
        return try Dictionary(uniqueKeysWithValues: file.names.map { ($0, try file.tensor($0).doubles()) })
    }

    func testResumedRunEndsWithTheParametersOfAnUninterruptedRun() throws {
        try assertResumeIsExact(hypergradientPerDomain: 0)
    }

    /// The balanced hypergradient batch draws from its own per-domain orders; a resume must
    /// restore them, and the option must change what the weights learn.
    func testBalancedHypergradientBatchResumesExactlyAndChangesTheWeights() throws {
        try assertResumeIsExact(hypergradientPerDomain: 2)
        var plain = configuration(iterations: 8, output: "plain")
        plain.hypergradientPerDomain = 0
        _ = try V1Training(plain, log: { _ in }).run(resume: false)
        let weights = { (o: String) in try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: self.dir.appendingPathComponent("\(o)/domain_weights.json"))) }
        XCTAssertNotEqual(try weights("plain"), try weights("whole"))
    }

    /// Label strata draw from their own orders, in the hypergradient and the meta batch.
    func testLabelStratifiedBatchesResumeExactly() throws {
        try assertResumeIsExact(hypergradientPerDomain: 2, stratifyByLabel: true)
    }

    private func assertResumeIsExact(hypergradientPerDomain: Int, stratifyByLabel: Bool = false) throws {
        func settings(_ iterations: Int, _ output: String) -> V1TrainingConfiguration {
            var c = configuration(iterations: iterations, output: output)
            c.hypergradientPerDomain = hypergradientPerDomain
            c.batchStrata = stratifyByLabel ? .label : .none
            if stratifyByLabel { c.metaBatchSize = 2 }
            return c
        }
        _ = try V1Training(settings(8, "whole"), log: { _ in }).run(resume: false)
        _ = try V1Training(settings(4, "split"), log: { _ in }).run(resume: false)
        var messages: [String] = []
        _ = try V1Training(settings(8, "split"), log: { messages.append($0) }).run(resume: true)
        XCTAssertTrue(messages.contains("resumed from iteration 4"), "\(messages)")
        let whole = try finalPRM("whole"), split = try finalPRM("split")
        XCTAssertEqual(Set(whole.keys), Set(split.keys))
        for (k, v) in whole { XCTAssertEqual(split[k], v, k) }
        let weights = { (o: String) in try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: self.dir.appendingPathComponent("\(o)/domain_weights.json"))) }
        XCTAssertEqual(try weights("split"), try weights("whole"))
        let lines = try String(contentsOf: dir.appendingPathComponent("split/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 8, "one metrics line per iteration, none duplicated by the resume")
    }

    /// A bf16 run end to end: weights move, the backbone is saved in bf16, the head in float32.
    /// (That the darts perturbation survives bf16 is pinned by HypergradientTests.)
    func testBF16RunTrainsAndSavesItsDTypes() throws {
        var c = configuration(iterations: 4, output: "bf16")
        c.precision = "bf16"
        _ = try V1Training(c, log: { _ in }).run(resume: false)
        let w = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: dir.appendingPathComponent("bf16/domain_weights.json")))
        XCTAssertNotEqual(Set(w.values), [1], "\(w)")
        let prm = try SafeTensorsFile(dir.appendingPathComponent("bf16/prm.safetensors"))
        XCTAssertEqual(prm.entries["backbone.model.embed_tokens.weight"]?.dtype, .bfloat16)
        XCTAssertEqual(prm.entries["prm_head.weight"]?.dtype, .float32)
    }

    func testRunReportCountsSkippedMetaRecordsAndBaselineKeepsWeights() throws {
        var c = configuration(iterations: 4)
        c.baseline = true
        let report = try V1Training(c, log: { _ in }).run(resume: false)
        XCTAssertEqual(report.metaRecords, 5)
        XCTAssertEqual(report.metaChainsUsed, 4)
        XCTAssertEqual(report.metaSkipped.values.reduce(0, +), 1)
        XCTAssertEqual(report.metaSkippedExamples, [4])
        let w = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: dir.appendingPathComponent("run/domain_weights.json")))
        XCTAssertEqual(w, ["a": 1, "b": 1, "c": 1])
        let saved = try SafeTensorsFile(dir.appendingPathComponent("run/checkpoint/model.safetensors"))
        XCTAssertTrue(saved.names.contains("prm.prm_head.weight") && saved.names.contains("weights.raw"))
    }

    func testBadInputGivesItsOwnErrorAndDamagesNothingWritten() throws {
        _ = try V1Training(configuration(iterations: 4), log: { _ in }).run(resume: false)
        let prm = try Data(contentsOf: dir.appendingPathComponent("run/prm.safetensors"))
        let meta = try Data(contentsOf: dir.appendingPathComponent("run/checkpoint/meta.json"))
        let good = try String(contentsOf: dir.appendingPathComponent("train.json"), encoding: .utf8)
        let cases: [(String, String, String)] = [
            ("train.json", "[{\"input\": ", "malformed JSON"),
            ("train.json", #"[{"input": "q", "add": "Step 1: x", "accuracy": 0.5}]"#, "record 0: field 'dataset': missing"),
            ("train.json", #"[{"input": "q", "add": "Step 1: x", "dataset": "a", "accuracy": 2}]"#, "field 'accuracy': 2.0 is outside [0, 1]"),
            ("meta.jsonl", "{\"true_false\": true, \"input\": \"Step 1: x\"}\nnot json\n", "record 1: malformed JSON line"),
            ("meta.jsonl", #"{"input": "Step 1: x"}"#, "field 'true_false': missing"),
        ]
        for (file, content, fragment) in cases {
            try good.write(to: dir.appendingPathComponent("train.json"), atomically: true, encoding: .utf8)
            try writeData()
            try content.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try V1Training(configuration(iterations: 4), log: { _ in }).run(resume: false)) { error in
                XCTAssertTrue(error is DataError, "\(error)")
                XCTAssertTrue("\(error)".contains(file) && "\(error)".contains(fragment), "\(error)")
            }
        }
        try writeData()
        var strict = configuration(iterations: 4)
        strict.strict = true
        XCTAssertThrowsError(try V1Training(strict, log: { _ in }).run(resume: false)) {
            XCTAssertTrue("\($0)".contains("record 4: field 'input': has no 'Step N' markers"), "\($0)")
        }
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("run/prm.safetensors")), prm)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("run/checkpoint/meta.json")), meta)
    }

    /// --report_to tensorboard writes an event file beside metrics.jsonl, whose lines carry a
    /// time stamp and tokens/s.
    func testTensorBoardEventsAndTimedMetrics() throws {
        var c = configuration(iterations: 4)
        c.reportTo = ["tensorboard"]
        _ = try V1Training(c, log: { _ in }).run(resume: false)
        let run = dir.appendingPathComponent("run")
        let events = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(events.count, 1)
        XCTAssertGreaterThan(try Data(contentsOf: run.appendingPathComponent(events[0])).count, 200)
        let lines = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            XCTAssertGreaterThan(object["tokens_per_second"] as? Double ?? 0, 0)
            XCTAssertGreaterThan(object["time"] as? Double ?? 0, 1.7e9)
        }
    }

    /// The diagnostics of every upper step: each domain's hypergradient entry, the hedged meta
    /// loss, the alignment of each domain's gradient with the meta gradient by parameter group,
    /// and the run's verdict on its weights; with darts-step as the hypergradient.
    func testDiagnosticsOfEveryUpperStepAndTheVerdict() throws {
        var c = configuration(iterations: 20)
        c.alignmentEvery = 2
        c.hypergradient = "darts-step"
        _ = try V1Training(c, log: { _ in }).run(resume: false)
        let run = dir.appendingPathComponent("run")
        let upper = try MetricsLog.read(run.appendingPathComponent("metrics.jsonl")).filter { $0.metaLoss != nil }
        XCTAssertEqual(upper.count, 10)
        for (n, line) in upper.enumerated() {
            XCTAssertEqual(line.hypergradientByDomain.map { Set($0.keys) }, ["a", "b", "c"])
            let hedged = try XCTUnwrap(line.metaLossHedged)
            XCTAssertTrue(hedged > 0 && hedged < 1, "\(hedged)")
            if n % 2 == 0 {
                let alignment = try XCTUnwrap(line.alignment, "upper step \(n + 1)")
                for d in ["a", "b", "c"] {
                    for group in ["head", "layers"] {
                        let cosine = try XCTUnwrap(alignment["\(d)/\(group)/cosine"])
                        XCTAssertTrue(abs(cosine) <= 1 + 1e-9 && alignment["\(d)/\(group)/dot"] != nil)
                    }
                }
            } else {
                XCTAssertNil(line.alignment)
            }
        }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("run_report.json"))) as! [String: Any]
        XCTAssertEqual(report["hypergradient"] as? String, "darts-step")
        let upperLevel = try XCTUnwrap(report["upperLevel"] as? [String: String])
        XCTAssertEqual(Set(upperLevel.keys), ["hypergradient_batch", "meta_batch", "batch_strata", "meta_loss"])
        let verdict = try XCTUnwrap(report["weightsVerdict"] as? [String: Any])
        XCTAssertEqual(verdict["upper_steps"] as? Int, 10)
        XCTAssertEqual((verdict["signal_to_noise"] as? [String: Double]).map { Set($0.keys) }, ["a", "b", "c"])
    }

    /// The hedged meta loss is the meta loss with each step probability p read as (p + 0.5)/2.
    func testHedgedMetaLossPullsEveryStepHalfwayToOneHalf() throws {
        let loaded = try ModelLoader.loadHuggingFaceWeights(dir.appendingPathComponent("backbone"))
        Runtime.manualSeed(5)
        let prm = try ScalarHeadPRM(backbone: loaded, input: .logits, initialization: .reference)
        let chains: [(prefixes: [[Int]], label: Bool)] = [([[1, 2, 3], [1, 2, 3, 4, 5]], true), ([[6, 7], [6, 7, 8], [6, 7, 8, 9]], false)]
        let upper = V1MetaProblem(prm: prm, chains: chains, batchSize: 2, seed: 1, mode: .sharedPrefix, aggregation: .meanLogOdds)
        _ = try Autograd.noGrad { try upper.loss([0, 1]) }
        var expected = 0.0
        for (prefixes, label) in chains {
            let z = try prm.chainLogits(prefixes, mode: .perPrefix).logits.doubles()
            // σ of the mean log-odds of the pulled probabilities.
            let odds = z.map { z -> Double in let p = (1 / (1 + exp(-z)) + 0.5) / 2; return log(p / (1 - p)) }
            let score = 1 / (1 + exp(-odds.reduce(0, +) / Double(odds.count)))
            expected += pow(score - (label ? 1 : 0), 2) / 2
        }
        XCTAssertEqual(upper.lastHedgedLoss, expected, accuracy: 1e-5)
    }

    /// bf16 weights, only the top layer trained, the logits head and darts: the perturbed
    /// forwards run in float32 through the frozen bf16 layers and the tied lm_head too, and the
    /// weights move.
    func testBF16WithTrainLayersAndTheLogitsHeadRunsDarts() throws {
        var c = configuration(iterations: 4)
        c.precision = "bf16"
        c.trainLayers = 1
        c.headInput = .logits
        c.unrollSteps = 1
        _ = try V1Training(c, log: { _ in }).run(resume: false)
        let weights = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: dir.appendingPathComponent("run/domain_weights.json")))
        XCTAssertEqual(weights.count, 3)
        XCTAssertTrue(weights.values.contains { abs($0 - 1) > 1e-4 }, "the upper step moved the weights: \(weights)")
    }

    func testReleasedV1MetaFileReportsItsSkippedRecords() throws {
        guard let shared = sharedDirectory() else { throw XCTSkip("../shared is absent") }
        var c = configuration(iterations: 1)
        c.metaFile = shared.appendingPathComponent("data/dreamprm-release/dreamprm_v1_meta.json").path
        let (_, chains, report) = try V1Training(c, log: { _ in }).readData()
        XCTAssertEqual(report.metaRecords, 500)
        XCTAssertEqual(report.metaSkipped, ["no steps (no 'Step N' marker in input)": 372])
        XCTAssertEqual(chains.count, 128)
        XCTAssertEqual(report.recordsWithImages, 500, "every released record names an image")
    }

    /// A trained run's prm.safetensors scores best-of-N candidates like the PRM it saved
    /// (per-prefix forwards as the independent path); the score cache is reused, not recomputed.
    func testTrainedPRMScoresCandidatesAndTheCacheIsReused() throws {
        _ = try V1Training(configuration(iterations: 2), log: { _ in }).run(resume: false)
        let trained = try TrainedPRM.load(dir.appendingPathComponent("run"))
        let record = BestOfNRecord(question: "Question: 2 + 3?", candidates: ["Step 1: add.\n\nStep 2: 5.\n\nFinal answer: 5", "Step 1: 6\n\nFinal answer: 6"],
                                   trueFalse: [true, false])
        let test = dir.appendingPathComponent("test.json")
        try Data("[]".utf8).write(to: test)
        let cache = dir.appendingPathComponent("scores.json")
        var messages: [String] = []
        let first = try ScoreCache.scores(for: trained, records: [record], testFile: test, splitter: .v1, settings: "v1", cache: cache, log: { messages.append($0) })
        XCTAssertEqual(first.map { $0.map(\.count) }, [[2, 1]])
        let prefixes = ["Question: 2 + 3?\n\nStep 1: add.", "Question: 2 + 3?\n\nStep 1: add.\n\nStep 2: 5."].map(trained.encoder.encode)
        let direct = try Autograd.noGrad { try trained.prm.chainLogits(prefixes, mode: .perPrefix).logits.doubles() }
        try assertClose(first[0][0], direct, atol: 1e-5)
        // One trie per candidate (a cap of one token), and a repeated candidate, score the same.
        let apart = try trained.stepLogits(question: record.question, candidates: record.candidates + [record.candidates[0]],
                                           splitter: .v1, packedTokens: 1)
        try assertClose(apart.flatMap { $0 }, (first[0] + [first[0][0]]).flatMap { $0 }, atol: 1e-5)
        let again = try ScoreCache.scores(for: trained, records: [record], testFile: test, splitter: .v1, settings: "v1", cache: cache, log: { messages.append($0) })
        XCTAssertEqual(again, first)
        XCTAssertTrue(messages.contains { $0.contains("1 of 1 questions already scored") }, "\(messages)")

        // Another splitter's cache is not trusted: the candidates are scored anew, cut at "\n\nFinal".
        messages = []
        let generic = try ScoreCache.scores(for: trained, records: [record], testFile: test, splitter: .separator("\n\nFinal", questionFirst: false),
                                            settings: "separator", cache: cache, log: { messages.append($0) })
        XCTAssertTrue(messages.contains { $0.contains("made with other settings") }, "\(messages)")
        XCTAssertEqual(generic.map { $0.map(\.count) }, [[2, 2]])
        // Nor is a cache whose lists do not fit the records (one candidate more).
        let grown = BestOfNRecord(question: record.question, candidates: record.candidates + ["Step 1: 5\n\nFinal answer: 5"], trueFalse: [true, false, true])
        messages = []
        let rescored = try ScoreCache.scores(for: trained, records: [grown], testFile: test, splitter: .v1, settings: "separator",
                                             cache: cache, log: { messages.append($0) })
        XCTAssertTrue(messages.contains { $0.contains("2 score lists for 3 candidates") }, "\(messages)")
        XCTAssertEqual(rescored.map { $0.map(\.count) }, [[2, 1, 1]])
    }
}
