import Foundation
import PRM

/// An append-only JSON Lines file of finished work that a killed run resumes from: every
/// line is written whole and flushed to disk before the next piece of work starts; on
/// resume, a last line cut off by the kill is dropped (its work is redone), and the lines
/// before it are the work already done.
public final class JSONLinesJournal<Line: Codable> {
    public let url: URL
    public private(set) var lines: [Line] = []
    private let handle: FileHandle
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// `resume`: continue the file where it is; otherwise it must not exist yet or be empty (a
    /// run that failed before its first line).
    public init(_ url: URL, resume: Bool) throws {
        self.url = url
        let fm = FileManager.default
        if fm.fileExists(atPath: url.path) {
            var data = try Data(contentsOf: url)
            guard resume || data.isEmpty else {
                throw DataError(file: url.path, message: "exists: pass --resume to continue it, or remove it to start again")
            }
            if let lastNewline = data.lastIndex(of: 0x0A) { data = data.prefix(through: lastNewline) } else { data = Data() }
            for (i, line) in data.split(separator: 0x0A, omittingEmptySubsequences: true).enumerated() {
                do { lines.append(try JSONDecoder().decode(Line.self, from: Data(line))) } catch {
                    throw DataError(file: url.path, record: i, message: "is not a line this command wrote (\(error)); remove the file to start again")
                }
            }
            try data.write(to: url)  // without the cut-off line
        } else {
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard fm.createFile(atPath: url.path, contents: nil) else { throw DataError(file: url.path, message: "cannot be created") }
        }
        guard let handle = FileHandle(forWritingAtPath: url.path) else { throw DataError(file: url.path, message: "cannot be opened for writing") }
        self.handle = handle
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    public func append(_ line: Line) throws {
        var data = try encoder.encode(line)
        data.append(0x0A)
        try handle.write(contentsOf: data)
        try handle.synchronize()
        lines.append(line)
    }
}
