import ArgumentParser
import Evaluation
import Foundation
import PRM
import Torch

/// `dreamprm score`: per-step probabilities and the aggregate score of chains, from JSON Lines.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score reasoning chains step by step with a trained PRM (JSON Lines in, JSON Lines out).",
        discussion: """
            Each input line: {"id"?, "question", "steps": [..] or "response" (cut by --splitter), "image_path"?}. \
            The PRM may be a scalar-head (v1) or a generative (1.5) run; a generative one reads each chain as one \
            conversation, its step score P(+). \
            Each output line keeps the input's id and adds "step_scores" (P(step k is right), k = 1…K) and "score" \
            (the aggregate). Chains of one question are scored together: their shared tokens run once. \
            The output is written whole at the end (atomically). Exit codes: 0 done, 1 failure, 2 bad input.
            """)

    @Option(help: "A trained PRM: a `dreamprm train` output directory or its prm.safetensors.") var prm: String
    @Option(help: "Chains to score (JSON Lines or a JSON array).") var input: String
    @Option(help: "Where the scores go (JSON Lines).") var output: String
    @Option(name: [.customLong("reward_model"), .customLong("reward-model")], help: "Backbone override (default: the one the PRM was trained on).")
    var rewardModel: String?
    @Option(help: "Step splitting of responses: v1, generic, or separator:TEXT.") var splitter: String = "v1"
    @Option(help: "Aggregate of the step scores: \(Aggregation.allCases.map(\.rawValue).joined(separator: ", ")).")
    var aggregation: String = Aggregation.meanLogOdds.rawValue
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        guard let aggregation = Aggregation(rawValue: aggregation) else {
            throw SettingError("aggregation", "one of \(Aggregation.allCases.map(\.rawValue).joined(separator: ", ")), not '\(self.aggregation)'")
        }
        let split = try StepSplitter(flag: splitter)
        if let threads = runtime.threads { try Check.atLeast(threads, 1, "threads") }
        let device = try Check.device(runtime.device)
        try Check.inputFile(input, "input")
        guard FileManager.default.fileExists(atPath: prm) else { throw SettingError("prm", "'\(prm)' does not exist") }
        guard !output.isEmpty else { throw SettingError("output", "is empty; name the output file") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SettingError("output", "'\(output)' is a directory, not a file")
        }
        try Check.outputDirectory(URL(fileURLWithPath: output).deletingLastPathComponent().path, "output")
        if let threads = runtime.threads { Runtime.threadCount = threads }

        let requests = try RecordReader.read(URL(fileURLWithPath: input), ScoringRequest.init)
        guard !requests.isEmpty else { throw DataError(file: input, message: "no chains to score") }
        let trained: LoadedPRM
        do { trained = try LoadedPRM.load(URL(fileURLWithPath: prm), rewardModel: rewardModel, device: device) } catch {
            throw SettingError("prm", "cannot load '\(prm)': \(error)")
        }
        if !trained.readsImages, requests.contains(where: { $0.imagePath != nil }) {
            FileHandle.standardError.write(Data("notice: chains name images; the PRM's backbone is text-only, so it ignores them\n".utf8))
        }
        // Chains of one question (and image) go through one trie, in the order the questions first appear.
        struct Question: Hashable { let text: String, image: String? }
        var byQuestion: [Question: [Int]] = [:], order: [Question] = []
        for (i, r) in requests.enumerated() {
            let q = Question(text: r.question, image: r.imagePath)
            if byQuestion[q] == nil { order.append(q) }
            byQuestion[q, default: []].append(i)
        }
        let terminal = TerminalLog()
        var logits = [[Double]](repeating: [], count: requests.count)
        let meter = ProgressMeter(total: order.count, done: 0, unit: "questions")
        for (n, question) in order.enumerated() {
            let members = byQuestion[question]!
            let image = question.image.map { PromptImages.location(of: $0, inDataFile: input) }
            let scored: [[Double]]
            do {
                scored = try PromptImages.reading(file: input, record: members[0], field: "image_path") {
                    switch trained {
                    case .scalar(let t):
                        return try t.stepLogits(prefixTexts: members.map { i in
                            requests[i].steps.map { TrainedPRM.prefixTexts(question: question.text, steps: $0) }
                                ?? TrainedPRM.prefixTexts(question: question.text, candidate: requests[i].response!, splitter: split)
                        }, image: image)
                    case .generative(let t):
                        // One conversation per chain, as `evaluate` reads a candidate.
                        return try members.enumerated().map { n, i in
                            do {
                                return try t.stepLogits(question: question.text, candidates: [requests[i].response ?? ""],
                                                        steps: requests[i].steps.map { [$0] }, splitter: split, image: image)[0]
                            } catch let e as CandidateTooLong { throw CandidateTooLong(candidate: n, tokens: e.tokens, context: e.context) }
                        }
                    }
                }
            } catch let e as CandidateTooLong {
                throw DataError(file: input, record: members[e.candidate], message: "is \(e.tokens) tokens; the PRM's backbone reads at most \(e.context)")
            }
            for (i, z) in zip(members, scored) {
                guard z.allSatisfy(\.isFinite) else { throw DataError(file: input, record: i, message: "the PRM gives a non-finite step score (\(z))") }
                logits[i] = z
            }
            terminal.progress("scored " + meter.line(at: n + 1))
        }
        terminal.finish()
        let objects = zip(requests, logits).map { r, z -> [String: Any] in
            var object: [String: Any] = ["step_scores": z.map { 1 / (1 + exp(-$0)) }, "score": aggregation.score(logits: z)]
            if let id = r.id { object["id"] = id.foundationValue }
            return object
        }
        try AtomicFile.writeJSONLines(objects, to: URL(fileURLWithPath: output))
        print("scored \(requests.count) chains of \(order.count) questions: \(output)")
    }
}
