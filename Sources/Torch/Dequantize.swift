/// Decoding of ggml block formats to float32, element for element as ggml's reference
/// `dequantize_row_*` functions (checked against the `gguf` Python package's output).
public enum Dequantize {
    public struct UnsupportedType: Error, CustomStringConvertible {
        public let type: GGMLType
        public var description: String { "dequantisation of \(type) is not implemented" }
    }

    public static func toFloat32(_ raw: UnsafeRawBufferPointer, type: GGMLType, count: Int) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: count) { out, initialized in
            try decode(raw, type: type, count: count, into: out.baseAddress!)
            initialized = count
        }
    }

    /// Decodes `count` elements into `y` (which has room for them).
    public static func decode(_ raw: UnsafeRawBufferPointer, type: GGMLType, count: Int, into y: UnsafeMutablePointer<Float>) throws {
        let (per, bytes) = type.block
        precondition(count % per == 0 && raw.count >= count / per * bytes, "caller checked the size")
        let blocks = count / per
        switch type {
        case .f32: for i in 0..<count { y[i] = Float(bitPattern: raw.load32(i * 4)) }
        case .f16: for i in 0..<count { y[i] = raw.half(i * 2) }
        case .bf16: for i in 0..<count { y[i] = Float(bitPattern: UInt32(raw.load16(i * 2)) << 16) }
        case .q4_0: for b in 0..<blocks { q4_0(raw, b * bytes, y + b * 32) }
        case .q4_1: for b in 0..<blocks { q4_1(raw, b * bytes, y + b * 32) }
        case .q5_0: for b in 0..<blocks { q5_0(raw, b * bytes, y + b * 32) }
        case .q5_1: for b in 0..<blocks { q5_1(raw, b * bytes, y + b * 32) }
        case .q8_0: for b in 0..<blocks { q8_0(raw, b * bytes, y + b * 32) }
        case .q4_K: for b in 0..<blocks { q4_K(raw, b * bytes, y + b * 256) }
        case .q5_K: for b in 0..<blocks { q5_K(raw, b * bytes, y + b * 256) }
        case .q6_K: for b in 0..<blocks { q6_K(raw, b * bytes, y + b * 256) }
        case .q8_1, .q2_K, .q3_K, .q8_K: throw UnsupportedType(type: type)
        }
    }

    // Blocks of 32: a float16 scale d (and a minimum m), then 4- or 8-bit quants. In the
    // 4/5-bit formats byte j holds element j in its low nibble and element j+16 in its high one.

    static func q4_0(_ r: UnsafeRawBufferPointer, _ o: Int, _ y: UnsafeMutablePointer<Float>) {
        let d = r.half(o)
        for j in 0..<16 {
            let q = r[o + 2 + j]
            y[j] = Float(Int(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    static func q4_1(_ r: UnsafeRawBufferPointer, _ o: Int, _ y: UnsafeMutablePointer<Float>) {
        let d = r.half(o), m = r.half(o + 2)
        for j in 0..<16 {
            let q = r[o + 4 + j]
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// The fifth bits live in a 32-bit mask: bit j for element j, bit j+16 for element j+16.
    static func q5_0(_ r: UnsafeRawBufferPointer, _ o: Int, _ y: UnsafeMutablePointer<Float>) {
        let d = r.half(o), qh = r.load32(o + 2)
        for j in 0..<16 {
            let q = r[o + 6 + j]
            let h0 = UInt8(((qh >> UInt32(j)) << 4) & 0x10), h1 = UInt8((qh >> UInt32(j + 12)) & 0x10)
            y[j] = Float(Int((q & 0x0F) | h0) - 16) * d
            y[j + 16] = Float(Int((q >> 4) | h1) - 16) * d
        }
    }

    static func q5_1(_ r: UnsafeRawBufferPointer, _ o: Int, _ y: UnsafeMutablePointer<Float>) {
        let d = r.half(o), m = r.half(o + 2), qh = r.load32(o + 4)
        for j in 0..<16 {
            let q = r[o + 8 + j]
            let h0 = UInt8(((qh >> UInt32(j)) << 4) & 0x10), h1 = UInt8((qh >> UInt32(j + 12)) & 0x10)
            y[j] = Float((q & 0x0F) | h0) * d + m
            y[j + 16] = Float((q >> 4) | h1) * d + m
        }
    }

    static func q8_0(_ r: UnsafeRawBufferPointer, _ o: Int, _ y: UnsafeMutablePointer<Float>) {
        let d = r.half(o)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: r[o + 2 + j])) * d }
    }

    // Super-blocks of 256 in 8 sub-blocks of 32, with 6-bit sub-block scales and minimums
    // packed into 12 bytes (ggml's get_scale_min_k4).

    @inline(__always)
    static func scaleMin(_ j: Int, _ r: UnsafeRawBufferPointer, _ s: Int) -> (Float, Float) {
        if j < 4 { return (Float(r[s + j] & 63), Float(r[s + j + 4] & 63)) }
        let d = (r[s + j + 4] & 0x0F) | ((r[s + j - 4] >> 6) << 4)
        let m = (r[s + j + 4] >> 4) | ((r[s + j] >> 6) << 4)
        return (Float(d), Float(m))
    }

    static func q4_K(_ r: UnsafeRawBufferPointer, _ o: Int, _ y: UnsafeMutablePointer<Float>) {
        let d = r.half(o), dmin = r.half(o + 2)
        let scales = o + 4, qs = o + 16
        for j in 0..<4 {
            let (sc1, m1) = scaleMin(2 * j, r, scales), (sc2, m2) = scaleMin(2 * j + 1, r, scales)
            let d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2
            let q = qs + 32 * j, out = y + 64 * j
            for l in 0..<32 {
                out[l] = d1 * Float(r[q + l] & 0x0F) - mm1
                out[l + 32] = d2 * Float(r[q + l] >> 4) - mm2
            }
        }
    }

    static func q5_K(_ r: UnsafeRawBufferPointer, _ o: Int, _ y: UnsafeMutablePointer<Float>) {
        let d = r.half(o), dmin = r.half(o + 2)
        let scales = o + 4, qh = o + 16, qs = o + 48
        for j in 0..<4 {
            let (sc1, m1) = scaleMin(2 * j, r, scales), (sc2, m2) = scaleMin(2 * j + 1, r, scales)
            let d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2
            let u1 = UInt8(1) << UInt8(2 * j), u2 = UInt8(2) << UInt8(2 * j)
            let q = qs + 32 * j, out = y + 64 * j
            for l in 0..<32 {
                let h = r[qh + l]
                out[l] = d1 * Float((r[q + l] & 0x0F) + (h & u1 != 0 ? 16 : 0)) - mm1
                out[l + 32] = d2 * Float((r[q + l] >> 4) + (h & u2 != 0 ? 16 : 0)) - mm2
            }
        }
    }

    /// 6-bit quants: low 4 bits in ql[128], high 2 bits in qh[64], int8 scales per 16, then d.
    static func q6_K(_ r: UnsafeRawBufferPointer, _ o: Int, _ y: UnsafeMutablePointer<Float>) {
        let d = r.half(o + 208)
        for half in 0..<2 {
            let ql = o + 64 * half, qh = o + 128 + 32 * half, sc = o + 192 + 8 * half, out = y + 128 * half
            for l in 0..<32 {
                let s = l / 16, h = r[qh + l]
                let q1 = Int((r[ql + l] & 0x0F) | ((h & 3) << 4)) - 32
                let q2 = Int((r[ql + l + 32] & 0x0F) | (((h >> 2) & 3) << 4)) - 32
                let q3 = Int((r[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32
                let q4 = Int((r[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32
                out[l] = d * Float(Int8(bitPattern: r[sc + s])) * Float(q1)
                out[l + 32] = d * Float(Int8(bitPattern: r[sc + s + 2])) * Float(q2)
                out[l + 64] = d * Float(Int8(bitPattern: r[sc + s + 4])) * Float(q3)
                out[l + 96] = d * Float(Int8(bitPattern: r[sc + s + 6])) * Float(q4)
            }
        }
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always) func load16(_ o: Int) -> UInt16 { UInt16(littleEndian: loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    @inline(__always) func load32(_ o: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    @inline(__always) func half(_ o: Int) -> Float { Float(Float16(bitPattern: load16(o))) }
}
