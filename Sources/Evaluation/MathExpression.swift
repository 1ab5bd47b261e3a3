import Foundation

/// The numeric value of a constant LaTeX or plain-text expression: numbers, + − × ÷ · ^, ( ),
/// { }, `\frac{a}{b}` (also `\dfrac`, `\tfrac`, `\frac12`), `\sqrt{x}`, `\sqrt[n]{x}`, `\pi`,
/// `e`, `\infty`, and implicit multiplication (`2\sqrt{3}`, `3\pi`, `2(1+x)` with no x).
/// nil when anything else appears (a variable, a function), so `2x + 1` stays a string.
enum MathExpression {
    static func value(_ text: String) -> Double? {
        guard let tokens = tokenize(text), !tokens.isEmpty else { return nil }
        var parser = Parser(tokens: tokens)
        guard let v = parser.expression(), parser.atEnd else { return nil }
        return v.isNaN ? nil : v
    }

    enum Token: Equatable {
        case number(Double), op(Character), open(Character), close(Character), command(String), symbol(Character)
    }

    static func tokenize(_ text: String) -> [Token]? {
        var out: [Token] = []
        var i = text.startIndex
        // Arguments of \frac and \sqrt written without braces are single digits: \frac12 = 1/2.
        var singleDigits = 0
        while i < text.endIndex {
            let c = text[i]
            if c.isWhitespace { i = text.index(after: i); continue }
            if singleDigits > 0, c.isNumber {
                singleDigits -= 1
                guard let v = Double(String(c)) else { return nil }
                out.append(.number(v))
                i = text.index(after: i)
                continue
            }
            singleDigits = 0
            if c.isNumber || (c == "." && text.index(after: i) < text.endIndex && text[text.index(after: i)].isNumber) {
                var j = i
                while j < text.endIndex, text[j].isNumber || text[j] == "." { j = text.index(after: j) }
                guard let v = Double(text[i..<j]) else { return nil }
                out.append(.number(v))
                i = j
                continue
            }
            if c == "\\" {
                var j = text.index(after: i)
                while j < text.endIndex, text[j].isLetter { j = text.index(after: j) }
                let name = String(text[text.index(after: i)..<j])
                out.append(["cdot", "times"].contains(name) ? .op("*") : .command(name))
                singleDigits = ["frac", "dfrac", "tfrac"].contains(name) ? 2 : name == "sqrt" ? 1 : 0
                i = j
                continue
            }
            switch c {
            case "+", "-", "−", "*", "×", "·", "/", "÷", "^": out.append(.op(c == "−" ? "-" : c))
            case "(", "{", "[": out.append(.open(c))
            case ")", "}", "]": out.append(.close(c))
            case "π": out.append(.command("pi"))
            case "∞": out.append(.command("infty"))
            case "√": out.append(.command("sqrt"))
            default:
                guard c.isLetter else { return nil }
                out.append(.symbol(c))
            }
            i = text.index(after: i)
        }
        return out
    }

    /// expression := term (('+'|'-') term)*; term := power (('*'|'/'|implicit) power)*;
    /// power := unary ('^' unary)?; unary := '-' unary | atom.
    struct Parser {
        let tokens: [Token]
        var index = 0

        var atEnd: Bool { index == tokens.count }
        var peek: Token? { index < tokens.count ? tokens[index] : nil }
        mutating func next() -> Token? { defer { index += 1 }; return peek }

        mutating func expression() -> Double? {
            guard var v = term() else { return nil }
            while case .op(let o)? = peek, o == "+" || o == "-" {
                index += 1
                guard let r = term() else { return nil }
                v = o == "+" ? v + r : v - r
            }
            return v
        }

        mutating func term() -> Double? {
            guard var v = power() else { return nil }
            while let t = peek {
                switch t {
                case .op(let o) where "*×·/÷".contains(o):
                    index += 1
                    guard let r = power() else { return nil }
                    v = "/÷".contains(o) ? v / r : v * r
                case .number, .open, .command, .symbol:
                    // Implicit multiplication: 2\sqrt{3}, 3\pi, 2(1+2).
                    guard let r = power() else { return nil }
                    v *= r
                default:
                    return v
                }
            }
            return v
        }

        mutating func power() -> Double? {
            guard let base = unary() else { return nil }
            guard case .op("^")? = peek else { return base }
            index += 1
            guard let exponent = unary() else { return nil }
            return pow(base, exponent)
        }

        mutating func unary() -> Double? {
            if case .op("-")? = peek { index += 1; return unary().map { -$0 } }
            if case .op("+")? = peek { index += 1; return unary() }
            return atom()
        }

        /// A group's contents: `{…}`, `(…)` or `[…]`.
        mutating func group() -> Double? {
            guard case .open? = next() else { return nil }
            guard let v = expression(), case .close? = next() else { return nil }
            return v
        }

        /// A command's argument: a braced group, or a single digit as in `\frac12`.
        mutating func argument() -> Double? {
            if case .open("{")? = peek { return group() }
            guard case .number(let n)? = peek else { return nil }
            index += 1
            return n
        }

        mutating func atom() -> Double? {
            switch peek {
            case .number(let v)?: index += 1; return v
            case .open?: return group()
            case .symbol("e")?: index += 1; return M_E
            case .command(let name)?:
                index += 1
                switch name {
                case "pi": return Double.pi
                case "infty": return Double.infinity
                case "frac", "dfrac", "tfrac":
                    guard let a = argument(), let b = argument() else { return nil }
                    return a / b
                case "sqrt":
                    var root = 2.0
                    if case .open("[")? = peek { guard let n = group() else { return nil }; root = n }
                    guard let x = argument() else { return nil }
                    return root == 2 ? x.squareRoot() : pow(x, 1 / root)
                default: return nil
                }
            default: return nil
            }
        }
    }
}
