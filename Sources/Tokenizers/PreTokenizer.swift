/// Splits text into the chunks BPE works on, as the regular expressions of the tokenizer
/// families do. Written as scanners over Unicode scalars that follow the regexes' alternation
/// and backtracking exactly, so no regex engine is needed and Oniguruma's `\s`, `\p{L}`,
/// `\p{N}` classes are reproduced by the scalars' properties.
public enum PreTokenizer: Equatable, Sendable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Every digit on its own first, then GPT-2 (StarCoder, SmolLM: `Digits(individual) + ByteLevel`).
    case gpt2IndividualDigits
    /// Qwen2 / Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` (Qwen2: 1 digit, Llama 3: up to 3).
    case qwen2(maxDigits: Int)

    public func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        func emit(_ range: Range<Int>) {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars[range])
            pieces.append(String(s))
        }
        switch self {
        case .gpt2:
            Scanner(scalars).gpt2(0..<scalars.count, emit)
        case .gpt2IndividualDigits:
            var start = 0
            for i in 0..<scalars.count where scalars[i].isNumber {
                Scanner(scalars).gpt2(start..<i, emit)
                emit(i..<(i + 1))
                start = i + 1
            }
            Scanner(scalars).gpt2(start..<scalars.count, emit)
        case .qwen2(let maxDigits):
            Scanner(scalars).qwen2(0..<scalars.count, maxDigits: maxDigits, emit)
        }
        return pieces
    }
}

/// The classes of the ASCII scalars (1 letter, 2 number, 3 space), taken once from Unicode's
/// tables, which are slow to ask per scalar.
private let asciiClass: [UInt8] = (0..<128).map { v -> UInt8 in
    let p = Unicode.Scalar(UInt8(v)).properties
    switch p.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return 1
    case .decimalNumber, .letterNumber, .otherNumber: return 2
    default: return p.isWhitespace ? 3 : 0
    }
}

extension Unicode.Scalar {
    var isLetter: Bool {
        if value < 128 { return asciiClass[Int(value)] == 1 }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    var isNumber: Bool {
        if value < 128 { return asciiClass[Int(value)] == 2 }
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    var isSpace: Bool { value < 128 ? asciiClass[Int(value)] == 3 : properties.isWhitespace }
    var isNewline: Bool { value == 0x0A || value == 0x0D }
    /// `[^\s\p{L}\p{N}]`
    var isOther: Bool { !isSpace && !isLetter && !isNumber }
}

private struct Scanner {
    let s: [Unicode.Scalar]
    init(_ s: [Unicode.Scalar]) { self.s = s }

    /// Length of a contraction at i (`'s`, `'t`, `'re`, …), 0 if none.
    func contraction(_ i: Int, _ end: Int, caseInsensitive: Bool) -> Int {
        guard i + 1 < end, s[i] == "'" else { return 0 }
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            caseInsensitive && c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c
        }
        let a = lower(s[i + 1])
        if a == "s" || a == "t" || a == "m" || a == "d" { return 2 }
        if i + 2 < end {
            let b = lower(s[i + 2])
            if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return 3 }
        }
        return 0
    }

    func run(_ i: Int, _ end: Int, _ p: (Unicode.Scalar) -> Bool) -> Int {
        var j = i
        while j < end && p(s[j]) { j += 1 }
        return j
    }

    /// `\s+(?!\S)|\s+` at a whitespace run starting at i: the run minus its last scalar when a
    /// non-space follows and the run is longer than one, else the whole run.
    func whitespace(_ i: Int, _ end: Int) -> Int {
        let j = run(i, end, \.isSpace)
        return (j < end && j - i > 1) ? j - 1 : j
    }

    func gpt2(_ range: Range<Int>, _ emit: (Range<Int>) -> Void) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            var j = i + contraction(i, end, caseInsensitive: false)
            if j == i {
                let k = (s[i] == " " && i + 1 < end) ? i + 1 : i
                if s[k].isLetter { j = run(k, end, \.isLetter) }
                else if s[k].isNumber { j = run(k, end, \.isNumber) }
                else if s[k].isOther { j = run(k, end, \.isOther) }
                else { j = whitespace(i, end) }
            }
            emit(i..<j)
            i = j
        }
    }

    func qwen2(_ range: Range<Int>, maxDigits: Int, _ emit: (Range<Int>) -> Void) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            var j = i + contraction(i, end, caseInsensitive: true)
            if j == i {
                let c = s[i]
                if c.isLetter {
                    j = run(i, end, \.isLetter)
                } else if !c.isNewline && !c.isNumber && i + 1 < end && s[i + 1].isLetter {
                    j = run(i + 1, end, \.isLetter)                       // [^\r\n\p{L}\p{N}]?\p{L}+
                } else if c.isNumber {
                    j = i + 1
                    while j < end && j - i < maxDigits && s[j].isNumber { j += 1 }
                } else if let k = Optional(c == " " && i + 1 < end ? i + 1 : i), s[k].isOther {
                    j = run(run(k, end, \.isOther), end, \.isNewline)     //  ?[^\s\p{L}\p{N}]+[\r\n]*
                } else {
                    let ws = run(i, end, \.isSpace)
                    if let lastNewline = (i..<ws).last(where: { s[$0].isNewline }) {
                        j = lastNewline + 1                               // \s*[\r\n]+
                    } else {
                        j = whitespace(i, end)
                    }
                }
            }
            emit(i..<j)
            i = j
        }
    }
}
