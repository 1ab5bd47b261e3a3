/// Tensor encodings in GGUF files (ggml's type ids). The block layouts follow ggml's
/// `ggml-common.h`; see `Dequantize` for how each is decoded.
public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case bf16 = 30

    /// (elements per block, bytes per block)
    public var block: (elements: Int, bytes: Int) {
        switch self {
        case .f32: return (1, 4)
        case .f16, .bf16: return (1, 2)
        case .q4_0: return (32, 18)
        case .q4_1: return (32, 20)
        case .q5_0: return (32, 22)
        case .q5_1: return (32, 24)
        case .q8_0: return (32, 34)
        case .q8_1: return (32, 36)
        case .q2_K: return (256, 84)
        case .q3_K: return (256, 110)
        case .q4_K: return (256, 144)
        case .q5_K: return (256, 176)
        case .q6_K: return (256, 210)
        case .q8_K: return (256, 292)
        }
    }

    func byteCount(elements: Int, name: String, path: String) throws -> Int {
        let (per, bytes) = block
        guard elements % per == 0 else {
            throw GGUFError(path: path, message: "tensor '\(name)': \(elements) elements is not a multiple of \(self)'s block of \(per)")
        }
        return elements / per * bytes
    }
}
