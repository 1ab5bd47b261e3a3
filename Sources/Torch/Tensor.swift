import CTorch

/// An n-dimensional array in LibTorch, with autograd. The class owns one handle and frees
/// it in `deinit`, so tensors are released as soon as Swift drops the last reference.
public final class Tensor {
    let handle: ct_tensor

    init(handle: ct_tensor) { self.handle = handle }
    deinit { ct_free(handle) }

    // MARK: metadata

    public var rank: Int { Int(ct_ndim(handle)) }

    public var shape: [Int] {
        var dims = [Int64](repeating: 0, count: rank)
        _ = dims.withUnsafeMutableBufferPointer { ct_shape(handle, $0.baseAddress) }
        return dims.map(Int.init)
    }

    public var count: Int { Int(ct_numel(handle)) }

    public var dtype: DType {
        // Every tensor we create has a dtype in DType; one made by LibTorch from our inputs does too.
        DType(rawValue: ct_dtype(handle)) ?? .float32
    }

    public var device: Device {
        var type: Int32 = 0, index: Int32 = 0
        _ = ct_device(handle, &type, &index)
        return type == Int32(CT_CUDA.rawValue) ? .cuda(Int(index)) : .cpu
    }

    public var isContiguous: Bool { ct_is_contiguous(handle) != 0 }

    /// The size of dimension `dim` (negative counts from the end).
    public func size(_ dim: Int) -> Int {
        let s = shape
        return s[dim < 0 ? dim + s.count : dim]
    }

    // MARK: creation

    /// A CPU tensor holding a copy of `values`, shaped `shape` (a vector by default).
    public convenience init<T: TensorScalar>(_ values: [T], shape: [Int]? = nil) throws {
        let shape = shape ?? [values.count]
        guard shape.reduce(1, *) == values.count else {
            throw TorchError(.shapeMismatch, operation: "Tensor.init",
                             message: "\(values.count) values cannot fill shape \(shape)")
        }
        let handle = try values.withUnsafeBytes { raw in
            try Tensor.fromBytes(raw, shape: shape, dtype: T.dtype)
        }
        self.init(handle: handle)
    }

    /// A zero-dimensional tensor.
    public convenience init<T: TensorScalar>(scalar: T) throws {
        try self.init([scalar], shape: [])
    }

    /// A CPU tensor copied from raw little-endian bytes (safetensors, GGUF, bf16 data).
    public convenience init(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws {
        let need = shape.reduce(1, *) * dtype.byteSize
        guard bytes.count == need else {
            throw TorchError(.shapeMismatch, operation: "Tensor.init(bytes:)",
                             message: "\(bytes.count) bytes given, shape \(shape) of \(dtype) needs \(need)")
        }
        self.init(handle: try Tensor.fromBytes(bytes, shape: shape, dtype: dtype))
    }

    private static func fromBytes(_ raw: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws -> ct_tensor {
        let dims = shape.map(Int64.init)
        let h = dims.withUnsafeBufferPointer { d in
            ct_from_buffer(raw.baseAddress, d.baseAddress, Int32(dims.count), dtype.rawValue)
        }
        guard let h else { throw TorchError.last("Tensor.init") }
        return h
    }

    private static func shaped(_ shape: [Int], _ op: String, _ body: (UnsafePointer<Int64>?, Int32) -> ct_tensor?) throws -> Tensor {
        let dims = shape.map(Int64.init)
        return try check(dims.withUnsafeBufferPointer { body($0.baseAddress, Int32(dims.count)) }, op)
    }

    public static func empty(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let d = device.code
        return try shaped(shape, "Tensor.empty") { ct_empty($0, $1, dtype.rawValue, d.type, d.index) }
    }

    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let d = device.code
        return try shaped(shape, "Tensor.full") { ct_full($0, $1, value, dtype.rawValue, d.type, d.index) }
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, 0, dtype: dtype, device: device)
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, 1, dtype: dtype, device: device)
    }

    public static func zeros(like t: Tensor) throws -> Tensor { try zeros(t.shape, dtype: t.dtype, device: t.device) }

    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64,
                              device: Device = .cpu) throws -> Tensor {
        let d = device.code
        return try check(ct_arange(start, end, step, dtype.rawValue, d.type, d.index), "Tensor.arange")
    }

    /// Uniform on [0, 1), from the default generator (seed with `Runtime.manualSeed`).
    public static func rand(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let d = device.code
        return try shaped(shape, "Tensor.rand") { ct_rand($0, $1, dtype.rawValue, d.type, d.index) }
    }

    /// Standard normal, from the default generator.
    public static func randn(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let d = device.code
        return try shaped(shape, "Tensor.randn") { ct_randn($0, $1, dtype.rawValue, d.type, d.index) }
    }

    /// Integers uniform on [low, high).
    public static func randint(_ low: Int, _ high: Int, _ shape: [Int], dtype: DType = .int64,
                               device: Device = .cpu) throws -> Tensor {
        let d = device.code
        return try shaped(shape, "Tensor.randint") {
            ct_randint(Int64(low), Int64(high), $0, $1, dtype.rawValue, d.type, d.index)
        }
    }

    public static func eye(_ n: Int, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let d = device.code
        return try check(ct_eye(Int64(n), dtype.rawValue, d.type, d.index), "Tensor.eye")
    }

    // MARK: export

    /// The elements in row-major order. The dtype must be `T`'s: convert first with `to(_:)`.
    public func toArray<T: TensorScalar>(_ type: T.Type = T.self) throws -> [T] {
        guard dtype == T.dtype else {
            throw TorchError(.dtypeMismatch, operation: "Tensor.toArray",
                             message: "tensor holds \(dtype), asked for \(T.dtype) (\(T.self)); convert with .to(.\(T.dtype)) first")
        }
        let n = count
        return try [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            try check(ct_copy_to_buffer(handle, buffer.baseAddress, n * MemoryLayout<T>.stride), "Tensor.toArray")
            initialized = n
        }
    }

    /// The raw little-endian bytes of the elements in row-major order (any dtype, bf16 included).
    public func bytes() throws -> [UInt8] {
        let n = count * dtype.byteSize
        return try [UInt8](unsafeUninitializedCapacity: n) { buffer, initialized in
            try check(ct_copy_to_buffer(handle, buffer.baseAddress, n), "Tensor.bytes")
            initialized = n
        }
    }

    /// Writes into this tensor's memory in place (a contiguous CPU tensor): how decoders of
    /// file formats fill a tensor without an intermediate copy.
    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        guard let p = ct_data_ptr(handle) else { throw TorchError.last("Tensor.withUnsafeMutableBytes") }
        return try body(UnsafeMutableRawBufferPointer(start: p, count: count * dtype.byteSize))
    }

    /// The single element as a Double (any numeric dtype).
    public func item() throws -> Double {
        var v = 0.0
        try check(ct_item_double(handle, &v), "Tensor.item")
        return v
    }

    public func itemInt() throws -> Int {
        var v: Int64 = 0
        try check(ct_item_int64(handle, &v), "Tensor.itemInt")
        return Int(v)
    }

    /// Element-wise as Double, whatever the dtype (a copy; for tests, reports and small tensors).
    public func doubles() throws -> [Double] {
        try to(.float64).toArray(Double.self)
    }

    // MARK: conversion

    public func to(_ dtype: DType) throws -> Tensor {
        let d = device.code
        return try check(ct_to(handle, dtype.rawValue, d.type, d.index), "Tensor.to(\(dtype))")
    }

    public func to(_ device: Device) throws -> Tensor {
        let d = device.code
        return try check(ct_to(handle, dtype.rawValue, d.type, d.index), "Tensor.to(\(device))")
    }

    public func to(_ device: Device, _ dtype: DType) throws -> Tensor {
        let d = device.code
        return try check(ct_to(handle, dtype.rawValue, d.type, d.index), "Tensor.to(\(device), \(dtype))")
    }

    public func clone() throws -> Tensor { try check(ct_clone(handle), "Tensor.clone") }

    /// The same data, cut from the autograd graph.
    public func detach() throws -> Tensor { try check(ct_detach(handle), "Tensor.detach") }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        var text = "Tensor(shape: \(shape), dtype: \(dtype), device: \(device)"
        if count <= 16, let values = try? doubles() { text += ", values: \(values)" }
        return text + ")"
    }
}
