import Foundation

/// Reads records from a JSON array file or a JSON Lines file (one object per line; chosen
/// by the first non-space character). JSON Lines is read line by line, so large files
/// stream; record numbers in errors are array indices or 0-based line numbers.
public enum RecordReader {
    public static func forEach(in url: URL, _ body: (RecordFields) throws -> Void) throws {
        let path = url.path
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError(file: path, message: "cannot open (missing or unreadable)")
        }
        defer { try? handle.close() }
        let head = (try handle.read(upToCount: 4096)) ?? Data()
        guard let first = head.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else {
            throw DataError(file: path, message: "empty file")
        }
        if first == UInt8(ascii: "[") {
            let data = head + ((try handle.readToEnd()) ?? Data())
            let values: [JSONValue]
            do { values = try JSONDecoder().decode([JSONValue].self, from: data) } catch {
                throw DataError(file: path, message: "malformed JSON: \(describe(error))")
            }
            for (i, v) in values.enumerated() { try body(RecordFields(v, file: path, index: i)) }
            return
        }
        var buffer = head
        var line = 0
        func emit(_ bytes: Data) throws {
            defer { line += 1 }
            guard bytes.contains(where: { !($0 == 0x20 || $0 == 0x0D || $0 == 0x09) }) else { return }
            let value: JSONValue
            do { value = try JSONDecoder().decode(JSONValue.self, from: bytes) } catch {
                throw DataError(file: path, record: line, message: "malformed JSON line: \(describe(error))")
            }
            try body(RecordFields(value, file: path, index: line))
        }
        while true {
            while let nl = buffer.firstIndex(of: 0x0A) {
                try emit(buffer[buffer.startIndex..<nl])
                buffer = buffer[(nl + 1)...]
            }
            guard let more = try handle.read(upToCount: 1 << 20), !more.isEmpty else { break }
            buffer = Data(buffer) + more
        }
        try emit(buffer)
    }

    /// All records of a file, each built by `make`.
    public static func read<T>(_ url: URL, _ make: (RecordFields) throws -> T) throws -> [T] {
        var out: [T] = []
        try forEach(in: url) { out.append(try make($0)) }
        return out
    }

    static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let c) = error {
            return (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? c.debugDescription
        }
        return "\(error)"
    }
}
