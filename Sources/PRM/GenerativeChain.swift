import Foundation

/// A chain as the generative (DreamPRM-1.5) PRM reads it, built the same way for training
/// conversations, meta conversations and best-of-N candidates so that the PRM sees one text in
/// all three: the system prompt, the user turn `### Question:\n{question}`, then per step a user
/// turn with the step and, where the step is judged, an assistant turn with `+` or `-`.
public struct GenerativeChain: Equatable {
    /// What opens the question's user turn (the released data and `dreamprm label` write it).
    public static let questionHeading = "### Question:\n"

    public var system: String?
    /// The question without its heading.
    public var question: String
    public var steps: [String]
    /// Per step: its judgement (true = `+`), nil where the step is not judged.
    public var labels: [Bool?]

    public init(system: String?, question: String, steps: [String], labels: [Bool?]) {
        precondition(steps.count == labels.count, "one label (or nil) per step")
        self.system = system
        self.question = Self.bare(question)
        self.steps = steps
        self.labels = labels
    }

    /// A training conversation, judgements as given.
    public init(_ record: ConversationRecord) {
        let labelled = record.labelledSteps
        self.init(system: record.systemPrompt, question: record.question, steps: labelled.map(\.step), labels: labelled.map(\.label))
    }

    /// A candidate response: its steps as `splitter` finds them (the generic splitter where it
    /// finds none, the whole response where neither does), widened so they cover the whole
    /// response: text before the first step joins it, and text after the last (a `Final answer:`
    /// line the v1 splitter leaves out) joins the last, as the training conversations hold it.
    /// Steps are trimmed of surrounding white space, as `dreamprm label` writes them.
    public init(system: String?, question: String, response: String, splitter: StepSplitter) {
        var split = splitter.split(response)
        if split.count == 0 { split = StepSplitter.generic.split(response) }
        var steps = split.steps.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        if split.count > 0 {
            let before = response[..<split.stepRanges[0].lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            let after = response[split.stepRanges[split.count - 1].upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
            if !before.isEmpty { steps[0] = before + "\n\n" + steps[0] }
            if !after.isEmpty { steps[steps.count - 1] += "\n\n" + after }
        } else {
            steps = [response.trimmingCharacters(in: .whitespacesAndNewlines)]
        }
        self.init(system: system, question: question, steps: steps, labels: steps.map { _ in nil })
    }

    /// Every step judged `+`: how evaluation reads a chain, and so how the meta loss must read
    /// it (a meta chain's own labels never enter the text the PRM is judged on).
    public var judgedAllRight: GenerativeChain {
        var chain = self
        chain.labels = steps.map { _ in true }
        return chain
    }

    /// "### Question:\nQ" and "Q" are one question.
    static func bare(_ question: String) -> String {
        question.hasPrefix(questionHeading) ? String(question.dropFirst(questionHeading.count)) : question
    }
}
