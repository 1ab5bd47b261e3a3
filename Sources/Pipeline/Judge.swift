import Evaluation
import Foundation
import Models

/// Decides whether a response reaches the reference answer: the rules of `AnswerJudge`
/// first; what they leave undecided (two free-form texts that differ) goes to an LLM judge
/// where one is given, and is wrong (rule `exact`) where none is.
public final class Judge {
    public let fallback: Policy?

    public init(fallback: Policy? = nil) { self.fallback = fallback }

    public func verdict(question: String, response: String, reference: String) throws -> Verdict {
        if let decided = AnswerJudge.judge(response: response, reference: reference) { return decided }
        guard let fallback, let answer = FinalAnswer.extract(response) else { return Verdict(correct: false, rule: "exact") }
        let ask = """
            Question: \(question)
            Reference answer: \(reference)
            Given answer: \(answer)
            Does the given answer mean the same as the reference answer? Reply with one word: yes or no.
            """
        let reply = try fallback.sample(PolicyRequest(userTurn: ask, count: 1, sampling: SamplingParameters(maxTokens: 4, temperature: 0)))[0]
        return Verdict(correct: reply.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().hasPrefix("yes"), rule: "llm")
    }
}
