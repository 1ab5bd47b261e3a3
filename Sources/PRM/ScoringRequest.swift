import Foundation

/// One chain to score (`dreamprm score`): a question with its steps given, or a response the
/// step splitter cuts; an id and an image path are carried through.
public struct ScoringRequest {
    public var id: JSONValue?
    public var question: String
    public var steps: [String]?
    public var response: String?
    public var imagePath: String?

    public init(_ f: RecordFields) throws {
        id = f.fields["id"]
        question = try f.string("question")
        imagePath = try f.optionalImagePath("image_path")
        if f.has("steps") {
            steps = try f.array("steps").enumerated().map { i, v in
                guard case .string(let s) = v else { throw f.error("steps[\(i)]", "expected a string, found \(v.typeName)") }
                return s
            }
            guard !(steps!.isEmpty) else { throw f.error("steps", "is empty") }
            guard !f.has("response") else { throw f.error("response", "give either steps or a response, not both") }
        } else {
            guard f.has("response") else { throw f.error("steps", "missing (give steps, or a response to split)") }
            response = try f.string("response")
        }
    }
}
