import Foundation
import PRM
import Torch

/// A question with the chains to label.
public struct ChainsToLabel {
    public var question: QuestionRecord
    public var chains: [(text: String, correct: Bool)]

    public init(question: QuestionRecord, chains: [(text: String, correct: Bool)]) {
        self.question = question
        self.chains = chains
    }
}

/// One labelled step prefix: question `record`'s chain `chain` through step `step` (0-based);
/// `score` of `times` samples reached the answer (the chain itself counts as the first).
public struct LabelledPrefix: Codable, Equatable {
    public var record: Int, chain: Int, step: Int
    public var score: Int, times: Int
    /// Rollouts that stated no final answer (counted wrong); absent in older journals.
    public var noAnswer: Int?
    public var accuracy: Double { Double(score) / Double(times) }
}

/// DreamPRM's Monte-Carlo step labels (METHOD.md §6): for every step prefix of every chain,
/// rollouts from the prefix, judged against the answer; accuracy = correct / total. Adaptive as
/// the reference: the prefix starts with its chain's own outcome as one sample, and sampling
/// goes on (in rounds of up to `roundSize`) while there are fewer than 4 samples or the prefix
/// is mixed (0 < accuracy < 1), never past `maxRollouts` (which may be below 4). A rollout counts
/// as right only when its continuation states a final answer that is the reference (the
/// verdict `no-answer` is wrong and counted in `noAnswer`). Each labelled prefix is journalled as it
/// finishes; a resumed run labels only what is missing, with the same seeds.
public struct MonteCarloLabelling {
    public let policy: Policy
    public let judge: Judge
    public let sampling: ChainSampling
    public let maxRollouts: Int
    public var roundSize = 4
    public static let minimumSamples = 4

    public init(policy: Policy, judge: Judge, sampling: ChainSampling, maxRollouts: Int) {
        self.policy = policy
        self.judge = judge
        self.sampling = sampling
        self.maxRollouts = maxRollouts
    }

    /// Where each chain's steps are (the v1 splitter, else the generic one); nil: no steps.
    public static func steps(of chain: String) -> SplitChain? {
        let v1 = StepSplitter.v1.split(chain)
        if v1.count > 0 { return v1 }
        let generic = StepSplitter.generic.split(chain)
        return generic.count > 0 ? generic : nil
    }

    /// The label of chain `j` of `item` (question `record`) through step `k`.
    public func label(_ item: ChainsToLabel, record: Int, chain j: Int, step k: Int, split: SplitChain, image: URL?) throws -> LabelledPrefix {
        let q = item.question
        let prefix = split.prefix(through: k) + "\n\n"
        var score = item.chains[j].correct ? 1 : 0, times = 1, round = 0, noAnswer = 0
        while times < maxRollouts && (times < Self.minimumSamples || (score > 0 && score < times)) {
            let n = min(times < Self.minimumSamples ? Self.minimumSamples - times : roundSize, maxRollouts - times)
            let seed = WorkSeed.of(sampling.seed, ["rollouts", q.id, "\(j)", "\(k)", "\(round)"])
            let request = PolicyRequest(userTurn: sampling.prompt.userTurn(q.question), image: image, assistantPrefix: prefix, count: n,
                                        sampling: sampling.parameters(seed: seed))
            for continuation in try policy.sample(request) {
                // The answer must be in the continuation: a step marker or an intermediate result
                // in the prefix is not one.
                let verdict = try judge.verdict(question: q.question, response: continuation, reference: q.answer,
                                                explicitOnly: true)
                if verdict.correct { score += 1 }
                if verdict.rule == "no-answer" { noAnswer += 1 }
            }
            times += n
            round += 1
        }
        return LabelledPrefix(record: record, chain: j, step: k, score: score, times: times, noAnswer: noAnswer)
    }

    /// Labels every step prefix not yet in `journal`.
    public func run(_ items: [ChainsToLabel], images: [URL?], journal: JSONLinesJournal<LabelledPrefix>,
                    progress: @escaping (String) -> Void) throws {
        struct Key: Hashable { let record: Int, chain: Int, step: Int }
        let done = Set(journal.lines.map { Key(record: $0.record, chain: $0.chain, step: $0.step) })
        var work: [(Int, Int, Int, SplitChain)] = []
        for (i, item) in items.enumerated() {
            for (j, chain) in item.chains.enumerated() {
                guard let split = Self.steps(of: chain.text) else { continue }
                for k in 0..<split.count where !done.contains(Key(record: i, chain: j, step: k)) { work.append((i, j, k, split)) }
            }
        }
        let meter = ProgressMeter(total: done.count + work.count, done: done.count, unit: "prefixes")
        // Prefixes are independent (each one's seeds name it), so a policy that serves several
        // requests at once labels that many prefixes side by side. Finished labels are journalled
        // in work order (one that finishes early waits for those before it), so the journal is
        // the same file however the requests interleave.
        let workers = min(policy.concurrentRequests, judge.fallback?.concurrentRequests ?? .max, work.count)
        let lock = NSLock(), finished = DispatchGroup()
        var next = 0, written = 0, failure: Error?
        var waiting: [Int: LabelledPrefix] = [:]
        func labelPrefixes() {
            while true {
                let taken: Int? = lock.withLock {
                    guard failure == nil, next < work.count else { return nil }
                    next += 1
                    return next - 1
                }
                guard let n = taken else { return }
                let (i, j, k, split) = work[n]
                do {
                    let line = try label(items[i], record: i, chain: j, step: k, split: split, image: images[i])
                    try lock.withLock {
                        waiting[n] = line
                        while let ready = waiting.removeValue(forKey: written) {
                            try journal.append(ready)
                            written += 1
                            progress(meter.advance())
                        }
                    }
                } catch {
                    lock.withLock { if failure == nil { failure = error } }
                    return
                }
            }
        }
        if workers <= 1 {
            labelPrefixes()
        } else {
            for _ in 0..<workers {
                finished.enter()
                Thread { labelPrefixes(); finished.leave() }.start()
            }
            finished.wait()
        }
        if let failure { throw failure }
    }
}

/// What `dreamprm label` writes from the labelled prefixes: v1 training records, at most
/// `perDomain` per domain (mixed-accuracy prefixes first, then the rest, each in question,
/// chain and step order), and every fully labelled chain as a 1.5 conversation whose steps are
/// `+` when some rollout from them reached the answer (accuracy > 0) and `-` otherwise.
public enum LabelOutputs {
    /// The 1.5 conversations' system prompt: the process-supervision prompt of DreamPRM-1.5's data.
    public static let processSupervisionPrompt = """
        You are an advanced AI assistant, designed to serve as a process supervision model. In this task, I will provide a problem statement followed by the first step of the solution process. For each subsequent turn, I will give you a new step in the solution. Your role is to assess whether the solution process is correct up to the current step.

        - In the **first round**, I will input the problem and the first step of the solution process.
        - In **each subsequent round**, I will provide the next step in the solution.

        For each step, you should:
        - Respond with **"+"** if you believe the solution process is correct up to this step.
        - Respond with **"-"** if you detect any issues or errors in the process up to this step.

        Please note:
        - Only respond with **"+"** or **"-"**. Do not provide any additional explanations, comments, or justifications.

        Your task is to verify the accuracy and correctness of each step in the given solution process.
        """

    public static func v1Records(_ items: [ChainsToLabel], labels: [LabelledPrefix], perDomain: Int?) -> [[String: Any]] {
        let ordered = labels.sorted { ($0.record, $0.chain, $0.step) < ($1.record, $1.chain, $1.step) }
        let mixed = ordered.filter { $0.score > 0 && $0.score < $0.times }, pure = ordered.filter { $0.score == 0 || $0.score == $0.times }
        var kept: [String: Int] = [:], chosen: [LabelledPrefix] = []
        for l in mixed + pure {
            let domain = items[l.record].question.dataset
            if let cap = perDomain, kept[domain, default: 0] >= cap { continue }
            kept[domain, default: 0] += 1
            chosen.append(l)
        }
        return chosen.sorted { ($0.record, $0.chain, $0.step) < ($1.record, $1.chain, $1.step) }.map { l in
            let q = items[l.record].question
            let split = MonteCarloLabelling.steps(of: items[l.record].chains[l.chain].text)!
            let steps = split.text[split.stepRanges[0].lowerBound..<split.stepRanges[l.step].upperBound]
            var record: [String: Any] = ["id": "\(q.id)-\(l.chain)", "sid": l.step + 1, "input": q.question, "add": String(steps),
                                         "ground_truth": q.answer, "dataset": q.dataset, "score": l.score, "times": l.times,
                                         "accuracy": l.accuracy]
            record["image_path"] = q.imagePath
            return record
        }
    }

    public static func conversations(_ items: [ChainsToLabel], labels: [LabelledPrefix]) -> [[String: Any]] {
        let byChain = Dictionary(grouping: labels) { [$0.record, $0.chain] }
        return items.enumerated().flatMap { i, item in
            item.chains.indices.compactMap { j -> [String: Any]? in
                guard let split = MonteCarloLabelling.steps(of: item.chains[j].text),
                      let steps = byChain[[i, j]], steps.count == split.count else { return nil }
                // The steps as evaluation cuts a candidate (its final-answer line in the last step).
                let chain = GenerativeChain(system: processSupervisionPrompt, question: item.question.question,
                                            response: item.chains[j].text, splitter: .v1)
                var turns: [[String: String]] = [["from": "system", "value": processSupervisionPrompt],
                                                 ["from": "human", "value": GenerativeChain.questionHeading + chain.question]]
                for l in steps.sorted(by: { $0.step < $1.step }) {
                    turns.append(["from": "human", "value": chain.steps[l.step]])
                    turns.append(["from": "gpt", "value": l.score > 0 ? "+" : "-"])
                }
                var record: [String: Any] = ["id": "\(item.question.id)-\(j)", "conversations": turns, "true_false": item.chains[j].correct,
                                             "response": item.chains[j].text]
                record["image"] = item.question.imagePath
                return record
            }
        }
    }
}
