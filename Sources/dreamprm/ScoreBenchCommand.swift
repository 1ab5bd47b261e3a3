import ArgumentParser
import Evaluation
import Foundation
import Models
import PRM
import Torch

/// `dreamprm score`'s packing against the ways one could score without it, on one invocation:
/// all candidates of a question in one trie-packed forward; each candidate's prefixes in one
/// forward of their own; one forward per step prefix (what a plain transformers loop does).
struct ScoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Time best-of-N scoring on SmolLM2-135M: trie-packed per question, per candidate, per prefix (JSON)."
    )

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Questions (the window benchmark's word problems).") var questions = 100
    @Option(help: "Candidates per question.") var candidates = 8

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
        let loaded = try ModelLoader.load(try ModelRegistry.resolve("smollm2-135m-instruct"))
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
        let perPrefix = try timed {
            try Autograd.noGrad { try work.map { try $0.map { try $0.map { try prm.logits([trained.encoder.encode($0)]).doubles()[0] } } } }
        }
        func maxDifference(_ a: [[[Double]]], _ b: [[[Double]]]) -> Double {
            zip(a.joined().joined(), b.joined().joined()).map { abs($0 - $1) }.max() ?? 0
        }
        let report: [String: Any] = [
            "questions": questions, "candidates": candidates, "threads": threads, "device": device.description,
            "prefixes": work.joined().joined().count,
            "seconds": ["packed_per_question": packed.seconds, "per_candidate": perCandidate.seconds, "per_prefix": perPrefix.seconds],
            "speedup_vs_per_prefix": (perPrefix.seconds / packed.seconds * 100).rounded() / 100,
            "speedup_vs_per_candidate": (perCandidate.seconds / packed.seconds * 100).rounded() / 100,
            "max_abs_logit_difference": ["per_candidate": maxDifference(packed.scores, perCandidate.scores),
                                         "per_prefix": maxDifference(packed.scores, perPrefix.scores)],
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }
}
