import ArgumentParser
import Evaluation
import Foundation
import Models
import PRM
import Torch

/// `dreamprm score`'s packing against the ways one could score without it, on one invocation:
/// all candidates of a question in one trie-packed forward; each candidate's prefixes in one
/// forward of their own; one forward per step prefix, ours and transformers' (the plain loop).
struct ScoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Time best-of-N scoring on SmolLM2-135M: trie-packed per question, per candidate, per prefix (JSON)."
    )

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Questions (the window benchmark's word problems).") var questions = 100
    @Option(help: "Candidates per question.") var candidates = 8
    @Flag(inversion: .prefixedNo, help: "Also time our own forward per prefix (the slowest; transformers does the same).")
    var swiftPerPrefix = true
    @Option(help: "The transformers reference script (skipped when absent or unusable).")
    var reference = "bench/score_reference.py"

    /// Candidate j of a problem: its first 3 + j % 3 steps, with step (j / 2) % 4 + 1's result
    /// off by j for odd j, so candidates share the question and some leading steps.
    static func candidates(_ steps: [String], count: Int) -> [[String]] {
        (0..<count).map { j in
            var chosen = Array(steps.prefix(3 + j % 3))
            let k = (j / 2) % 4 + 1
            if j % 2 == 1 && k < chosen.count { chosen[k] = chosen[k].replacingOccurrences(of: " = ", with: " = \(j)") }
            return chosen.map { String($0.drop { $0 != ":" }.dropFirst(2)) }
        }
    }

    func run() throws {
        try Check.atLeast(questions, 1, "questions")
        try Check.atLeast(candidates, 1, "candidates")
        let threads = runtime.threads ?? 1
        try Check.atLeast(threads, 1, "threads")
        Runtime.threadCount = threads
        let device = try Check.device(runtime.device)
        let modelURL = try ModelRegistry.resolve("smollm2-135m-instruct")
        let loaded = try ModelLoader.load(modelURL)
        try loaded.model.to(device)
        Runtime.manualSeed(0)
        // A random head (the reference initialisation), so that equal scores mean something.
        let prm = try ScalarHeadPRM(backbone: loaded.model, input: .hidden, initialization: .reference)
        try prm.to(device)
        let trained = TrainedPRM(prm: prm, encoder: PromptEncoder(tokenizer: loaded.tokenizer, template: loaded.chatTemplate ?? .smolLM2),
                                 fingerprint: "bench")
        let work = (0..<questions).map { q -> [[String]] in
            let p = WindowBench.problem(UInt64(1000 + q))
            return Self.candidates(p.steps, count: candidates).map { TrainedPRM.prefixTexts(question: p.question, steps: $0) }
        }
        func timed(_ body: () throws -> [[[Double]]]) throws -> (seconds: Double, scores: [[[Double]]]) {
            let start = DispatchTime.now().uptimeNanoseconds
            let scores = try body()
            try device.synchronize()
            return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, scores)
        }
        let packed = try timed { try work.map { try trained.stepLogits(prefixTexts: $0) } }
        let perCandidate = try timed {
            try Autograd.noGrad { try work.map { try $0.map { try prm.chainLogits($0.map(trained.encoder.encode), mode: .sharedPrefix).logits.doubles() } } }
        }
        let perPrefix = swiftPerPrefix ? try timed {
            try Autograd.noGrad { try work.map { try $0.map { try $0.map { try prm.logits([trained.encoder.encode($0)]).doubles()[0] } } } }
        } : nil
        func maxDifference(_ a: [[[Double]]], _ b: [[[Double]]]) -> Double {
            zip(a.joined().joined(), b.joined().joined()).map { abs($0 - $1) }.max() ?? 0
        }
        func ratio(_ slower: Double, _ faster: Double) -> Double { (slower / faster * 100).rounded() / 100 }
        var seconds: [String: Double] = ["packed_per_question": packed.seconds, "per_candidate": perCandidate.seconds]
        var differences: [String: Double] = ["per_candidate": maxDifference(packed.scores, perCandidate.scores)]
        var report: [String: Any] = [
            "questions": questions, "candidates": candidates, "threads": threads, "device": device.description,
            "prefixes": work.joined().joined().count,
            "speedup_vs_per_candidate": ratio(perCandidate.seconds, packed.seconds),
        ]
        if let perPrefix {
            seconds["per_prefix"] = perPrefix.seconds
            differences["per_prefix"] = maxDifference(packed.scores, perPrefix.scores)
            report["speedup_vs_per_prefix"] = ratio(perPrefix.seconds, packed.seconds)
        }
        // transformers, one forward per prefix over the same token ids and the same head.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dreamprm-bench-score-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let workFile = scratch.appendingPathComponent("work.json"), headFile = scratch.appendingPathComponent("head.safetensors")
        try JSONSerialization.data(withJSONObject: work.map { $0.map { $0.map(trained.encoder.encode) } }).write(to: workFile)
        try SafeTensors.write(["weight": prm.head.weight.to(.cpu), "bias": prm.head.bias!.to(.cpu)], to: headFile)
        if device == .cpu, let theirs = PythonReference.run(script: reference, arguments: [modelURL.path, "--work", workFile.path, "--head", headFile.path,
                                                                                     "--threads", "\(threads)"]),
           let reference = theirs["transformers_per_prefix_seconds"] as? Double, let logits = theirs["transformers_logits"] as? [[[Double]]] {
            seconds["transformers_per_prefix"] = reference
            differences["transformers_per_prefix"] = maxDifference(packed.scores, logits)
            report["speedup_vs_transformers_per_prefix"] = ratio(reference, packed.seconds)  // goal ≥ 3
            report["torch"] = theirs["torch"]
        } else {
            report["note"] = "no transformers reference in this run (CPU only; needs python3 with torch, transformers, gguf, accelerate, safetensors)"
        }
        report["seconds"] = seconds
        report["max_abs_logit_difference"] = differences
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }
}
