import Foundation

/// A PNG writer for RGB images: zlib stream with fixed-Huffman deflate and LZ77 matches, enough
/// to shrink plots (large flat areas, repeated rows) to tens of kilobytes without a library.
public enum PNG {
    public static func encode(width: Int, height: Int, rgb: [UInt8]) -> Data {
        precondition(rgb.count == width * height * 3)
        var raw = [UInt8]()
        raw.reserveCapacity((width * 3 + 1) * height)
        for y in 0..<height {
            raw.append(0)  // filter: none
            raw += rgb[(y * width * 3)..<((y + 1) * width * 3)]
        }
        var header = [UInt8]()
        header += bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]  // 8-bit depth, truecolour, deflate, no filter, no interlace
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        out += chunk("IHDR", header)
        out += chunk("IDAT", zlib(raw))
        out += chunk("IEND", [])
        return out
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ body: [UInt8]) -> Data {
        let typed = Array(type.utf8) + body
        return Data(bigEndian(UInt32(body.count)) + typed + bigEndian(crc32(typed)))
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(UInt32.max) { crcTable[Int(($0 ^ UInt32($1)) & 0xFF)] ^ ($0 >> 8) }
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for chunk in stride(from: 0, to: bytes.count, by: 5552) {
            for byte in bytes[chunk..<Swift.min(chunk + 5552, bytes.count)] { a += UInt32(byte); b += a }
            a %= 65521; b %= 65521
        }
        return b << 16 | a
    }

    /// zlib header, one final fixed-Huffman deflate block, Adler-32.
    static func zlib(_ data: [UInt8]) -> [UInt8] {
        var bits = BitWriter()
        bits.write(1, count: 1)  // final block
        bits.write(1, count: 2)  // fixed Huffman
        var table = [Int](repeating: -1, count: 1 << 15)
        func hash(_ i: Int) -> Int { (Int(data[i]) << 10 ^ Int(data[i + 1]) << 5 ^ Int(data[i + 2])) & 0x7FFF }
        var i = 0
        while i < data.count {
            var length = 0, distance = 0
            if i + 2 < data.count {
                let h = hash(i), candidate = table[h]
                table[h] = i
                if candidate >= 0, i - candidate <= 32768 {
                    while length < 258, i + length < data.count, data[candidate + length] == data[i + length] { length += 1 }
                    distance = i - candidate
                }
            }
            if length >= 3 {
                bits.writeLength(length)
                bits.writeDistance(distance)
                for j in (i + 1)..<Swift.min(i + length, data.count - 2) { table[hash(j)] = j }
                i += length
            } else {
                bits.writeSymbol(Int(data[i]))
                i += 1
            }
        }
        bits.writeSymbol(256)
        return [0x78, 0x01] + bits.finished + bigEndian(adler32(data))
    }
}

/// Deflate's LSB-first bit stream, with the fixed Huffman code (RFC 1951 §3.2.6).
struct BitWriter {
    var bytes: [UInt8] = []
    private var buffer: UInt32 = 0, filled = 0

    mutating func write(_ value: Int, count: Int) {
        for k in 0..<count {
            buffer |= UInt32((value >> k) & 1) << UInt32(filled)
            filled += 1
            if filled == 8 { bytes.append(UInt8(buffer)); buffer = 0; filled = 0 }
        }
    }

    /// Huffman codes go most significant bit first.
    mutating func writeCode(_ code: Int, count: Int) {
        for k in stride(from: count - 1, through: 0, by: -1) { write((code >> k) & 1, count: 1) }
    }

    mutating func writeSymbol(_ s: Int) {
        switch s {
        case 0...143: writeCode(0x30 + s, count: 8)
        case 144...255: writeCode(0x190 + s - 144, count: 9)
        case 256...279: writeCode(s - 256, count: 7)
        default: writeCode(0xC0 + s - 280, count: 8)
        }
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                               4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    mutating func writeLength(_ length: Int) {
        let code = Self.lengthBase.lastIndex { $0 <= length }!
        writeSymbol(257 + code)
        write(length - Self.lengthBase[code], count: Self.lengthExtra[code])
    }

    mutating func writeDistance(_ distance: Int) {
        let code = Self.distanceBase.lastIndex { $0 <= distance }!
        writeCode(code, count: 5)
        write(distance - Self.distanceBase[code], count: Self.distanceExtra[code])
    }

    var finished: [UInt8] { filled > 0 ? bytes + [UInt8(buffer)] : bytes }
}
