import Foundation

/// A parsed JSON value. Decoded with JSONDecoder, which reads numbers exactly (Foundation's
/// JSONSerialization rounds some doubles on Linux), and inspected field by field so that
/// errors can name the record and field.
public indirect enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A malformed data file: names the file, the record (0-based index or JSONL line) and the field.
public struct DataError: Error, CustomStringConvertible {
    public let file: String
    public let record: Int?
    public let field: String?
    public let message: String

    public init(file: String, record: Int? = nil, field: String? = nil, message: String) {
        self.file = file
        self.record = record
        self.field = field
        self.message = message
    }

    public var description: String {
        var where_ = file
        if let record { where_ += ": record \(record)" }
        if let field { where_ += ": field '\(field)'" }
        return "\(where_): \(message)"
    }
}

/// One record's fields, with typed accessors that throw `DataError`s naming the field.
public struct RecordFields {
    let fields: [String: JSONValue]
    let file: String
    let index: Int

    init(_ value: JSONValue, file: String, index: Int) throws {
        guard case .object(let f) = value else {
            throw DataError(file: file, record: index, message: "expected a JSON object, found \(value.typeName)")
        }
        fields = f
        self.file = file
        self.index = index
    }

    /// One record from JSON text (for records built in code, e.g. benchmarks).
    public static func parse(_ json: String, file: String = "<inline>") throws -> RecordFields {
        try RecordFields(try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)), file: file, index: 0)
    }

    public func error(_ field: String, _ message: String) -> DataError { DataError(file: file, record: index, field: field, message: message) }

    func has(_ key: String) -> Bool {
        if case .null = fields[key] ?? .null { return false }
        return true
    }

    func string(_ key: String) throws -> String {
        guard let v = fields[key] else { throw error(key, "missing") }
        guard case .string(let s) = v else { throw error(key, "expected a string, found \(v.typeName)") }
        return s
    }

    func optionalString(_ key: String) throws -> String? { has(key) ? try string(key) : nil }

    func number(_ key: String) throws -> Double {
        guard let v = fields[key] else { throw error(key, "missing") }
        guard case .number(let n) = v else { throw error(key, "expected a number, found \(v.typeName)") }
        guard n.isFinite else { throw error(key, "is not finite") }
        return n
    }

    func optionalNumber(_ key: String) throws -> Double? { has(key) ? try number(key) : nil }

    func bool(_ key: String) throws -> Bool {
        guard let v = fields[key] else { throw error(key, "missing") }
        switch v {
        case .bool(let b): return b
        case .number(let n) where n == 0 || n == 1: return n == 1  // some exports write 0/1
        default: throw error(key, "expected true or false, found \(v.typeName)")
        }
    }

    func optionalBool(_ key: String) throws -> Bool? { has(key) ? try bool(key) : nil }

    /// Ids are numbers in some files and strings in others; kept as text.
    func identifier(_ key: String) throws -> String? {
        switch fields[key] ?? .null {
        case .null: return nil
        case .string(let s): return s
        case .number(let n): return n == n.rounded() ? String(Int(n)) : String(n)
        case let v: throw error(key, "expected a string or number, found \(v.typeName)")
        }
    }

    func array(_ key: String) throws -> [JSONValue] {
        guard let v = fields[key] else { throw error(key, "missing") }
        guard case .array(let a) = v else { throw error(key, "expected an array, found \(v.typeName)") }
        return a
    }
}
