/// GPT-2's reversible map from bytes to printable Unicode scalars, so byte sequences can be
/// BPE-merged as strings: printable Latin-1 bytes map to themselves, the rest to U+0100….
enum ByteLevel {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 0
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(256 + extra)!
                extra += 1
            }
        }
        return table
    }()

    static let scalarToByte: [Unicode.Scalar: UInt8] = {
        Dictionary(uniqueKeysWithValues: byteToScalar.enumerated().map { ($1, UInt8($0)) })
    }()

    static func encode(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for b in text.utf8 { out.append(byteToScalar[Int(b)]) }
        return String(out)
    }

    /// Bytes of a byte-level token string; scalars outside the map (from added tokens) are
    /// kept as their own UTF-8.
    static func decode(_ token: String, into bytes: inout [UInt8]) {
        for scalar in token.unicodeScalars {
            if let b = scalarToByte[scalar] { bytes.append(b) } else { bytes.append(contentsOf: String(scalar).utf8) }
        }
    }
}
