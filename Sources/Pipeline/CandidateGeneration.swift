import Foundation
import Models
import PRM
import Torch

/// Seeds of sampled work, derived from the run's seed and the work's identity (a question id,
/// a chain, a step, a round), so a resumed or reordered run samples exactly what a whole one does.
public enum WorkSeed {
    public static func of(_ seed: UInt64, _ parts: [String]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a over the parts, then SplitMix64 with the seed
        for byte in parts.joined(separator: "\u{1F}").utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        var g = SplitMix64(seed: seed ^ h)
        return g.next()
    }
}

/// One line of `dreamprm candidates`' output: a best-of-N test record (`evaluate` reads it)
/// with the question's id, answer and domain, and the rule that judged each candidate.
public struct CandidateSet: Codable, Equatable {
    public var id: String
    public var question: String
    public var answer: String
    public var dataset: String
    public var imagePath: String?
    public var candidates: [String]
    public var trueFalse: [Bool]
    public var judgeRules: [String]
    public var policy: String

    enum CodingKeys: String, CodingKey {
        case id, question, answer, dataset, candidates, policy
        case imagePath = "image_path", trueFalse = "true_false", judgeRules = "judge_rules"
    }
}

/// How chains are sampled from a policy.
public struct ChainSampling {
    public var prompt: ReasoningPrompt = .structured
    public var temperature = 0.7
    public var topP: Double? = 0.95
    public var maxTokens = 512
    public var seed: UInt64 = 0

    public init() {}

    func parameters(seed: UInt64) -> SamplingParameters {
        SamplingParameters(maxTokens: maxTokens, temperature: temperature, topP: topP, seed: seed)
    }
}

/// `dreamprm candidates`: N chains per question from a policy, judged against the answer,
/// one line per question written (and flushed) as it finishes; a resumed run skips the
/// questions already written.
public struct CandidateGeneration {
    public let policy: Policy
    public let judge: Judge
    public let sampling: ChainSampling
    public let count: Int

    public init(policy: Policy, judge: Judge, sampling: ChainSampling, count: Int) {
        self.policy = policy
        self.judge = judge
        self.sampling = sampling
        self.count = count
    }

    /// The chains of one question, judged.
    public func candidates(for q: QuestionRecord, image: URL?) throws -> CandidateSet {
        let request = PolicyRequest(userTurn: sampling.prompt.userTurn(q.question), image: image, count: count,
                                    sampling: sampling.parameters(seed: WorkSeed.of(sampling.seed, ["chains", q.id])))
        let chains = try policy.sample(request)
        let verdicts = try chains.map { try judge.verdict(question: q.question, response: $0, reference: q.answer) }
        return CandidateSet(id: q.id, question: q.question, answer: q.answer, dataset: q.dataset, imagePath: q.imagePath,
                            candidates: chains, trueFalse: verdicts.map(\.correct), judgeRules: verdicts.map(\.rule), policy: policy.name)
    }

    /// The candidates of every question not yet in `output`; `images[i]` is question i's image.
    public func run(questions: [QuestionRecord], images: [URL?], questionsFile: String, output: URL, resume: Bool,
                    progress: (String) -> Void) throws {
        try QuestionRecord.checkUniqueIDs(questions, file: questionsFile)
        let journal = try JSONLinesJournal<CandidateSet>(output, resume: resume)
        let done = Set(journal.lines.map(\.id))
        let todo = questions.indices.filter { !done.contains(questions[$0].id) }
        let meter = ProgressMeter(total: questions.count, done: questions.count - todo.count, unit: "questions")
        for i in todo {
            try journal.append(try candidates(for: questions[i], image: images[i]))
            progress(meter.advance())
        }
    }
}

extension QuestionRecord {
    static func checkUniqueIDs(_ questions: [QuestionRecord], file: String) throws {
        var seen: [String: Int] = [:]
        for (i, q) in questions.enumerated() {
            if let first = seen.updateValue(i, forKey: q.id) {
                throw DataError(file: file, record: i, field: "id", message: "'\(q.id)' is also record \(first)'s")
            }
        }
    }
}
