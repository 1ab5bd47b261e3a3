import Foundation
import PRM
import Yams

/// A settings file keyed by flag names (YAML, or JSON when it ends in .json), turned into the
/// flags it stands for; flags on the command line come after it and win. `key: true` is the
/// flag `--key`, `false` or null leaves it out, a list becomes comma-separated values.
enum ConfigFile {
    /// `switches`: the keys that are on/off flags, which take only true or false.
    static func arguments(_ path: String, switches: Set<String> = []) throws -> [String] {
        try Check.inputFile(path, "config")
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DataError(file: path, message: "is not readable UTF-8 text")
        }
        try checkBounds(text, path)
        let settings: [(String, Any?)]
        if path.hasSuffix(".json") {
            guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                throw DataError(file: path, message: "is not a JSON object of flag names and values")
            }
            settings = object.map { ($0.key, $0.value.scalar) }
        } else {
            let loaded: Any?
            do { loaded = try Yams.load(yaml: text) } catch { throw DataError(file: path, message: "is not valid YAML: \(error)") }
            guard let object = loaded as? [String: Any] else { throw DataError(file: path, message: "is not a mapping of flag names to values") }
            settings = object.map { ($0.key, $0.value) }
        }
        var arguments: [String] = []
        for (key, value) in settings.sorted(by: { $0.0 < $1.0 }) {
            let flag = "--" + key.replacingOccurrences(of: "-", with: "_")
            if switches.contains(String(flag.dropFirst(2))), let value, !(value is Bool), !(value is NSNull) {
                throw DataError(file: path, message: "'\(key)' is a switch: write true or false, not \(value)")
            }
            switch value {
            case nil, is NSNull: continue
            case is [String: Any]: throw DataError(file: path, message: "'\(key)' holds a mapping; a flag takes a value, a list or true/false")
            case let b as Bool: if b { arguments.append(flag) }
            case let list as [Any]: arguments += [flag, list.map { "\($0)" }.joined(separator: ",")]
            case let v?: arguments += [flag, "\(v)"]
            }
        }
        return arguments
    }

    static let maximumBytes = 1 << 20, maximumDepth = 16, maximumIndent = 64

    /// A settings file is a flat mapping of flags to scalars and short lists. Before a parser
    /// sees it: at most 1 MiB, brackets nested at most 16 deep, no line indented past 64
    /// columns, and no YAML anchor or alias (a few hundred bytes of aliases expand to billions
    /// of nodes; deep nesting exhausts the parser's stack).
    static func checkBounds(_ text: String, _ path: String) throws {
        guard text.utf8.count <= maximumBytes else {
            throw DataError(file: path, message: "is \(text.utf8.count) bytes; a settings file may hold at most \(maximumBytes)")
        }
        var depth = 0
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            guard indent <= maximumIndent else {
                throw DataError(file: path, message: "line \(n + 1) is indented \(indent) columns; settings nest at most \(maximumIndent)")
            }
            // A node starts a line, or follows ':', '-', ',' or an opening bracket (spaces between).
            var quote: Character?, previous: Character = " ", nodeStart = true
            for c in line {
                defer { if quote == nil && c != " " { nodeStart = ":-,[{".contains(c) } }
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == "\"" || c == "'" {
                    quote = c
                } else if c == "#" && previous == " " {
                    break
                } else if c == "[" || c == "{" {
                    depth += 1
                    guard depth <= maximumDepth else {
                        throw DataError(file: path, message: "line \(n + 1) nests brackets more than \(maximumDepth) deep")
                    }
                } else if c == "]" || c == "}" {
                    depth -= 1
                } else if (c == "&" || c == "*") && nodeStart && !path.hasSuffix(".json") {
                    throw DataError(file: path, message: "line \(n + 1) uses a YAML anchor or alias ('\(c)'); write each setting's value out")
                }
                previous = c
            }
        }
    }
}

private extension JSONValue {
    /// Scalars as Swift values (arrays as lists of them), so the flags read as the file wrote them.
    var scalar: Any? {
        switch self {
        case .null: return nil
        case .bool(let b): return b
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? Int(n) as Any : n
        case .string(let s): return s
        case .array(let a): return a.map { $0.scalar ?? "" }
        case .object(let o): return o.mapValues { $0.scalar ?? "" }
        }
    }
}
