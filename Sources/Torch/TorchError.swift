import CTorch

/// A failure reported by LibTorch or by our wrapper. The C++ exception never crosses into
/// Swift: the shim records its message and kind, and `check` turns them into this error.
public struct TorchError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Equatable, Sendable {
        case index, value, type, notImplemented, outOfMemory, torch, cxx, unknown
        /// The Swift side found a tensor of another dtype than it was asked for.
        case dtypeMismatch
        /// The Swift side found a shape it cannot accept (element count, rank).
        case shapeMismatch
    }

    public let kind: Kind
    /// The operation that failed, as the Swift API names it.
    public let operation: String
    public let message: String

    public init(_ kind: Kind, operation: String, message: String) {
        self.kind = kind
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }

    /// The error the shim left behind on this thread.
    static func last(_ operation: String) -> TorchError {
        let kind: Kind
        switch Int(ct_last_error_kind()) {
        case Int(CT_ERR_INDEX.rawValue): kind = .index
        case Int(CT_ERR_VALUE.rawValue): kind = .value
        case Int(CT_ERR_TYPE.rawValue): kind = .type
        case Int(CT_ERR_NOT_IMPLEMENTED.rawValue): kind = .notImplemented
        case Int(CT_ERR_OUT_OF_MEMORY.rawValue): kind = .outOfMemory
        case Int(CT_ERR_TORCH.rawValue): kind = .torch
        case Int(CT_ERR_STD.rawValue): kind = .cxx
        default: kind = .unknown
        }
        return TorchError(kind, operation: operation, message: String(cString: ct_last_error()))
    }
}

/// Wraps a handle returned by the shim, or throws the error it recorded.
@inline(__always)
func check(_ handle: ct_tensor?, _ operation: @autoclosure () -> String) throws -> Tensor {
    guard let handle else { throw TorchError.last(operation()) }
    return Tensor(handle: handle)
}

/// Throws the recorded error when a status-returning shim call failed.
@inline(__always)
func check(_ status: Int32, _ operation: @autoclosure () -> String) throws {
    if status != 0 { throw TorchError.last(operation()) }
}
