import Foundation
import PRM
import Yams

/// A settings file keyed by flag names (YAML, or JSON when it ends in .json), turned into the
/// flags it stands for; flags on the command line come after it and win. `key: true` is the
/// flag `--key`, `false` or null leaves it out, a list becomes comma-separated values.
enum ConfigFile {
    static func arguments(_ path: String) throws -> [String] {
        try Check.inputFile(path, "config")
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DataError(file: path, message: "is not readable UTF-8 text")
        }
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
