import Foundation
import PRM

/// Best-of-N test questions, from best-of-N records or from 1.5-style conversation records
/// grouped by id (each record one labelled response; the released 1.5 meta file has 4 per id).
public enum TestSet {
    public enum Format: String, CaseIterable, Sendable {
        case bestOfN = "best-of-n"
        case conversations
    }

    public static func read(_ url: URL, format: Format) throws -> [BestOfNRecord] {
        switch format {
        case .bestOfN:
            return try RecordReader.read(url, BestOfNRecord.init)
        case .conversations:
            var groups: [String: [(ConversationRecord, Int)]] = [:], order: [String] = []
            var index = 0
            try RecordReader.forEach(in: url) { f in
                defer { index += 1 }
                let r = try ConversationRecord(f)
                guard let id = r.id else { throw f.error("id", "missing: responses are grouped into questions by id") }
                guard r.trueFalse != nil else { throw f.error("true_false", "missing: best-of-N needs each response's correctness") }
                if groups[id] == nil { order.append(id) }
                groups[id, default: []].append((r, index))
            }
            return order.map { id in
                let rs = groups[id]!.map(\.0), chains = rs.map(GenerativeChain.init)
                // The candidates keep their conversations' steps: re-splitting `response` would cut
                // many of them elsewhere than their turns do.
                var record = BestOfNRecord(question: chains[0].question, candidates: rs.map { r in r.response ?? r.labelledSteps.map(\.step).joined(separator: "\n\n") },
                                           trueFalse: rs.map { $0.trueFalse! }, imagePath: rs[0].image, dataset: subject(ofID: id))
                record.candidateSteps = chains.map(\.steps)
                return record
            }
        }
    }

    /// "test_Art_Theory_425" → "Art_Theory": the id without its split prefix and number.
    static func subject(ofID id: String) -> String {
        var parts = id.split(separator: "_").map(String.init)
        if parts.count > 1, parts.last!.allSatisfy(\.isNumber) { parts.removeLast() }
        if parts.count > 1, ["test", "val", "validation", "dev", "train"].contains(parts[0].lowercased()) { parts.removeFirst() }
        return parts.joined(separator: "_")
    }

    /// Candidate sets without PRM scores: correctness, normalised final answers, dataset.
    public static func candidateSets(_ records: [BestOfNRecord]) -> [CandidateSet] {
        records.map { r in
            CandidateSet(dataset: r.dataset ?? "all", correct: r.trueFalse, answers: r.candidates.map(FinalAnswer.normalized(from:)),
                         firstWrongStep: r.firstWrongStep)
        }
    }
}
