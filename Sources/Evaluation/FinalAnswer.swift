import Foundation

/// Final answers of reasoning chains, extracted and put in a canonical form so that
/// self-consistency votes count "1,200 dollars", "$1200" and "\boxed{1200}" as one answer.
public enum FinalAnswer {
    /// The answer a chain states, by the first rule that finds one: the last `\boxed{…}` (with
    /// the boxes listed beside it); the text after the last "Final answer:", "Answer:" or "the
    /// answer is"; the whole text when it is one math span ("$(3, 2)$", "$$f(y) = y$$") or one
    /// short line that reads as an option letter or a number ("D", "12"); the last number.
    public static func extract(_ text: String) -> String? {
        if let stated = explicit(text, questionHasOptions: false) { return stated }
        let whole = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if whole.count <= 200, whole.range(of: #"^(?:(\$\$?)[^$]+\1|\\\([^\n]+\\\)|\\\[[^\n]+\\\])$"#,
                                           options: .regularExpression) != nil { return whole }
        if whole.count <= 40, !whole.contains("\n") {
            let n = normalize(whole)
            if optionLetter(n) != nil || numericValue(n) != nil { return whole }
        }
        return lastMatch(#"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?"#, in: text).map { String(text[$0]) }
    }

    /// The answer a text states explicitly, or nil: the last `\boxed{…}` (with the boxes listed
    /// beside it, "\boxed{1} and \boxed{2}" is "1, 2"); the text after the
    /// last "Final answer:", "Answer:" or "the answer is"; and where the question offers options,
    /// a last line that is an option letter ("(B)", "B."). Unlike `extract` it never falls back
    /// to a number in the text: Monte-Carlo labelling counts a rollout right only when it
    /// reaches an answer, not when a step number or an intermediate result matches.
    public static func explicit(_ text: String, questionHasOptions: Bool) -> String? {
        if let boxed = boxedAnswer(text) { return boxed }
        for marker in [#"final\s+answer\s*(?:is)?\s*[:：]?"#, #"\banswer\s*[:：]"#, #"\bthe\s+answer\s+is\b"#] {
            if let r = lastMatch(marker, in: text) {
                let line = text[r.upperBound...].prefix { $0 != "\n" }.trimmingCharacters(in: .whitespaces)
                if !line.isEmpty { return line }
            }
        }
        guard questionHasOptions, let last = text.split(separator: "\n").last?.trimmingCharacters(in: .whitespaces),
              last.count <= 40, optionLetter(normalize(last)) != nil
        else { return nil }
        return last
    }

    /// Whether a question lists lettered options: "(A) … (B) …", or lines opening "A." / "A)" / "A:" then "B…".
    public static func hasOptions(_ question: String) -> Bool {
        question.range(of: #"\(A\)[\s\S]*\(B\)"#, options: .regularExpression) != nil
            || question.range(of: #"(?m)^\s*A[.):][\s\S]*^\s*B[.):]"#, options: .regularExpression) != nil
    }

    /// The unit word after a number ("5 cm" → "cm", "\text{12 meters}" → "meter"), lower-cased and
    /// singular; nil when the text is not a number with a unit.
    public static func unit(of answer: String) -> String? {
        var s = unwrapLaTeX(answer).trimmingCharacters(in: .whitespacesAndNewlines)
        while let last = s.last, ".;!".contains(last) { s.removeLast() }
        s = valueOfAssignment(s.trimmingCharacters(in: .whitespaces))
        guard let re = try? NSRegularExpression(pattern: numberPattern, options: [.caseInsensitive]),
              let m = re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)),
              let r = Range(m.range(at: 3), in: s) else { return nil }
        var word = s[r].lowercased().trimmingCharacters(in: .whitespaces)
        if let symbol = unitSymbols[word] { return symbol }
        if word.count > 3, word.hasSuffix("s") { word.removeLast() }
        return word.isEmpty ? nil : unitSymbols[word] ?? word
    }

    /// Spelled-out units as their symbols, so "12 meters" and "12 m" agree.
    static let unitSymbols: [String: String] = [
        "meter": "m", "metre": "m", "centimeter": "cm", "centimetre": "cm", "millimeter": "mm",
        "millimetre": "mm", "kilometer": "km", "kilometre": "km", "gram": "g", "kilogram": "kg",
        "milligram": "mg", "second": "s", "sec": "s", "minute": "min", "hour": "h", "hr": "h",
        "liter": "l", "litre": "l", "milliliter": "ml", "millilitre": "ml", "foot": "ft", "feet": "ft",
        "inch": "in", "inche": "in", "pound": "lb", "lbs": "lb", "mile": "mi",
    ]

    /// The canonical form: an option letter ("B"); a number (commas, currency, units, degree
    /// and percent signs dropped; fractions, decimals and constant LaTeX expressions as one
    /// value, so "3/4", "0.75" and "\\frac{3}{4}" agree, as do "\\frac{\\sqrt{3}}{2}" and
    /// "\\sqrt{3}/2"); an interval or tuple with its brackets and normalised entries ("[1, 3)");
    /// a set or list of values, sorted ("\\{3, 1\\}", "1, 3" and "x = 1 or x = 3" are "{1, 3}";
    /// "\\pm 2" is "{-2, 2}"); a chained inequality as its interval ("0 < x \\le 1" is "(0, 1]");
    /// otherwise the text lower-cased, whitespace collapsed and dropped around operators. The
    /// named side of an assignment is dropped ("(p, q) = (3, 2)", "AB = 4" and "V_1:V_2 = 11:21"
    /// are their values).
    public static func normalize(_ answer: String) -> String {
        var s = unwrapLaTeX(answer).trimmingCharacters(in: .whitespacesAndNewlines)
        s = s.replacingOccurrences(of: "−", with: "-")
        while let last = s.last, ".;!".contains(last) { s.removeLast() }
        s = s.trimmingCharacters(in: .whitespaces)
        while s.hasPrefix("{"), s.hasSuffix("}"), balanced(s.dropFirst().dropLast()) { s = String(s.dropFirst().dropLast()) }
        if let letter = optionLetter(s) { return letter }
        s = s.replacingOccurrences(of: "±", with: "\\pm")
        if let pm = s.range(of: "\\pm"), s[pm.upperBound...].range(of: "\\pm") == nil {
            let both = ["+", "-"].map { normalize(s.replacingCharacters(in: pm, with: $0)) }
            return "{" + Set(both).sorted().joined(separator: ", ") + "}"
        }
        s = valueOfAssignment(s)
        if let value = numericValue(s) { return canonical(value) }
        s = chainedInequalityAsInterval(s) ?? s
        if let interval = interval(s) { return interval }
        let items = topLevelItems(s)
        if items.count > 1 { return "{" + Set(items.map(normalize)).sorted().joined(separator: ", ") + "}" }
        if let value = MathExpression.value(s) { return canonical(value) }
        let words = s.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return words.replacingOccurrences(of: #"\s*([-+*/^=(),<>])\s*"#, with: "$1", options: .regularExpression)
    }

    /// The value of an assignment whose left side only names things: "x = 5", "f(x) = 2",
    /// "(p, q) = (3, 2)", "AB = 4", "\\frac{NO}{BO} = 1/2", "S_{ABC}:S = 7:32". A text with more
    /// than one "=", or whose left side holds a number or an operator ("x + y = 5"), is kept.
    static func valueOfAssignment(_ s: String) -> String {
        let parts = s.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 2, let left = parts.first, let right = parts.last,
              !"<>!\\".contains(left.last ?? " "), !right.trimmingCharacters(in: .whitespaces).isEmpty else { return s }
        let name = String(left).replacingOccurrences(of: #"_\{[^{}]*\}|_\w|\\[A-Za-z]+|[\s{}()|:,/]"#, with: "",
                                                     options: .regularExpression)
        guard !name.isEmpty, name.allSatisfy(\.isLetter) else { return s }
        return right.trimmingCharacters(in: .whitespaces)
    }

    /// "0 < x < 1" → "(0, 1)", "-1 \\le f(x) < 2" → "[-1, 2)": a variable bounded on both sides.
    static func chainedInequalityAsInterval(_ s: String) -> String? {
        let bound = #"\s*(<=|<|\\leq?|≤)\s*"#
        let pattern = "^(.+?)" + bound + #"[A-Za-z](?:_\{?\w+\}?)?(?:\([A-Za-z]\))?"# + bound + "(.+)$"
        guard let re = try? NSRegularExpression(pattern: pattern),
              let m = re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)),
              let low = Range(m.range(at: 1), in: s), let lowSign = Range(m.range(at: 2), in: s),
              let highSign = Range(m.range(at: 3), in: s), let high = Range(m.range(at: 4), in: s) else { return nil }
        return (s[lowSign] == "<" ? "(" : "[") + s[low] + ", " + s[high] + (s[highSign] == "<" ? ")" : "]")
    }

    /// "(a, b]" and the like, entries normalised: an interval, or an ordered pair. The brackets
    /// at the two ends must enclose the whole text ("(1, 2), (3, 4)" is a list of pairs).
    static func interval(_ s: String) -> String? {
        guard let open = s.first, let close = s.last, "([".contains(open), ")]".contains(close) else { return nil }
        var depth = 0
        for c in s.dropLast() {
            if "([{".contains(c) { depth += 1 }
            if ")]}".contains(c) { depth -= 1; if depth == 0 { return nil } }
        }
        let items = topLevelItems(String(s.dropFirst().dropLast()))
        guard items.count >= 2 else { return nil }
        return "\(open)" + items.map(normalize).joined(separator: ", ") + "\(close)"
    }

    /// Entries separated by top-level commas, semicolons, " or " or " and " (also between
    /// brackets: "(1, 2)or(2, 1)"), and "x = 1, x = 2" forms.
    static func topLevelItems(_ s: String) -> [String] {
        let separated = s.replacingOccurrences(
            of: #"\s+(?:or|and)\s+|(?<=[)\]}])\s*(?:or|and)\s*(?=[(\[{])|\\(?:text\{\s*(?:or|and)\s*\}|quad|qquad)"#,
            with: ",", options: [.regularExpression, .caseInsensitive])
        var items: [String] = [], current = "", depth = 0
        for c in separated {
            if "([{".contains(c) { depth += 1 }
            if ")]}".contains(c) { depth -= 1 }
            if c == "," || c == ";", depth == 0 { items.append(current); current = "" } else { current.append(c) }
        }
        items.append(current)
        return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func balanced<S: StringProtocol>(_ s: S) -> Bool {
        var depth = 0
        for c in s {
            if c == "{" { depth += 1 }
            if c == "}" { depth -= 1; if depth < 0 { return false } }
        }
        return depth == 0
    }

    /// Extracted and normalised; nil when the chain states nothing.
    public static func normalized(from text: String) -> String? {
        extract(text).map(normalize).flatMap { $0.isEmpty ? nil : $0 }
    }

    // MARK: - Pieces

    static func lastMatch(_ pattern: String, in text: String) -> Range<String.Index>? {
        guard let re = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return nil }
        let matches = re.matches(in: text, range: NSRange(text.startIndex..., in: text))
        return matches.last.flatMap { Range($0.range, in: text) }
    }

    /// The contents of the last `\boxed{…}` / `\fbox{…}` (braces balanced), joined by ", " with
    /// the boxes before it that a comma, "and" or "or" separates ("\boxed{1}, \boxed{2}", "\boxed{1}
    /// cm and \boxed{2} cm", "\boxed{(3, 3)} \text{ for part (a) and } \boxed{(1, 1)}"): a model
    /// that states several answers boxes each. A box after an equation, a sentence or other
    /// words ("\boxed{3}, then \boxed{5}", "… = \boxed{3}. So \boxed{4}") stands alone.
    static func boxedAnswer(_ text: String) -> String? {
        guard let re = try? NSRegularExpression(pattern: #"\\(?:boxed|fbox)\s*\{"#) else { return nil }
        var boxes: [(start: String.Index, content: Range<String.Index>)] = []
        for m in re.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let open = Range(m.range, in: text),
                  boxes.last.map({ open.lowerBound > $0.content.upperBound }) ?? true else { continue }
            var depth = 1, i = open.upperBound
            while i < text.endIndex {
                if text[i] == "{" { depth += 1 }
                if text[i] == "}" { depth -= 1; if depth == 0 { break } }
                i = text.index(after: i)
            }
            if i < text.endIndex { boxes.append((open.lowerBound, open.upperBound..<i)) }
        }
        guard var last = boxes.popLast() else { return nil }
        var answers = [text[last.content]]
        while let previous = boxes.popLast() {
            let gap = text[text.index(after: previous.content.upperBound)..<last.start]
            let words = String(gap).replacingOccurrences(of: #"\\text\{[^{}]*\}|\\(?:quad|qquad|[,;! ()])|[$,;]"#,
                                                         with: " ", options: .regularExpression).split(separator: " ")
            let listing = words.isEmpty || words.contains { ["and", "or"].contains($0.lowercased()) }
            guard listing, words.count <= 3, words.allSatisfy({ $0.allSatisfy(\.isLetter) }) else { break }
            answers.insert(text[previous.content], at: 0)
            last = previous
        }
        return answers.joined(separator: ", ")
    }

    /// Drops math delimiters and formatting commands, turns \frac{a}{b} into a/b.
    static func unwrapLaTeX(_ s: String) -> String {
        var t = s
        if let boxed = boxedAnswer(t) { t = boxed }
        for (pattern, template) in [(#"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}"#, "$1/$2"), (#"\\[dt]?frac\s*(\d)(\d)"#, "$1/$2"),
                                    (#"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}"#, "$1"),
                                    (#"\\(?:left|right|displaystyle|[,;! ])"#, ""), (#"\\%"#, "%"), (#"\\\$"#, "$"),
                                    (#"\^\s*\{?\\circ\}?|°|\\degree"#, ""), (#"\\([{}])"#, "$1"), (#"\\infty"#, "∞"),
                                    (#"^\s*\$+|\$+\s*$"#, ""), (#"^\\\(|\\\)$|^\\\[|\\\]$"#, "")] {
            t = t.replacingOccurrences(of: pattern, with: template, options: .regularExpression)
        }
        return t
    }

    /// "B", "(b)", "B)", "B.", "B: text", "(C) 42", "Option b" → the capital letter A–J. A
    /// capital followed by a space ("A 5 cm rope") or a lone lower-case word is not an option.
    static func optionLetter(_ s: String) -> String? {
        for (pattern, caseless) in [(#"^(?:option|choice)\s*\(?([A-J])\)?(?:$|[\s.:)])"#, true), (#"^\(([A-J])\)"#, true),
                                    (#"^([A-J])(?:$|[.)]|:(?:\s|$))"#, false), (#"^([a-j])\)?$"#, false)] {
            guard let re = try? NSRegularExpression(pattern: pattern, options: caseless ? [.caseInsensitive] : []),
                  let m = re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)),
                  let r = Range(m.range(at: 1), in: s) else { continue }
            return s[r].uppercased()
        }
        return nil
    }

    /// A number (group 1), an optional denominator (group 2), percent sign and unit words (group 3).
    static let numberPattern = #"^[$€£¥]?\s*(-?[$€£¥]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?[$€£¥]?\d*\.?\d+)(?:\s*/\s*(-?\d+(?:\.\d+)?))?\s*(?:%|percent)?\s*([A-Za-z][A-Za-z ]*)?$"#

    /// A number with optional sign, currency, thousands separators, decimal part, fraction,
    /// percent sign and trailing unit words; nil when the text is not such a number.
    static func numericValue(_ s: String) -> Double? {
        guard let re = try? NSRegularExpression(pattern: numberPattern, options: [.caseInsensitive]),
              let m = re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)),
              let r = Range(m.range(at: 1), in: s) else { return nil }
        let digits = s[r].filter { !",$€£¥".contains($0) }
        guard var value = Double(digits) else { return nil }
        if let d = Range(m.range(at: 2), in: s) {
            guard let denominator = Double(s[d]), denominator != 0 else { return nil }
            value /= denominator
        }
        return value
    }

    /// Integers without a decimal point; other values to 6 significant decimals.
    static func canonical(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(format: "%.6g", value)
        if text.contains("."), !text.contains("e") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }
}
