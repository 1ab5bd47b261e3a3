import Foundation

/// Final answers of reasoning chains, extracted and put in a canonical form so that
/// self-consistency votes count "1,200 dollars", "$1200" and "\boxed{1200}" as one answer.
public enum FinalAnswer {
    /// The answer a chain states, by the first rule that finds one: the last `\boxed{…}`; the
    /// text after the last "Final answer:", "Answer:" or "the answer is"; the whole text when it
    /// is one short line that reads as an option letter or a number ("D", "$\frac{5}{2}$");
    /// the last number.
    public static func extract(_ text: String) -> String? {
        if let stated = explicit(text, questionHasOptions: false) { return stated }
        let whole = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if whole.count <= 40, !whole.contains("\n") {
            let n = normalize(whole)
            if optionLetter(n) != nil || numericValue(n) != nil { return whole }
        }
        return lastMatch(#"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?"#, in: text).map { String(text[$0]) }
    }

    /// The answer a text states explicitly, or nil: the last `\boxed{…}`; the text after the
    /// last "Final answer:", "Answer:" or "the answer is"; and where the question offers options,
    /// a last line that is an option letter ("(B)", "B."). Unlike `extract` it never falls back
    /// to a number in the text: Monte-Carlo labelling counts a rollout right only when it
    /// reaches an answer, not when a step number or an intermediate result matches.
    public static func explicit(_ text: String, questionHasOptions: Bool) -> String? {
        if let boxed = lastBoxed(text) { return boxed }
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
        s = withoutAssignment(s.trimmingCharacters(in: .whitespaces))
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
    /// a set or list of values, sorted ("\\{3, 1\\}", "1, 3" and "x = 1 or x = 3" are "{1, 3}");
    /// otherwise the text lower-cased, whitespace collapsed and dropped around operators.
    public static func normalize(_ answer: String) -> String {
        var s = unwrapLaTeX(answer).trimmingCharacters(in: .whitespacesAndNewlines)
        s = s.replacingOccurrences(of: "−", with: "-")
        while let last = s.last, ".;!".contains(last) { s.removeLast() }
        s = s.trimmingCharacters(in: .whitespaces)
        while s.hasPrefix("{"), s.hasSuffix("}"), balanced(s.dropFirst().dropLast()) { s = String(s.dropFirst().dropLast()) }
        if let letter = optionLetter(s) { return letter }
        s = withoutAssignment(s)
        if let value = numericValue(s) { return canonical(value) }
        if let interval = interval(s) { return interval }
        let items = topLevelItems(s)
        if items.count > 1 { return "{" + Set(items.map(normalize)).sorted().joined(separator: ", ") + "}" }
        if let value = MathExpression.value(s) { return canonical(value) }
        let words = s.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return words.replacingOccurrences(of: #"\s*([-+*/^=(),<>])\s*"#, with: "$1", options: .regularExpression)
    }

    /// "x = 5" → "5", "f(x) = 2" → "2": the value of an assignment.
    static func withoutAssignment(_ s: String) -> String {
        guard let r = s.range(of: #"^\s*(?:[A-Za-z](?:_\{?\w+\}?)?|[A-Za-z]\([A-Za-z]\))\s*=\s*"#, options: .regularExpression) else { return s }
        return String(s[r.upperBound...])
    }

    /// "(a, b]" and the like, entries normalised: an interval, or an ordered pair.
    static func interval(_ s: String) -> String? {
        guard let open = s.first, let close = s.last, "([".contains(open), ")]".contains(close) else { return nil }
        let items = topLevelItems(String(s.dropFirst().dropLast()))
        guard items.count >= 2 else { return nil }
        return "\(open)" + items.map(normalize).joined(separator: ", ") + "\(close)"
    }

    /// Entries separated by top-level commas, " or " or " and " (and "x = 1, x = 2" forms).
    static func topLevelItems(_ s: String) -> [String] {
        let separated = s.replacingOccurrences(of: #"\s+(?:or|and)\s+|\\(?:text\{\s*(?:or|and)\s*\}|quad|qquad)"#, with: ",",
                                               options: [.regularExpression, .caseInsensitive])
        var items: [String] = [], current = "", depth = 0
        for c in separated {
            if "([{".contains(c) { depth += 1 }
            if ")]}".contains(c) { depth -= 1 }
            if c == ",", depth == 0 { items.append(current); current = "" } else { current.append(c) }
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

    /// Contents of the last `\boxed{…}` / `\fbox{…}`, braces balanced.
    static func lastBoxed(_ text: String) -> String? {
        guard let start = lastMatch(#"\\(?:boxed|fbox)\s*\{"#, in: text) else { return nil }
        var depth = 1, i = start.upperBound
        while i < text.endIndex {
            if text[i] == "{" { depth += 1 }
            if text[i] == "}" { depth -= 1; if depth == 0 { return String(text[start.upperBound..<i]) } }
            i = text.index(after: i)
        }
        return nil
    }

    /// Drops math delimiters and formatting commands, turns \frac{a}{b} into a/b.
    static func unwrapLaTeX(_ s: String) -> String {
        var t = s
        if let boxed = lastBoxed(t) { t = boxed }
        for (pattern, template) in [(#"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}"#, "$1/$2"), (#"\\[dt]?frac\s*(\d)(\d)"#, "$1/$2"),
                                    (#"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}"#, "$1"),
                                    (#"\\(?:left|right|displaystyle|[,;!])"#, ""), (#"\\%"#, "%"), (#"\\\$"#, "$"),
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
                                    (#"^([A-J])(?:$|[.:)])"#, false), (#"^([a-j])\)?$"#, false)] {
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
