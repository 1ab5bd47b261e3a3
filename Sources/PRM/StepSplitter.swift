import Foundation

/// A reasoning chain cut into steps. Ranges index the original text, so every prefix is an
/// exact substring of it (the PRM scores "question + response up to step k" verbatim).
public struct SplitChain: Equatable {
    public let text: String
    /// Where each step starts and ends in `text`.
    public let stepRanges: [Range<String.Index>]

    public var question: String { String(text[..<(stepRanges.first?.lowerBound ?? text.endIndex)]) }
    public var steps: [String] { stepRanges.map { String(text[$0]) } }
    public var count: Int { stepRanges.count }

    /// The text up to the end of step k (0-based), as the v1 PRM reads it.
    public func prefix(through k: Int) -> String { String(text[..<stepRanges[k].upperBound]) }
}

/// How a chain is cut into steps.
public enum StepSplitter: Equatable, Sendable {
    /// DreamPRM v1, as the reference splits: markers `Step[\s:]*(\d+)` in any case; the chain
    /// has (at most) as many steps as the highest marker number, and step k ends where a marker
    /// numbered above k first appears after it (the last step at "Final answer" or the end),
    /// so a "Step 1" quoted inside a later step adds no step. Text before the first marker is
    /// the question.
    case v1
    /// Whatever structure the text has, tried in this order: `Step N` markers, numbered lines
    /// (`1.` / `1)` at a line start), blank-line paragraphs, inline enumerations (`First, …
    /// Second, …`). The first that gives at least two steps wins.
    case generic
    /// An explicit separator string between steps (the first piece is the question when
    /// `questionFirst`).
    case separator(String, questionFirst: Bool)

    /// The splitter a `--splitter` value names: v1, generic, or separator:TEXT.
    public init(flag: String) throws {
        switch flag {
        case "v1": self = .v1
        case "generic": self = .generic
        case let s where s.hasPrefix("separator:") && s.count > "separator:".count:
            self = .separator(String(s.dropFirst("separator:".count)), questionFirst: false)
        default: throw SettingError("splitter", "v1, generic or separator:TEXT, not '\(flag)'")
        }
    }

    public func split(_ text: String) -> SplitChain {
        switch self {
        case .v1:
            return SplitChain(text: text, stepRanges: StepSplitter.numberedRanges(text))
        case .generic:
            for pattern in [#"Step\s*\d+"#, #"(?m)^[ \t]*\d+[.)][ \t]"#] {
                let r = StepSplitter.markerRanges(text, pattern: pattern, endAt: nil)
                if r.count >= 2 { return SplitChain(text: text, stepRanges: r) }
            }
            let paragraphs = StepSplitter.pieces(text, separatedBy: #"\n[ \t]*\n"#)
            if paragraphs.count >= 2 { return SplitChain(text: text, stepRanges: paragraphs) }
            let enumerated = StepSplitter.markerRanges(text, pattern: #"\b(First|Second|Third|Fourth|Fifth|Next|Then|Finally)\b,?"#, endAt: nil)
            if enumerated.count >= 2 { return SplitChain(text: text, stepRanges: enumerated) }
            return SplitChain(text: text, stepRanges: text.isEmpty ? [] : [text.startIndex..<text.endIndex])
        case let .separator(separator, questionFirst):
            var ranges: [Range<String.Index>] = []
            var start = text.startIndex
            while let r = text.range(of: separator, range: start..<text.endIndex) {
                ranges.append(start..<r.lowerBound)
                start = r.upperBound
            }
            ranges.append(start..<text.endIndex)
            if questionFirst { ranges.removeFirst() }
            return SplitChain(text: text, stepRanges: ranges.filter { !text[$0].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty })
        }
    }

    /// Steps start at each match of `pattern`; each ends where the next begins (trailing
    /// whitespace excluded), the last at `endAt` or the end of the text.
    static func markerRanges(_ text: String, pattern: String, endAt: String?) -> [Range<String.Index>] {
        let regex = try! NSRegularExpression(pattern: pattern)
        let ns = NSRange(text.startIndex..., in: text)
        let starts = regex.matches(in: text, range: ns).compactMap { Range($0.range, in: text)?.lowerBound }
        guard !starts.isEmpty else { return [] }
        var ranges: [Range<String.Index>] = []
        for (i, s) in starts.enumerated() {
            var end = i + 1 < starts.count ? starts[i + 1] : text.endIndex
            if i + 1 == starts.count, let endAt, let r = text.range(of: endAt, range: s..<text.endIndex) { end = r.lowerBound }
            ranges.append(s..<trimmedEnd(text, s, end))
        }
        return ranges
    }

    /// The reference's numbered steps (see `.v1`).
    static func numberedRanges(_ text: String) -> [Range<String.Index>] {
        let regex = try! NSRegularExpression(pattern: #"Step[\s:]*(\d+)"#, options: [.caseInsensitive])
        let markers = regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { m -> (start: String.Index, number: Int)? in
            guard let whole = Range(m.range, in: text), let digits = Range(m.range(at: 1), in: text), let n = Int(text[digits]) else { return nil }
            return (whole.lowerBound, n)
        }
        guard let count = markers.map(\.number).max(), count > 0, count <= 10_000, let first = markers.first else { return [] }
        var ranges: [Range<String.Index>] = []
        var start = first.start
        for k in 1...count {
            // The first marker numbered k + 1 after this step's start (or, if the number is
            // skipped, the first higher one) ends the step.
            let next = markers.first { $0.start > start && $0.number > k }
            var end = next?.start ?? text.endIndex
            if next == nil, let r = text.range(of: "Final answer", range: start..<text.endIndex) { end = r.lowerBound }
            ranges.append(start..<trimmedEnd(text, start, end))
            guard let next else { break }
            start = next.start
        }
        return ranges
    }

    static func pieces(_ text: String, separatedBy pattern: String) -> [Range<String.Index>] {
        let regex = try! NSRegularExpression(pattern: pattern)
        var ranges: [Range<String.Index>] = []
        var start = text.startIndex
        for m in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let r = Range(m.range, in: text) else { continue }
            ranges.append(start..<r.lowerBound)
            start = r.upperBound
        }
        ranges.append(start..<text.endIndex)
        return ranges.filter { !text[$0].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    private static func trimmedEnd(_ text: String, _ start: String.Index, _ end: String.Index) -> String.Index {
        var e = end
        while e > start, text[text.index(before: e)].isWhitespace { e = text.index(before: e) }
        return e
    }
}
