import Foundation

/// Writes that never leave a half-written file behind: data goes to a temporary sibling,
/// is flushed, and is renamed over the target (atomic within one file system).
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        do {
            try data.write(to: tmp)
            if rename(tmp.path, url.path) != 0 {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    /// JSON Lines, one object per line, written atomically.
    public static func writeJSONLines(_ objects: [Any], to url: URL, options: JSONSerialization.WritingOptions = [.sortedKeys]) throws {
        var lines = Data()
        for object in objects {
            lines.append(try JSONSerialization.data(withJSONObject: object, options: options))
            lines.append(0x0A)
        }
        try write(lines, to: url)
    }

    /// Builds a directory in a temporary sibling with `fill`, then puts it in place of `url`.
    /// An existing directory at `url` is moved aside first and removed only after the swap.
    public static func writeDirectory(at url: URL, _ fill: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = url.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let tag = "\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        let tmp = parent.appendingPathComponent(".\(url.lastPathComponent).tmp-\(tag)")
        let old = parent.appendingPathComponent(".\(url.lastPathComponent).old-\(tag)")
        try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
        do {
            try fill(tmp)
            let existed = fm.fileExists(atPath: url.path)
            if existed { try fm.moveItem(at: url, to: old) }
            do { try fm.moveItem(at: tmp, to: url) } catch {
                if existed { try? fm.moveItem(at: old, to: url) }
                throw error
            }
            if existed { try? fm.removeItem(at: old) }
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
    }

    /// Removes what writes killed midway left in `dir` (`.NAME.tmp-*` files and directories)
    /// and puts back a directory that was moved aside when its replacement never arrived
    /// (`.NAME.old-*` without NAME). Returns what it did, for the log.
    @discardableResult
    public static func cleanLeftovers(in dir: URL) throws -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: dir.path) else { return [] }
        var done: [String] = []
        for name in names.sorted() where name.hasPrefix(".") {
            let item = dir.appendingPathComponent(name)
            if name.contains(".tmp-") {
                try fm.removeItem(at: item)
                done.append("removed \(name)")
            } else if let r = name.range(of: ".old-") {
                let target = dir.appendingPathComponent(String(name[name.index(after: name.startIndex)..<r.lowerBound]))
                if fm.fileExists(atPath: target.path) {
                    try fm.removeItem(at: item)
                    done.append("removed \(name)")
                } else {
                    try fm.moveItem(at: item, to: target)
                    done.append("restored \(target.lastPathComponent) from \(name)")
                }
            }
        }
        return done
    }
}
