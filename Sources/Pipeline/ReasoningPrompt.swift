/// How a policy is asked to reason (METHOD.md §6).
public enum ReasoningPrompt: String, CaseIterable, Sendable {
    /// The papers' five steps (restate; evidence from the image; background knowledge; reason;
    /// summarise and conclude), then `Final answer: …`; the step markers are what the v1
    /// splitter cuts.
    case structured
    /// The question, and the `Final answer: …` line to end with.
    case plain

    public func userTurn(_ question: String) -> String {
        switch self {
        case .structured:
            """
            You have been given a question that involves both an image and a text. Your task is to analyze the question by following exactly five steps:

            Step 1: Restate the question.
              - Clearly rephrase or clarify the question in your own words.

            Step 2: Gather evidence from the image.
              - Describe relevant visual details (e.g., objects, people, locations, interactions) that may help answer the question.

            Step 3: Identify any necessary background knowledge.
              - List any general facts or assumptions required to answer the question.

            Step 4: Reason using the available evidence.
              - Integrate the image, text, and background knowledge to form a coherent reasoning path.

            Step 5: Summarize and conclude.
              - Provide a concise answer, supported by the reasoning in previous steps.

            Finally, report your answer in the following format:

            Final answer: ...

            Question: \(question)
            """
        case .plain:
            "\(question)\n\nReason step by step, then end with a line of the form \"Final answer: ...\"."
        }
    }
}
