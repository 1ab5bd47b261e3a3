import Foundation

/// A DreamPRM (v1) training record: one step prefix of a policy's chain with its Monte-Carlo
/// label. The PRM reads `input + "\n\n" + add` (question, then steps 1…k).
public struct V1TrainRecord: Equatable {
    public var id: String?
    /// The step this prefix ends with (1-based).
    public var sid: Int?
    /// The question.
    public var input: String
    /// The chain's steps up to this prefix.
    public var add: String
    public var groundTruth: String?
    public var imagePath: String?
    /// The domain the record counts toward.
    public var dataset: String
    public var score: Double?
    public var times: Double?
    /// Monte-Carlo estimate score/times ∈ [0, 1].
    public var accuracy: Double

    public init(_ f: RecordFields) throws {
        id = try f.identifier("id")
        sid = try f.optionalInteger("sid", minimum: 1)
        input = try f.string("input")
        add = try f.string("add")
        groundTruth = try f.optionalString("ground_truth")
        imagePath = try f.optionalImagePath("image_path")
        dataset = try f.nonEmptyString("dataset")
        score = try f.optionalNumber("score")
        times = try f.optionalNumber("times")
        accuracy = try f.number("accuracy")
        guard (0...1).contains(accuracy) else { throw f.error("accuracy", "\(accuracy) is outside [0, 1]") }
    }

    public var prompt: String { input + "\n\n" + add }
}

/// A DreamPRM (v1) meta record: a whole chain (question and response in `input`) with one
/// correctness label.
public struct V1MetaRecord: Equatable {
    public var id: String?
    public var trueFalse: Bool
    public var input: String
    public var imagePath: String?

    public init(_ f: RecordFields) throws {
        id = try f.identifier("id")
        trueFalse = try f.bool("true_false")
        input = try f.string("input")
        imagePath = try f.optionalImagePath("image_path")
    }
}

/// A DreamPRM-1.5 record: a conversation of system prompt, question, then alternating
/// step (human) and `+`/`-` judgement (gpt) turns.
public struct ConversationRecord: Equatable {
    public struct Turn: Equatable {
        public enum Speaker: String { case system, human, gpt }
        public var from: Speaker
        public var value: String
    }

    public var id: String?
    public var image: String?
    public var turns: [Turn]
    public var trueFalse: Bool?
    /// The policy's final response, where the file keeps it (the released 1.5 meta file does).
    public var response: String?

    public init(_ f: RecordFields) throws {
        id = try f.identifier("id")
        image = try f.optionalImagePath("image")
        response = try f.optionalString("response")
        trueFalse = try f.optionalBool("true_false")
        turns = try f.array("conversations").enumerated().map { i, v in
            let field = "conversations[\(i)]"
            guard case .object(let o) = v else { throw f.error(field, "expected an object, found \(v.typeName)") }
            guard case .string(let from) = o["from"] ?? .null, let speaker = Turn.Speaker(rawValue: from) else {
                throw f.error("\(field).from", "must be \"system\", \"human\" or \"gpt\"")
            }
            guard case .string(let value) = o["value"] ?? .null else { throw f.error("\(field).value", "missing or not a string") }
            return Turn(from: speaker, value: value)
        }
        guard turns.contains(where: { $0.from == .human }) else { throw f.error("conversations", "has no human turn") }
        var humanTurns = 0
        for (i, t) in turns.enumerated() {
            if t.from == .human { humanTurns += 1 }
            guard t.from == .gpt else { continue }
            guard t.value == "+" || t.value == "-" else {
                throw f.error("conversations[\(i)].value", "a judgement must be \"+\" or \"-\", found \(t.value.debugDescription)")
            }
            // The PRM reads the question in a turn of its own, as evaluation writes it.
            guard humanTurns >= 2 else {
                throw f.error("conversations[\(i)]", "judges the question turn; put the question in its own human turn and each step in the turns after it")
            }
        }
    }

    public var systemPrompt: String? { turns.first { $0.from == .system }?.value }
    /// The first human turn: the question.
    public var question: String { turns.first { $0.from == .human }!.value }
    /// The steps (human turns after the question) with their labels where given (true = `+`).
    public var labelledSteps: [(step: String, label: Bool?)] {
        var out: [(step: String, label: Bool?)] = []
        var seenQuestion = false
        for t in turns {
            switch t.from {
            case .system: continue
            case .human:
                if seenQuestion { out.append((t.value, nil)) } else { seenQuestion = true }
            case .gpt:
                if !out.isEmpty { out[out.count - 1].label = t.value == "+" }
            }
        }
        return out
    }
}

/// A best-of-N test record: N candidate chains for one question with their correctness.
public struct BestOfNRecord: Equatable {
    /// The question's id where the file gives one (`dreamprm candidates` writes it).
    public var id: String?
    public var question: String
    public var imagePath: String?
    public var candidates: [String]
    public var trueFalse: [Bool]
    public var answer: String?
    public var dataset: String?
    /// Per candidate, its steps where the file gives them (a conversation's turns); nil: the
    /// candidates are cut by a splitter.
    public var candidateSteps: [[String]]?
    /// Per candidate: the index of the first wrong step, or nil when all steps are right
    /// (ProcessBench-style step-level evaluation; absent in most files).
    public var firstWrongStep: [Int?]?

    public init(question: String, candidates: [String], trueFalse: [Bool], imagePath: String? = nil, answer: String? = nil,
                dataset: String? = nil, firstWrongStep: [Int?]? = nil) {
        self.question = question
        self.candidates = candidates
        self.trueFalse = trueFalse
        self.imagePath = imagePath
        self.answer = answer
        self.dataset = dataset
        self.firstWrongStep = firstWrongStep
    }

    public init(_ f: RecordFields) throws {
        id = try f.identifier("id")
        question = try f.string("question")
        imagePath = try f.optionalImagePath("image_path")
        candidates = try f.array("candidates").enumerated().map { i, v in
            guard case .string(let s) = v else { throw f.error("candidates[\(i)]", "expected a string, found \(v.typeName)") }
            return s
        }
        trueFalse = try f.array("true_false").enumerated().map { i, v in
            guard case .bool(let b) = v else { throw f.error("true_false[\(i)]", "expected true or false, found \(v.typeName)") }
            return b
        }
        guard !candidates.isEmpty else { throw f.error("candidates", "is empty") }
        guard trueFalse.count == candidates.count else {
            throw f.error("true_false", "has \(trueFalse.count) labels for \(candidates.count) candidates")
        }
        answer = try f.optionalString("answer")
        dataset = try f.optionalString("dataset")
        if dataset?.isEmpty == true { throw f.error("dataset", "is empty; leave the field out or name the domain") }
        if f.has("first_wrong_step") {
            firstWrongStep = try f.array("first_wrong_step").enumerated().map { i, v in
                switch v {
                case .null: return nil
                case .number(let n) where n >= 0:
                    guard let index = RecordFields.wholeNumber(n) else { fallthrough }
                    return index
                default: throw f.error("first_wrong_step[\(i)]", "expected a step index or null, found \(v.typeName)")
                }
            }
            guard firstWrongStep!.count == candidates.count else {
                throw f.error("first_wrong_step", "has \(firstWrongStep!.count) entries for \(candidates.count) candidates")
            }
        }
    }
}

/// A question for a policy to answer (`dreamprm candidates`, `dreamprm label`).
public struct QuestionRecord: Equatable, Sendable {
    public var id: String
    public var question: String
    /// The reference answer the judge compares final answers with.
    public var answer: String
    public var dataset: String
    public var imagePath: String?

    public init(id: String, question: String, answer: String, dataset: String, imagePath: String? = nil) {
        (self.id, self.question, self.answer, self.dataset, self.imagePath) = (id, question, answer, dataset, imagePath)
    }

    public init(_ f: RecordFields) throws {
        guard let id = try f.identifier("id") else { throw f.error("id", "missing: each question needs an id (outputs and resuming are keyed by it)") }
        self.id = id
        question = try f.nonEmptyString("question")
        answer = try f.nonEmptyString("answer")
        dataset = try f.nonEmptyString("dataset")
        imagePath = try f.optionalImagePath("image_path")
    }
}

/// A model's answer with the reference and a correctness label: one case of the answer-agreement
/// check (`dreamprm answers`), which asks whether extraction and the judge agree with the label.
public struct LabelledAnswer: Equatable, Sendable {
    public var id: String
    public var reference: String
    /// The model's text: a whole solution or just its answer.
    public var response: String
    public var label: Bool
    /// The form the case tests (`latex`, `units`, `several`, `text`, `relations`); `other` if not given.
    public var kind: String

    public init(_ f: RecordFields) throws {
        id = try f.identifier("id") ?? String(f.index)
        reference = try f.nonEmptyString("reference")
        response = try f.string("response")
        label = try f.bool("label")
        kind = try f.optionalString("kind") ?? "other"
    }
}
