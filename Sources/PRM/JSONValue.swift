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
        else if let o = try? c.decode([String: JSONValue].self) { self = .object(o) }
        else {
            // What JSONDecoder parses but cannot hold: a number beyond a 64-bit float's range.
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "a number too large for a 64-bit float (beyond ±1.8e308)"))
        }
    }

    /// The value as Foundation's JSON objects (for JSONSerialization).
    public var foundationValue: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? Int(n) as Any : n
        case .string(let s): return s
        case .array(let a): return a.map(\.foundationValue)
        case .object(let o): return o.mapValues(\.foundationValue)
        }
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

    // One type rule for every field: a value has its JSON type (true/false, a number, a
    // string); nothing is converted from another type. Ids alone may be strings or integers.

    func bool(_ key: String) throws -> Bool {
        guard let v = fields[key] else { throw error(key, "missing") }
        guard case .bool(let b) = v else { throw error(key, "expected true or false, found \(v.typeName)") }
        return b
    }

    /// A string that must say something (a domain name, an image path).
    func nonEmptyString(_ key: String) throws -> String {
        let s = try string(key)
        guard !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw error(key, "is empty") }
        return s
    }

    /// An image path where one is given; an empty one is an error, not "no image".
    func optionalImagePath(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard !(try string(key)).isEmpty else { throw error(key, "is empty; leave the field out for a record without an image") }
        return try string(key)
    }

    /// n as an Int when it is a whole number that a Double holds exactly (|n| ≤ 2^53), else
    /// nil: the checked path from a JSON number to an integer (`Int(1e300)` traps).
    static func wholeNumber(_ n: Double) -> Int? {
        n == n.rounded() && abs(n) <= 9_007_199_254_740_992 ? Int(n) : nil
    }

    /// A whole number ≥ `minimum` where one is given.
    func optionalInteger(_ key: String, minimum: Int) throws -> Int? {
        guard has(key) else { return nil }
        let n = try number(key)
        guard n == n.rounded(), n >= Double(minimum), n < 1e15 else { throw error(key, "expected a whole number ≥ \(minimum), found \(n)") }
        return Int(n)
    }

    func optionalBool(_ key: String) throws -> Bool? { has(key) ? try bool(key) : nil }

    /// Ids are whole numbers in some files and strings in others; kept as text.
    func identifier(_ key: String) throws -> String? {
        switch fields[key] ?? .null {
        case .null: return nil
        case .string(let s): return s
        case .number(let n):
            guard let whole = Self.wholeNumber(n) else {
                throw error(key, "expected a string or a whole number up to 2^53, found \(n)")
            }
            return String(whole)
        case let v: throw error(key, "expected a string or number, found \(v.typeName)")
        }
    }

    func array(_ key: String) throws -> [JSONValue] {
        guard let v = fields[key] else { throw error(key, "missing") }
        guard case .array(let a) = v else { throw error(key, "expected an array, found \(v.typeName)") }
        return a
    }
}
