import Foundation

/// A problem with a safetensors file, naming the file and, where there is one, the tensor.
public struct SafeTensorsError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping names
/// to {dtype, shape, data_offsets} (plus optional `__metadata__` strings), then the raw data.
public enum SafeTensors {
    static let dtypeNames: [String: DType] = [
        "F64": .float64, "F32": .float32, "F16": .float16, "BF16": .bfloat16, "I64": .int64,
        "I32": .int32, "I16": .int16, "I8": .int8, "U8": .uint8, "BOOL": .bool,
    ]

    static func name(of dtype: DType) -> String {
        dtypeNames.first { $0.value == dtype }!.key
    }

    /// Writes `tensors` (and string metadata) atomically: a temporary file beside `url`, then rename.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var blobs: [[UInt8]] = []
        var offset = 0
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            let bytes = try t.bytes()
            header[name] = ["dtype": SafeTensors.name(of: t.dtype), "shape": t.shape, "data_offsets": [offset, offset + bytes.count]]
            offset += bytes.count
            blobs.append(bytes)
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for b in blobs { out.append(contentsOf: b) }
        try AtomicFile.write(out, to: url)
    }

    /// Reads every tensor of a file.
    public static func read(_ url: URL) throws -> [String: Tensor] {
        let file = try SafeTensorsFile(url)
        var out: [String: Tensor] = [:]
        for name in file.names { out[name] = try file.tensor(name) }
        return out
    }
}

/// A memory-mapped safetensors file; tensors are copied out one by one on request.
public final class SafeTensorsFile {
    public struct Entry {
        public let dtype: DType
        public let shape: [Int]
        let range: Range<Int>
    }

    public let path: String
    public let metadata: [String: String]
    public let entries: [String: Entry]
    private let map: MappedFile

    public var names: [String] { entries.keys.sorted() }

    public init(_ url: URL) throws {
        let filePath = url.path
        path = filePath
        do { map = try MappedFile(path: filePath) } catch {
            throw SafeTensorsError(path: filePath, message: "cannot open: \(error.localizedDescription)")
        }
        func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(path: filePath, message: message) }
        guard map.count >= 8 else { throw fail("truncated: \(map.count) bytes, a safetensors file has at least 8") }
        let headerLength = map.bytes(0..<8).loadUnaligned(as: UInt64.self).littleEndian
        guard headerLength <= UInt64(map.count - 8) else {
            throw fail("truncated or not safetensors: header says \(headerLength) bytes, file has \(map.count - 8) after the length")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(map.bytes(8..<dataStart))) } catch {
            throw fail("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("tensor '\(name)': entry is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw fail("tensor '\(name)': missing field 'dtype'") }
            guard let dtype = SafeTensors.dtypeNames[dtypeName] else {
                throw fail("tensor '\(name)': unsupported dtype '\(dtypeName)' (supported: \(SafeTensors.dtypeNames.keys.sorted().joined(separator: ", ")))")
            }
            guard let shape = info["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor '\(name)': field 'shape' must be a list of non-negative integers")
            }
            guard let offsets = info["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw fail("tensor '\(name)': field 'data_offsets' must be [begin, end]")
            }
            let need = shape.reduce(1, *) * dtype.byteSize
            guard offsets[1] - offsets[0] == need else {
                throw fail("tensor '\(name)': data_offsets span \(offsets[1] - offsets[0]) bytes, shape \(shape) of \(dtypeName) needs \(need)")
            }
            guard dataStart + offsets[1] <= map.count else {
                throw fail("truncated: tensor '\(name)' ends at byte \(dataStart + offsets[1]), file has \(map.count)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }
        self.metadata = metadata
        self.entries = entries
    }

    /// A CPU tensor holding a copy of tensor `name`.
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw SafeTensorsError(path: path, message: "no tensor named '\(name)'") }
        return try Tensor(bytes: map.bytes(e.range), shape: e.shape, dtype: e.dtype)
    }
}

/// A checkpoint of one safetensors file or several shards listed by `*.safetensors.index.json`.
public final class SafeTensorsCheckpoint {
    public let files: [SafeTensorsFile]
    private let owner: [String: SafeTensorsFile]

    public var names: [String] { owner.keys.sorted() }

    /// Opens a `.safetensors` file, a `*.safetensors.index.json`, or a directory holding either
    /// (`model.safetensors.index.json` preferred, then `model.safetensors`).
    public init(_ url: URL) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw SafeTensorsError(path: url.path, message: "no such file or directory")
        }
        var target = url
        if isDir.boolValue {
            let index = url.appendingPathComponent("model.safetensors.index.json")
            let single = url.appendingPathComponent("model.safetensors")
            if FileManager.default.fileExists(atPath: index.path) { target = index }
            else if FileManager.default.fileExists(atPath: single.path) { target = single }
            else { throw SafeTensorsError(path: url.path, message: "holds neither model.safetensors.index.json nor model.safetensors") }
        }
        if target.lastPathComponent.hasSuffix(".index.json") {
            let data = try Data(contentsOf: target)
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let weightMap = json["weight_map"] as? [String: String] else {
                throw SafeTensorsError(path: target.path, message: "field 'weight_map' (tensor name → shard file) is missing or malformed")
            }
            let dir = target.deletingLastPathComponent()
            var shards: [String: SafeTensorsFile] = [:]
            for shard in Set(weightMap.values).sorted() { shards[shard] = try SafeTensorsFile(dir.appendingPathComponent(shard)) }
            var owner: [String: SafeTensorsFile] = [:]
            for (name, shard) in weightMap {
                guard shards[shard]!.entries[name] != nil else {
                    throw SafeTensorsError(path: target.path, message: "weight_map puts '\(name)' in \(shard), which does not hold it")
                }
                owner[name] = shards[shard]
            }
            files = shards.keys.sorted().map { shards[$0]! }
            self.owner = owner
        } else {
            let file = try SafeTensorsFile(target)
            files = [file]
            owner = Dictionary(uniqueKeysWithValues: file.names.map { ($0, file) })
        }
    }

    public func entry(_ name: String) -> SafeTensorsFile.Entry? { owner[name]?.entries[name] }

    public func tensor(_ name: String) throws -> Tensor {
        guard let file = owner[name] else {
            throw SafeTensorsError(path: files.first?.path ?? "", message: "checkpoint has no tensor named '\(name)'")
        }
        return try file.tensor(name)
    }
}
