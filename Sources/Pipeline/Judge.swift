import Evaluation
import Foundation
import Models

/// Decides whether a response reaches the reference answer: the rules of `AnswerJudge`
/// first; what they leave undecided (two free-form texts that differ) goes to an LLM judge
/// where one is given, and is wrong (rule `exact`) where none is.
public final class Judge {
    public let fallback: Policy?

    public init(fallback: Policy? = nil) { self.fallback = fallback }

    /// With `explicitOnly` (Monte-Carlo rollouts) only an answer the response states counts
    /// (`FinalAnswer.explicit`); otherwise any answer `FinalAnswer.extract` finds.
    public func verdict(question: String, response: String, reference: String, explicitOnly: Bool = false) throws -> Verdict {
        let options = explicitOnly && FinalAnswer.hasOptions(question)
        let decided = explicitOnly
            ? AnswerJudge.judgeExplicit(response: response, reference: reference, questionHasOptions: options)
            : AnswerJudge.judge(response: response, reference: reference)
        if let decided { return decided }
        let stated = explicitOnly ? FinalAnswer.explicit(response, questionHasOptions: options) : FinalAnswer.extract(response)
        guard let fallback, let answer = stated else { return Verdict(correct: false, rule: "exact") }
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
