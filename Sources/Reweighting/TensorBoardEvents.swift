import Foundation

/// Scalars as TensorBoard event files (`events.out.tfevents.*`): TFRecord framing (length,
/// masked CRC-32C of the length, the record, masked CRC-32C of the record) around `Event`
/// protocol buffers with a `Summary` of `simple_value`s, written by hand so no protobuf
/// library is needed. Each write is flushed, so a killed run keeps what it logged.
public final class TensorBoardWriter {
    public let url: URL
    private let handle: FileHandle

    /// Opens a new event file in `directory` (named as TensorBoard's writers name them).
    public init(directory: URL, wallTime: Double = Date().timeIntervalSince1970) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_")
        url = directory.appendingPathComponent("events.out.tfevents.\(Int(wallTime)).\(host).\(ProcessInfo.processInfo.processIdentifier)")
        FileManager.default.createFile(atPath: url.path, contents: nil)
        handle = try FileHandle(forWritingTo: url)
        try write(Self.event(wallTime: wallTime, step: 0, fileVersion: "brain.Event:2"))
    }

    deinit { try? handle.close() }

    /// One event holding the scalars of one step (tags sorted, non-finite values kept as such).
    public func add(step: Int, scalars: [String: Double], wallTime: Double = Date().timeIntervalSince1970) throws {
        guard !scalars.isEmpty else { return }
        var summary = Data()
        for (tag, value) in scalars.sorted(by: { $0.key < $1.key }) {
            var v = Data()
            Proto.string(1, tag, into: &v)
            Proto.float(2, Float(value), into: &v)
            Proto.bytes(1, v, into: &summary)
        }
        try write(Self.event(wallTime: wallTime, step: step, summary: summary))
    }

    static func event(wallTime: Double, step: Int, fileVersion: String? = nil, summary: Data? = nil) -> Data {
        var e = Data()
        Proto.double(1, wallTime, into: &e)
        Proto.varint(2, UInt64(bitPattern: Int64(step)), into: &e)
        if let fileVersion { Proto.string(3, fileVersion, into: &e) }
        if let summary { Proto.bytes(5, summary, into: &e) }
        return e
    }

    private func write(_ record: Data) throws {
        try handle.write(contentsOf: Self.frame(record))
    }

    /// TFRecord framing of one record.
    static func frame(_ record: Data) -> Data {
        var length = withUnsafeBytes(of: UInt64(record.count).littleEndian) { Data($0) }
        let lengthCRC = withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { Data($0) }
        length.append(lengthCRC)
        length.append(record)
        length.append(withUnsafeBytes(of: CRC32C.masked(record).littleEndian) { Data($0) })
        return length
    }
}

/// The protocol-buffer wire format, for the few field types an event needs.
enum Proto {
    static func rawVarint(_ value: UInt64, into data: inout Data) {
        var v = value
        while v >= 0x80 {
            data.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        data.append(UInt8(v))
    }

    static func key(_ field: Int, _ wireType: UInt64, into data: inout Data) { rawVarint(UInt64(field) << 3 | wireType, into: &data) }

    static func varint(_ field: Int, _ value: UInt64, into data: inout Data) {
        key(field, 0, into: &data)
        rawVarint(value, into: &data)
    }

    static func double(_ field: Int, _ value: Double, into data: inout Data) {
        key(field, 1, into: &data)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    static func float(_ field: Int, _ value: Float, into data: inout Data) {
        key(field, 5, into: &data)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    static func bytes(_ field: Int, _ value: Data, into data: inout Data) {
        key(field, 2, into: &data)
        rawVarint(UInt64(value.count), into: &data)
        data.append(value)
    }

    static func string(_ field: Int, _ value: String, into data: inout Data) { bytes(field, Data(value.utf8), into: &data) }
}

/// CRC-32C (Castagnoli), as TFRecord checks its frames, with TensorFlow's mask.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static func masked(_ data: Data) -> UInt32 {
        let crc = checksum(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
