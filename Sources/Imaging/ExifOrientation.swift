/// The EXIF orientation tag (0x0112) of a JPEG (APP1 "Exif" segment) or PNG (eXIf chunk);
/// nil when the file has none or it cannot be read (an unreadable EXIF block is not an
/// unreadable image).
enum ExifOrientation {
    static func jpeg(_ bytes: [UInt8]) -> Int? {
        var i = 2  // after SOI
        while i + 4 <= bytes.count, bytes[i] == 0xFF {
            let marker = bytes[i + 1]
            if marker == 0xDA || marker == 0xD9 { return nil }  // image data or end: no EXIF before it
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            let body = i + 4
            if marker == 0xE1, length >= 8, body + length - 2 <= bytes.count,
               bytes[body..<body + 6].elementsEqual([0x45, 0x78, 0x69, 0x66, 0, 0]) {  // "Exif\0\0"
                return tiff(bytes[(body + 6)..<(body + length - 2)])
            }
            i = body + length - 2
        }
        return nil
    }

    static func png(_ bytes: [UInt8]) -> Int? {
        var i = 8  // after the signature
        while i + 8 <= bytes.count {
            let length = bytes[i..<i + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            let body = i + 8
            guard length >= 0, body + length <= bytes.count else { return nil }
            if type == "eXIf" { return tiff(bytes[body..<body + length]) }
            if type == "IDAT" || type == "IEND" { return nil }
            i = body + length + 4  // and the CRC
        }
        return nil
    }

    /// Tag 0x0112 of IFD0 in a TIFF block.
    private static func tiff(_ block: ArraySlice<UInt8>) -> Int? {
        let b = Array(block)
        guard b.count >= 8 else { return nil }
        let little: Bool
        switch (b[0], b[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func read(_ at: Int, _ n: Int) -> Int? {
            guard at >= 0, at + n <= b.count else { return nil }
            let bytes = b[at..<at + n]
            return (little ? bytes.reversed() : Array(bytes)).reduce(0) { $0 << 8 | Int($1) }
        }
        guard let ifd = read(4, 4), let count = read(ifd, 2) else { return nil }
        for entry in 0..<count {
            let at = ifd + 2 + entry * 12
            guard let tag = read(at, 2) else { return nil }
            if tag == 0x0112 { return read(at + 8, 2) }  // SHORT, left-aligned in the value field
        }
        return nil
    }
}
