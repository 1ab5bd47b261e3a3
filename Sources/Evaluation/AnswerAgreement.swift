import PRM

/// How often final-answer extraction and the judge agree with human correctness labels, two ways:
/// the judge's verdict (what Monte-Carlo labelling and the candidates' `correct` use), and
/// whether the answer's canonical form equals the reference's (what self-consistency votes on:
/// two equal answers count as one only when their canonical forms are equal).
public struct AnswerAgreement: Codable, Equatable, Sendable {
    public struct Tally: Codable, Equatable, Sendable {
        public var cases = 0, judgeAgrees = 0, voteAgrees = 0
    }

    public struct Disagreement: Codable, Equatable, Sendable {
        public let id, kind, reference, response: String
        public let label: Bool
        /// The judge's verdict and rule; nil where it leaves the pair undecided.
        public let judged: Bool?
        public let rule: String?
        public let extracted, canonicalAnswer, canonicalReference: String?
    }

    public var total = Tally()
    public var byKind: [String: Tally] = [:]
    public var disagreements: [Disagreement] = []

    /// Fractions of all cases on which the judge, and the canonical forms, agree with the label.
    public var judgeRate = 0.0, voteRate = 0.0

    public static func measure(_ cases: [LabelledAnswer]) -> AnswerAgreement {
        var report = AnswerAgreement()
        for c in cases {
            let verdict = AnswerJudge.judge(response: c.response, reference: c.reference)
            let extracted = FinalAnswer.extract(c.response)
            let answer = extracted.map(FinalAnswer.normalize), reference = FinalAnswer.normalize(c.reference)
            let judgeAgrees = verdict?.correct == c.label
            let voteAgrees = (answer == reference) == c.label
            for key in [nil, c.kind] as [String?] {
                var tally = key.map { report.byKind[$0] ?? Tally() } ?? report.total
                tally.cases += 1
                if judgeAgrees { tally.judgeAgrees += 1 }
                if voteAgrees { tally.voteAgrees += 1 }
                if let key { report.byKind[key] = tally } else { report.total = tally }
            }
            if !judgeAgrees || !voteAgrees {
                report.disagreements.append(Disagreement(
                    id: c.id, kind: c.kind, reference: c.reference, response: c.response, label: c.label,
                    judged: verdict?.correct, rule: verdict?.rule, extracted: extracted,
                    canonicalAnswer: answer, canonicalReference: reference))
            }
        }
        if report.total.cases > 0 {
            report.judgeRate = Double(report.total.judgeAgrees) / Double(report.total.cases)
            report.voteRate = Double(report.total.voteAgrees) / Double(report.total.cases)
        }
        return report
    }
}
