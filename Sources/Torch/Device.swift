import CTorch

/// Where a tensor lives.
public enum Device: Equatable, Hashable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    /// Parses `cpu`, `cuda`, `cuda:N`.
    public init(parsing text: String) throws {
        if text == "cpu" { self = .cpu; return }
        if text == "cuda" { self = .cuda(0); return }
        if text.hasPrefix("cuda:"), let n = Int(text.dropFirst(5)), n >= 0 { self = .cuda(n); return }
        throw TorchError(.value, operation: "Device", message: "unknown device '\(text)' (expected cpu, cuda or cuda:N)")
    }

    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .cuda(let n): return "cuda:\(n)"
        }
    }

    var code: (type: Int32, index: Int32) {
        switch self {
        case .cpu: return (Int32(CT_CPU.rawValue), 0)
        case .cuda(let n): return (Int32(CT_CUDA.rawValue), Int32(n))
        }
    }

    /// Whether the linked LibTorch was built with CUDA and sees a GPU.
    public static var cudaIsAvailable: Bool { ct_cuda_is_available() != 0 && ct_cuda_device_count() > 0 }
    public static var cudaDeviceCount: Int { Int(ct_cuda_device_count()) }

    /// Waits for the work queued on this device (timing on a GPU needs it).
    public func synchronize() throws {
        if case .cuda(let n) = self { try check(ct_cuda_synchronize(Int32(n)), "Device.synchronize") }
    }
}
