import Foundation

/// Where a text breaks JSON (RFC 8259) and how, with its 1-based line and column.
public struct JSONSyntaxError: Error, CustomStringConvertible {
    public let line: Int, column: Int
    public let message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict JSON syntax check, run before decoding: Foundation's decoder accepts what Python's
/// `json` and every other reader of these files refuse (a trailing comma in an array or object),
/// and its messages give a byte offset at best. One pass, no values built.
public enum JSONSyntax {
    public static func check(_ bytes: Data) throws {
        try bytes.withUnsafeBytes { raw in
            var scanner = Scanner(bytes: raw.bindMemory(to: UInt8.self))
            try scanner.document()
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0
        /// Containers are checked with an explicit stack, so nesting depth costs no call stack.
        var stack: [UInt8] = []

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func fail(_ message: String, at position: Int? = nil) -> JSONSyntaxError {
            let p = Swift.min(position ?? i, bytes.count)
            var line = 1, lineStart = 0
            for k in 0..<p where bytes[k] == 0x0A { line += 1; lineStart = k + 1 }
            // Columns count characters, not bytes: UTF-8 continuation bytes do not start one.
            let column = 1 + (lineStart..<p).filter { bytes[$0] & 0xC0 != 0x80 }.count
            return JSONSyntaxError(line: line, column: column, message: message)
        }

        var current: UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func skipSpace() {
            while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 }
        }

        mutating func document() throws {
            skipSpace()
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3; skipSpace() }
            try value()
            skipSpace()
            if i < bytes.count { throw fail("unexpected text after the JSON value") }
        }

        /// One value; containers push and the loop below pops, so arrays and objects of any
        /// depth are walked iteratively.
        mutating func value() throws {
            try scalarOrOpen()
            while let top = stack.last {
                skipSpace()
                guard let c = current else {
                    throw fail("the document ends inside an \(top == 0x5B ? "array" : "object")")
                }
                let closer: UInt8 = top == 0x5B ? 0x5D : 0x7D
                if c == closer {
                    i += 1
                    stack.removeLast()
                    continue
                }
                guard c == 0x2C else {
                    throw fail("expected ',' or '\(Character(UnicodeScalar(closer)))', found \(describe(c))")
                }
                i += 1
                skipSpace()
                if current == closer { throw fail("trailing comma before '\(Character(UnicodeScalar(closer)))'") }
                if top == 0x7B { try member() } else { try scalarOrOpen() }
            }
        }

        /// `"key": value` in an object (the value may open a container).
        mutating func member() throws {
            skipSpace()
            guard current == 0x22 else {
                throw fail("expected a quoted member name, found \(current.map(describe) ?? "the end")")
            }
            try string()
            skipSpace()
            guard current == 0x3A else {
                throw fail("expected ':' after the member name, found \(current.map(describe) ?? "the end")")
            }
            i += 1
            try scalarOrOpen()
        }

        /// A scalar, or the opening of a container with its first element (empty ones close here).
        mutating func scalarOrOpen() throws {
            skipSpace()
            guard let c = current else { throw fail("expected a value, found the end") }
            switch c {
            case 0x5B, 0x7B:
                i += 1
                skipSpace()
                let closer: UInt8 = c == 0x5B ? 0x5D : 0x7D
                if current == closer { i += 1; return }
                stack.append(c)
                if c == 0x7B { try member() } else { try scalarOrOpen() }
            case 0x22: try string()
            case 0x2D, 0x30...0x39: try number()
            case 0x74: try literal("true")
            case 0x66: try literal("false")
            case 0x6E: try literal("null")
            default: throw fail("expected a value, found \(describe(c))")
            }
        }

        mutating func literal(_ word: String) throws {
            for b in word.utf8 {
                guard current == b else { throw fail("expected '\(word)'") }
                i += 1
            }
        }

        mutating func string() throws {
            let start = i
            i += 1
            while let c = current {
                switch c {
                case 0x22: i += 1; return
                case 0x5C:
                    i += 1
                    guard let e = current else { break }
                    if e == 0x75 {
                        for _ in 0..<4 {
                            i += 1
                            guard let h = current, Character(UnicodeScalar(h)).isHexDigit else {
                                throw fail("a \\u escape needs four hexadecimal digits")
                            }
                        }
                    } else if !"\"\\/bfnrt".utf8.contains(e) {
                        throw fail("invalid escape \\\(Character(UnicodeScalar(e)))")
                    }
                    i += 1
                case 0x00..<0x20: throw fail("a control character inside a string must be escaped")
                default: i += 1
                }
            }
            throw fail("a string that opens here is never closed", at: start)
        }

        mutating func number() throws {
            if current == 0x2D { i += 1 }
            guard let first = current, (0x30...0x39).contains(first) else { throw fail("a number needs a digit here") }
            i += 1
            if first != 0x30 {
                digits()
            } else if let c = current, (0x30...0x39).contains(c) {
                throw fail("a number may not have a leading zero")
            }
            if current == 0x2E {
                i += 1
                guard let c = current, (0x30...0x39).contains(c) else {
                    throw fail("a digit must follow the decimal point")
                }
                digits()
            }
            if current == 0x65 || current == 0x45 {
                i += 1
                if current == 0x2B || current == 0x2D { i += 1 }
                guard let c = current, (0x30...0x39).contains(c) else { throw fail("an exponent needs a digit") }
                digits()
            }
        }

        mutating func digits() { while let c = current, (0x30...0x39).contains(c) { i += 1 } }

        func describe(_ c: UInt8) -> String {
            c >= 0x21 && c < 0x7F ? "'\(Character(UnicodeScalar(c)))'" : String(format: "byte 0x%02X", c)
        }
    }
}
