import Foundation

/// A problem with a GGUF file, naming the file and the key or tensor involved.
public struct GGUFError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}

/// One metadata value of a GGUF file.
public indirect enum GGUFValue: Equatable, CustomStringConvertible {
    case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String)
    case array([GGUFValue])
    /// An array of strings (token lists, merges), kept unboxed.
    case stringArray([String])

    public var int: Int? {
        switch self {
        case .uint(let v): return Int(exactly: v)
        case .int(let v): return Int(exactly: v)
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .float(let v): return v
        case .uint(let v): return Double(v)
        case .int(let v): return Double(v)
        default: return nil
        }
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    public var strings: [String]? {
        switch self {
        case .stringArray(let s): return s
        case .array(let a): return a.allSatisfy { $0.string != nil } ? a.map { $0.string! } : nil
        default: return nil
        }
    }

    public var ints: [Int]? {
        guard case .array(let a) = self else { return nil }
        let v = a.compactMap(\.int)
        return v.count == a.count ? v : nil
    }

    public var doubles: [Double]? {
        guard case .array(let a) = self else { return nil }
        let v = a.compactMap(\.double)
        return v.count == a.count ? v : nil
    }

    public var description: String {
        switch self {
        case .uint(let v): return "\(v)"
        case .int(let v): return "\(v)"
        case .float(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let s): return s.count > 80 ? "\"\(s.prefix(80))…\"" : "\"\(s)\""
        case .array(let a): return "[\(a.count) values]"
        case .stringArray(let a): return "[\(a.count) strings]"
        }
    }
}

/// A GGUF file (versions 2 and 3): metadata, tensor infos and memory-mapped tensor data.
/// Tensors come out dequantised to float32 in PyTorch's dimension order.
public final class GGUFFile {
    public struct TensorInfo {
        public let name: String
        /// Sizes in PyTorch order (GGUF stores the fastest dimension first; this is reversed).
        public let shape: [Int]
        public let type: GGMLType
        let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    public let tensors: [TensorInfo]
    public let alignment: Int
    private let map: MappedFile
    private let dataStart: Int
    private let byName: [String: Int]

    public init(_ url: URL) throws {
        let filePath = url.path
        path = filePath
        do { map = try MappedFile(path: filePath) } catch {
            throw GGUFError(path: filePath, message: "cannot open: \(error.localizedDescription)")
        }
        var r = GGUFCursor(bytes: map.bytes(0..<map.count), path: filePath)
        guard try r.read(UInt32.self) == 0x4655_4747 else { throw GGUFError(path: filePath, message: "not a GGUF file (bad magic)") }
        let version = Int(try r.read(UInt32.self))
        guard version == 2 || version == 3 else {
            throw GGUFError(path: filePath, message: "GGUF version \(version) is not supported (2 and 3 are)")
        }
        self.version = version
        let tensorCount = Int(try r.read(UInt64.self)), kvCount = Int(try r.read(UInt64.self))
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<kvCount {
            let key = try r.string()
            let type = try r.read(UInt32.self)
            do { metadata[key] = try r.value(type: type) } catch let e as GGUFError {
                throw GGUFError(path: filePath, message: "metadata '\(key)': \(e.message)")
            }
        }
        self.metadata = metadata
        alignment = metadata["general.alignment"]?.int ?? 32
        var infos: [TensorInfo] = []
        for _ in 0..<tensorCount {
            let name = try r.string()
            let nDims = Int(try r.read(UInt32.self))
            guard nDims <= 8 else { throw GGUFError(path: filePath, message: "tensor '\(name)': \(nDims) dimensions") }
            var dims: [Int] = []
            for _ in 0..<nDims { dims.append(Int(try r.read(UInt64.self))) }
            let rawType = try r.read(UInt32.self)
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError(path: filePath, message: "tensor '\(name)': unknown ggml type \(rawType)")
            }
            let offset = Int(try r.read(UInt64.self))
            infos.append(TensorInfo(name: name, shape: dims.reversed(), type: type, offset: offset))
        }
        tensors = infos
        dataStart = (r.position + alignment - 1) / alignment * alignment
        byName = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
        for t in infos {
            let end = dataStart + t.offset + (try t.type.byteCount(elements: t.count, name: t.name, path: filePath))
            guard end <= map.count else {
                throw GGUFError(path: filePath, message: "truncated: tensor '\(t.name)' ends at byte \(end), file has \(map.count)")
            }
        }
    }

    public func info(_ name: String) -> TensorInfo? { byName[name].map { tensors[$0] } }

    /// The raw (still quantised) bytes of a tensor.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let t = info(name) else { throw GGUFError(path: path, message: "no tensor named '\(name)'") }
        let start = dataStart + t.offset
        return map.bytes(start..<(start + (try t.type.byteCount(elements: t.count, name: name, path: path))))
    }

    /// A float32 CPU tensor with the dequantised values of `name`.
    public func tensor(_ name: String) throws -> Tensor {
        guard let t = info(name) else { throw GGUFError(path: path, message: "no tensor named '\(name)'") }
        let raw = try rawBytes(name)
        let out = try Tensor.empty(t.shape, dtype: .float32)
        try out.withUnsafeMutableBytes { buffer in
            try Dequantize.decode(raw, type: t.type, count: t.count, into: buffer.baseAddress!.assumingMemoryBound(to: Float.self))
        }
        return out
    }
}

/// A bounds-checked little-endian reader over the header.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        guard position + n <= bytes.count else {
            throw GGUFError(path: path, message: "truncated header at byte \(position)")
        }
        defer { position += n }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    mutating func string() throws -> String {
        let n = Int(try read(UInt64.self))
        guard n <= bytes.count - position else { throw GGUFError(path: path, message: "truncated string at byte \(position)") }
        defer { position += n }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)]), as: UTF8.self)
    }

    mutating func value(type: UInt32) throws -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try read(UInt8.self)))
        case 1: return .int(Int64(try read(Int8.self)))
        case 2: return .uint(UInt64(try read(UInt16.self)))
        case 3: return .int(Int64(try read(Int16.self)))
        case 4: return .uint(UInt64(try read(UInt32.self)))
        case 5: return .int(Int64(try read(Int32.self)))
        case 6: return .float(Double(Float(bitPattern: try read(UInt32.self))))
        case 7: return .bool(try read(UInt8.self) != 0)
        case 8: return .string(try string())
        case 9:
            let itemType = try read(UInt32.self)
            let count = Int(try read(UInt64.self))
            guard count <= bytes.count - position else { throw GGUFError(path: path, message: "array of \(count) items overruns the file") }
            if itemType == 8 {
                var out: [String] = []
                out.reserveCapacity(count)
                for _ in 0..<count { out.append(try string()) }
                return .stringArray(out)
            }
            var out: [GGUFValue] = []
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try value(type: itemType)) }
            return .array(out)
        case 10: return .uint(try read(UInt64.self))
        case 11: return .int(Int64(bitPattern: try read(UInt64.self)))
        case 12: return .float(Double(bitPattern: try read(UInt64.self)))
        default: throw GGUFError(path: path, message: "unknown metadata value type \(type)")
        }
    }
}
