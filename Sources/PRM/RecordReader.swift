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
        var head = (try handle.read(upToCount: 4096)) ?? Data()
        if head.starts(with: [0xEF, 0xBB, 0xBF]) { head = head.dropFirst(3) }  // a UTF-8 byte-order mark
        if head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF]) || head.prefix(64).contains(0) {
            throw DataError(file: path, message: "is not UTF-8 (it looks like UTF-16 or UTF-32); save it as UTF-8")
        }
        guard let first = head.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else {
            throw DataError(file: path, message: "empty file")
        }
        if first == UInt8(ascii: "[") {
            let data = head + ((try handle.readToEnd()) ?? Data())
            if let offset = UTF8Check.firstInvalidByte(data) {
                let line = data.prefix(offset - data.startIndex).filter { $0 == 0x0A }.count + 1
                throw DataError(file: path, message: "is not valid UTF-8: bad byte at offset \(offset - data.startIndex) (line \(line))")
            }
            do { try JSONSyntax.check(data) } catch let e as JSONSyntaxError { throw DataError(file: path, message: "malformed JSON at \(e)") }
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
            if let offset = UTF8Check.firstInvalidByte(bytes) {
                throw DataError(file: path, record: line, message: "is not valid UTF-8: bad byte at column \(offset - bytes.startIndex + 1)")
            }
            do { try JSONSyntax.check(Data(bytes)) } catch let e as JSONSyntaxError {
                throw DataError(file: path, record: line, message: "malformed JSON line (line \(line + 1), column \(e.column)): \(e.message)")
            }
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

    /// A decoding error as one sentence, with where in the document it happened.
    static func describe(_ error: Error) -> String {
        guard case DecodingError.dataCorrupted(let c) = error else { return "\(error)" }
        let message = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? c.debugDescription
        guard !c.codingPath.isEmpty else { return message }
        var path = c.codingPath
        let record = path.first?.intValue.map { "record \($0)" }
        if record != nil { path.removeFirst() }
        let field = path.isEmpty ? nil : "field '" + path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." } + "'"
        return "\(message) (at \([record, field].compactMap { $0 }.joined(separator: ", ")))"
    }
}

/// Finds the first byte that breaks UTF-8 (a bad lead or continuation byte, an overlong or
/// surrogate form, a sequence cut short).
enum UTF8Check {
    static func firstInvalidByte(_ bytes: Data) -> Int? {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            let (length, low, high): (Int, UInt8, UInt8)
            switch b {
            case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
            case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
            case 0xED: (length, low, high) = (3, 0x80, 0x9F)
            case 0xE1...0xEF: (length, low, high) = (3, 0x80, 0xBF)
            case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
            case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
            case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
            default: return i
            }
            guard i + length <= end, (low...high).contains(bytes[i + 1]) else { return i }
            for k in 2..<length where !(0x80...0xBF).contains(bytes[i + k]) { return i }
            i += length
        }
        return nil
    }
}
