import Foundation

/// Whether a response's final answer is the reference answer, and which rule said so.
public struct Verdict: Codable, Equatable, Sendable {
    public let correct: Bool
    /// `option`, `number`, `unit`, `structure` (interval, tuple or set), `exact`, `no-answer`, or
    /// whatever a fallback judge names itself (`llm`).
    public let rule: String

    public init(correct: Bool, rule: String) {
        self.correct = correct
        self.rule = rule
    }
}

/// The rule-based judge of Monte-Carlo labelling and candidate generation (METHOD.md §6): the
/// response's final answer (`FinalAnswer.extract`) against the reference, both in
/// `FinalAnswer.normalize`'s canonical form. Rules, in order: a reference that is an option
/// letter is matched as one ("(B)", "B." and "option b" are B); two numbers agree to a relative
/// 1e-6 ("0.5", "1/2", "\frac{1}{2}", "50%" of nothing else, "1,000 m"), and their units must
/// agree where both give one (rule `unit` when they do not); intervals, tuples and
/// sets agree entry by entry; otherwise the canonical strings must be equal. Two free-form texts
/// that differ are left undecided (nil): an LLM judge may decide them.
public enum AnswerJudge {
    public static func judge(response: String, reference: String) -> Verdict? {
        guard let stated = FinalAnswer.extract(response) else { return Verdict(correct: false, rule: "no-answer") }
        return compare(answer: stated, reference: reference)
    }

    /// As `judge`, but only an answer the response states explicitly counts
    /// (`FinalAnswer.explicit`); without one the verdict is `no-answer`, wrong.
    public static func judgeExplicit(response: String, reference: String, questionHasOptions: Bool) -> Verdict? {
        guard let stated = FinalAnswer.explicit(response, questionHasOptions: questionHasOptions) else {
            return Verdict(correct: false, rule: "no-answer")
        }
        return compare(answer: stated, reference: reference)
    }

    /// An extracted answer against the reference.
    public static func compare(answer: String, reference: String) -> Verdict? {
        let expected = FinalAnswer.normalize(reference), given = FinalAnswer.normalize(answer)
        if let letter = FinalAnswer.optionLetter(expected), letter == expected {
            return Verdict(correct: given == letter, rule: "option")
        }
        if let a = numeric(expected) {
            guard let b = numeric(given) else { return Verdict(correct: false, rule: "number") }
            // Units must agree where both sides give one: "5 cm" is not "5 m".
            if let u = FinalAnswer.unit(of: reference), let v = FinalAnswer.unit(of: answer), u != v {
                return Verdict(correct: false, rule: "unit")
            }
            return Verdict(correct: abs(a - b) <= 1e-6 * max(1, abs(a)), rule: "number")
        }
        if let open = expected.first, "([{".contains(open), expected.count > 2 {
            return Verdict(correct: given == expected, rule: "structure")
        }
        if given == expected { return Verdict(correct: true, rule: "exact") }
        return nil
    }

    /// The value of a canonical number (normalize writes numbers as their shortest decimal).
    private static func numeric(_ canonical: String) -> Double? {
        guard canonical.range(of: #"^-?\d+(?:\.\d+)?(?:e[-+]?\d+)?$"#, options: .regularExpression) != nil else { return nil }
        return Double(canonical)
    }
}
