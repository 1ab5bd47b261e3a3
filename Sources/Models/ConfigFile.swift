import Foundation

/// Reads a JSON config file into a `Decodable` type; a missing field or a field of the wrong
/// type is an error naming the file and the field's full path (`vision_config.depth`).
public enum ConfigFile {
    public static func decode<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError(source: url.path, message: "cannot be read: \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw ConfigError(source: url.path, message: describe(error))
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey], _ last: CodingKey? = nil) -> String {
            (keys + (last.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "field '\(path(context.codingPath, key))' is missing"
        case .typeMismatch(let type, let context): return "field '\(path(context.codingPath))' is not \(describe(type))"
        case .valueNotFound(let type, let context): return "field '\(path(context.codingPath))' is null, expected \(describe(type))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "is not valid JSON" : "field '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "of type \(type)"
        }
    }
}
