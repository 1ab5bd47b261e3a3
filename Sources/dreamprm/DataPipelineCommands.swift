import ArgumentParser
import Foundation
import Pipeline
import PRM
import Torch

private func names(_ original: String) -> NameSpecification {
    [.customLong(original), .customLong(original.replacingOccurrences(of: "_", with: "-"))]
}

/// The policy and sampling flags `candidates` and `label` share.
struct PolicyOptions: ParsableArguments {
    @Option(help: "The policy: a registry name, a Hugging Face directory or a .gguf file.") var policy: String?
    @Option(name: names("policy_url"), help: "An OpenAI-compatible API to use instead, e.g. http://localhost:8000/v1.") var policyURL: String?
    @Option(name: names("policy_model"), help: "The model name the server knows (with --policy_url).") var policyModel: String?
    @Option(name: names("api_key_env"), help: "The environment variable holding the server's API key (sent when set).")
    var apiKeyEnv = "OPENAI_API_KEY"
    @Option(help: "Server requests in flight at once (with --policy_url).") var concurrency = 8
    @Option(name: names("request_timeout"), help: "Seconds before a server request is abandoned and retried.") var requestTimeout = 120.0
    @Option(help: "Retries of a server request after 429, 5xx, a timeout, a dropped connection or an unreadable reply.") var retries = 6
    @Option(name: names("retry_backoff"), help: "Seconds before the first retry (doubling; a Retry-After header wins).") var retryBackoff = 1.0
    @Option(help: "structured (the papers' five steps, then 'Final answer: …') or plain.") var prompt = ReasoningPrompt.structured.rawValue
    @Option(help: "Sampling temperature.") var temperature = 0.7
    @Option(name: names("top_p"), help: "Nucleus sampling mass (1 keeps every token).") var topP = 0.95
    @Option(name: names("max_tokens"), help: "Most new tokens per sample.") var maxTokens = 512
    @Option(help: "rule (rule-based only; an undecided free-form answer counts as wrong) or llm (the policy judges what the rules leave undecided).")
    var judge = "rule"
    @Option(help: "Seed of all sampling: a resumed run samples what an uninterrupted one does.") var seed: UInt64 = 0
    @Flag(help: "Continue an interrupted run's output instead of refusing to touch it.") var resume = false
    @OptionGroup var runtime: RuntimeOptions

    func validated() throws -> ChainSampling {
        guard let prompt = ReasoningPrompt(rawValue: prompt) else { throw SettingError("prompt", "structured or plain, not '\(self.prompt)'") }
        guard ["rule", "llm"].contains(judge) else { throw SettingError("judge", "rule or llm, not '\(judge)'") }
        guard temperature >= 0, temperature.isFinite else { throw SettingError("temperature", "must be ≥ 0, not \(temperature)") }
        guard topP > 0, topP <= 1 else { throw SettingError("top_p", "must be in (0, 1], not \(topP)") }
        try Check.atLeast(maxTokens, 1, "max_tokens")
        if let threads = runtime.threads { try Check.atLeast(threads, 1, "threads") }
        switch (policy, policyURL) {
        case (nil, nil): throw SettingError("policy", "give --policy (a model) or --policy_url with --policy_model (a server)")
        case (.some, .some): throw SettingError("policy", "give --policy or --policy_url, not both")
        case (nil, .some) where policyModel == nil: throw SettingError("policy_model", "missing: --policy_url needs the model name the server serves")
        default: break
        }
        try Check.atLeast(concurrency, 1, "concurrency")
        try Check.atLeast(retries, 0, "retries")
        guard requestTimeout > 0, retryBackoff >= 0 else { throw SettingError("request_timeout", "and --retry_backoff must be positive") }
        var s = ChainSampling()
        (s.prompt, s.temperature, s.topP, s.maxTokens, s.seed) = (prompt, temperature, topP < 1 ? topP : nil, maxTokens, seed)
        return s
    }

    /// The policy, and the judge that falls back on it with `--judge llm`; a server's failed
    /// attempts are logged in `failureLog`.
    func load(failureLog: URL) throws -> (Policy, Judge) {
        let loaded: Policy
        if let url = policyURL, let model = policyModel {
            var server = ServerSettings(url: url, model: model, apiKey: ProcessInfo.processInfo.environment[apiKeyEnv])
            (server.concurrency, server.timeout, server.retries, server.backoff, server.failureLog) = (concurrency, requestTimeout, retries, retryBackoff, failureLog)
            do { loaded = try OpenAIPolicy(server) } catch { throw SettingError("policy_url", "\(error)") }
        } else {
            if let threads = runtime.threads { Runtime.threadCount = threads }
            let name = policy!
            do { loaded = try LocalPolicy(name, device: try Check.device(runtime.device)) } catch {
                throw SettingError("policy", "cannot load '\(name)': \(error)")
            }
        }
        return (loaded, Judge(fallback: judge == "llm" ? loaded : nil))
    }

    /// Where the records' images are, each checked to decode when the policy reads them; a
    /// text-only policy given images says up front that it will not see them.
    func images(_ paths: [String?], inDataFile file: String, policy: Policy, terminal: TerminalLog) throws -> [URL?] {
        if !policy.readsImages && paths.contains(where: { $0 != nil }) {
            terminal.message("notice: \(file) names images; \(described) is a text-only policy, so it will not see them")
        }
        return try RecordImages.locate(paths, inDataFile: file, decode: policy.readsImages)
    }

    /// The policy's name in messages.
    var described: String { policy ?? "\(policyModel ?? "") at \(policyURL ?? "")" }
}

/// `dreamprm candidates`: best-of-N candidate chains from a policy, judged.
struct Candidates: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample N reasoning chains per question from a policy and judge them (the best-of-N test format).",
        discussion: """
            Questions: JSON Lines or a JSON array of {id, question, answer, dataset, image_path?}. Output: JSON Lines, \
            one best-of-N record per question ({id, question, answer, dataset, candidates, true_false, judge_rules, \
            policy}), each written as it finishes, so a killed run continues with --resume. \
            Exit codes: 0 done, 1 failure, 2 bad input.
            """)

    @Option(help: "The questions.") var questions: String
    @Option(help: "Chains per question.") var n = 8
    @Option(help: "Where the candidate sets go (JSON Lines).") var output: String
    @OptionGroup var options: PolicyOptions

    func run() throws {
        let sampling = try options.validated()
        try Check.atLeast(n, 1, "n")
        try Check.inputFile(questions, "questions")
        let records = try RecordReader.read(URL(fileURLWithPath: questions), QuestionRecord.init)
        guard !records.isEmpty else { throw DataError(file: questions, message: "no questions") }
        let (policy, judge) = try options.load(failureLog: URL(fileURLWithPath: output + ".policy-failures.jsonl"))
        let terminal = TerminalLog()
        let images = try options.images(records.map(\.imagePath), inDataFile: questions, policy: policy, terminal: terminal)
        try CandidateGeneration(policy: policy, judge: judge, sampling: sampling, count: n)
            .run(questions: records, images: images, questionsFile: questions, output: URL(fileURLWithPath: output), resume: options.resume,
                 progress: terminal.progress)
        terminal.finish()
        print("candidates of \(records.count) questions: \(output)")
    }
}

/// `dreamprm label`: Monte-Carlo step labels for a policy's chains.
struct Label: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Monte-Carlo step labels: rollouts from every step prefix of every chain (v1 training records and 1.5 conversations).",
        discussion: """
            Chains come from --candidates (what `dreamprm candidates` writes: id, question, answer, dataset, \
            candidates, true_false) or are sampled from --questions (n per question, journalled in OUTPUT.candidates.jsonl). \
            Each labelled prefix is journalled in OUTPUT.progress.jsonl as it finishes; --resume continues from there. \
            At the end OUTPUT gets the v1 training records (JSON array; at most --per_domain per domain, mixed-accuracy \
            prefixes first), --conversations_output the 1.5 conversations (a step is '+' when accuracy > 0) and \
            OUTPUT.report.json the counts. A rollout is right only when its continuation states a final answer \
            (Final answer:, Answer:, \\boxed{}, or an option letter where the question lists options) that is the reference. \
            Exit codes: 0 done, 1 failure, 2 bad input.
            """)

    @Option(help: "Candidate sets (JSON Lines or array) whose chains to label.") var candidates: String?
    @Option(help: "Questions to sample chains for instead ({id, question, answer, dataset, image_path?}).") var questions: String?
    @Option(help: "Chains per question with --questions.") var n = 1
    @Option(help: "Where the v1 training records go (JSON array).") var output: String
    @Option(name: names("conversations_output"), help: "Where the 1.5 conversations go (JSON Lines; default: OUTPUT with .conversations.jsonl).")
    var conversationsOutput: String?
    @Option(name: names("max_rollouts"), help: "Most samples per prefix, the chain itself included.") var maxRollouts = 16
    @Option(name: names("per_domain"), help: "Most training records per domain (default: all).") var perDomain: Int?
    @OptionGroup var options: PolicyOptions

    func run() throws {
        let sampling = try options.validated()
        guard (candidates == nil) != (questions == nil) else { throw SettingError("candidates", "give --candidates or --questions, one of them") }
        try Check.atLeast(maxRollouts, 1, "max_rollouts")
        try Check.atLeast(n, 1, "n")
        if let perDomain { try Check.atLeast(perDomain, 1, "per_domain") }
        let source = candidates ?? questions!
        try Check.inputFile(source, candidates == nil ? "questions" : "candidates")
        let out = URL(fileURLWithPath: output)
        let conversationsURL = URL(fileURLWithPath: conversationsOutput ?? out.deletingPathExtension().path + ".conversations.jsonl")
        // Read and check the input before a model loads.
        let fromQuestions = try questions.map { try RecordReader.read(URL(fileURLWithPath: $0), QuestionRecord.init) }
        let fromCandidates = try candidates.map { try Self.readCandidates($0) }
        let (policy, judge) = try options.load(failureLog: URL(fileURLWithPath: output + ".policy-failures.jsonl"))
        let terminal = TerminalLog()
        var items = fromCandidates ?? []
        let images = try options.images((fromQuestions?.map(\.imagePath) ?? items.map(\.question.imagePath)), inDataFile: source,
                                        policy: policy, terminal: terminal)
        if let fromQuestions {
            guard !fromQuestions.isEmpty else { throw DataError(file: source, message: "no questions") }
            let journal = URL(fileURLWithPath: out.path + ".candidates.jsonl")
            try CandidateGeneration(policy: policy, judge: judge, sampling: sampling, count: n)
                .run(questions: fromQuestions, images: images, questionsFile: source, output: journal, resume: options.resume, progress: terminal.progress)
            let sets = Dictionary(uniqueKeysWithValues: try Self.readCandidates(journal.path).map { ($0.question.id, $0) })
            items = fromQuestions.map { sets[$0.id]! }
        }
        let journal = try JSONLinesJournal<LabelledPrefix>(URL(fileURLWithPath: out.path + ".progress.jsonl"), resume: options.resume)
        try MonteCarloLabelling(policy: policy, judge: judge, sampling: sampling, maxRollouts: maxRollouts)
            .run(items, images: images, journal: journal, progress: terminal.progress)
        terminal.finish()
        let records = LabelOutputs.v1Records(items, labels: journal.lines, perDomain: perDomain)
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: records, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]), to: out)
        let conversations = LabelOutputs.conversations(items, labels: journal.lines)
        try AtomicFile.writeJSONLines(conversations, to: conversationsURL, options: [.sortedKeys, .withoutEscapingSlashes])
        // Rollouts that stated no final answer count as wrong; how many there were says how far
        // the labels lean on that rule (a policy cut short by --max_tokens gives many).
        let rollouts = journal.lines.reduce(0) { $0 + $1.times - 1 }, noAnswer = journal.lines.reduce(0) { $0 + ($1.noAnswer ?? 0) }
        let report: [String: Any] = ["prefixes": journal.lines.count, "questions": items.count, "rollouts": rollouts,
                                     "rollouts_without_final_answer": noAnswer, "training_records": records.count,
                                     "conversations": conversations.count]
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted]), to: URL(fileURLWithPath: output + ".report.json"))
        print("labelled \(journal.lines.count) prefixes of \(items.count) questions (\(rollouts) rollouts, \(noAnswer) without a final answer, counted wrong): \(records.count) training records in \(output), \(conversations.count) conversations in \(conversationsURL.path)")
    }

    /// Candidate sets with the id, answer and domain labelling needs.
    static func readCandidates(_ file: String) throws -> [ChainsToLabel] {
        var items: [ChainsToLabel] = []
        var index = 0
        try RecordReader.forEach(in: URL(fileURLWithPath: file)) { f in
            defer { index += 1 }
            let r = try BestOfNRecord(f)
            guard let answer = r.answer, !answer.isEmpty else { throw f.error("answer", "missing: labelling judges rollouts against it") }
            guard let dataset = r.dataset else { throw f.error("dataset", "missing: labels are kept per domain") }
            items.append(ChainsToLabel(question: QuestionRecord(id: r.id ?? "\(index)", question: r.question, answer: answer, dataset: dataset,
                                                                imagePath: r.imagePath),
                                       chains: zip(r.candidates, r.trueFalse).map { ($0, $1) }))
        }
        guard !items.isEmpty else { throw DataError(file: file, message: "no candidate sets") }
        return items
    }
}
