import CTorch

// Views, reshaping, joining, slicing and indexing.

extension Tensor {
    private func withDims(_ dims: [Int], _ op: String, _ body: (UnsafePointer<Int64>?, Int32) -> ct_tensor?) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try check(d.withUnsafeBufferPointer { body($0.baseAddress, Int32(d.count)) }, "Tensor.\(op)(\(dims))")
    }

    /// A tensor with the same elements in `shape`; one entry may be -1.
    public func reshape(_ shape: [Int]) throws -> Tensor { try withDims(shape, "reshape") { ct_reshape(handle, $0, $1) } }
    /// Like `reshape` but never copies: fails on a layout that cannot be viewed so.
    public func view(_ shape: [Int]) throws -> Tensor { try withDims(shape, "view") { ct_view(handle, $0, $1) } }
    public func permute(_ dims: [Int]) throws -> Tensor { try withDims(dims, "permute") { ct_permute(handle, $0, $1) } }
    public func expand(_ shape: [Int]) throws -> Tensor { try withDims(shape, "expand") { ct_expand(handle, $0, $1) } }

    public func transpose(_ d0: Int, _ d1: Int) throws -> Tensor {
        try check(ct_transpose(handle, Int64(d0), Int64(d1)), "Tensor.transpose(\(d0), \(d1))")
    }

    public func contiguous() throws -> Tensor { try check(ct_contiguous(handle), "Tensor.contiguous") }
    public func squeeze(_ dim: Int) throws -> Tensor { try check(ct_squeeze(handle, Int64(dim)), "Tensor.squeeze(\(dim))") }
    public func unsqueeze(_ dim: Int) throws -> Tensor { try check(ct_unsqueeze(handle, Int64(dim)), "Tensor.unsqueeze(\(dim))") }

    /// Merges dimensions `start...end` into one.
    public func flatten(start: Int = 0, end: Int = -1) throws -> Tensor {
        let s = shape
        guard !s.isEmpty else { return try reshape([1]) }
        let a = start < 0 ? start + s.count : start, b = end < 0 ? end + s.count : end
        guard a >= 0, b < s.count, a <= b else {
            throw TorchError(.index, operation: "Tensor.flatten", message: "dims \(start)...\(end) out of range for rank \(s.count)")
        }
        return try reshape(Array(s[..<a]) + [s[a...b].reduce(1, *)] + Array(s[(b + 1)...]))
    }

    /// Elements `start..<end` (stepping by `step`) along `dim`, as a view. Negative bounds count from the end.
    public func slice(dim: Int, start: Int = 0, end: Int? = nil, step: Int = 1) throws -> Tensor {
        try check(ct_slice(handle, Int64(dim), Int64(start), Int64(end ?? Int(Int64.max)), Int64(step)),
                  "Tensor.slice(dim: \(dim), \(start)..<\(end.map(String.init) ?? "end"))")
    }

    /// `length` elements from `start` along `dim`.
    public func narrow(dim: Int, start: Int, length: Int) throws -> Tensor {
        try slice(dim: dim, start: start, end: start + length)
    }

    /// The slice at `index` along `dim`, with that dimension removed.
    public func select(dim: Int, index: Int) throws -> Tensor {
        try check(ct_select(handle, Int64(dim), Int64(index)), "Tensor.select(dim: \(dim), index: \(index))")
    }

    /// `self[i]`: the slice at `i` along the first dimension.
    public subscript(_ i: Int) -> Tensor {
        get throws { try select(dim: 0, index: i) }
    }

    public func indexSelect(dim: Int, index: Tensor) throws -> Tensor {
        try check(ct_index_select(handle, Int64(dim), index.handle), "Tensor.indexSelect")
    }

    public func gather(dim: Int, index: Tensor) throws -> Tensor {
        try check(ct_gather(handle, Int64(dim), index.handle), "Tensor.gather")
    }

    /// A copy with `source` written at `index` along `dim`.
    public func scatter(dim: Int, index: Tensor, source: Tensor) throws -> Tensor {
        try check(ct_scatter(handle, Int64(dim), index.handle, source.handle), "Tensor.scatter")
    }

    /// A copy with `source` added at `index` along `dim`.
    public func scatterAdd(dim: Int, index: Tensor, source: Tensor) throws -> Tensor {
        try check(ct_scatter_add(handle, Int64(dim), index.handle, source.handle), "Tensor.scatterAdd")
    }

    public func tril(_ diagonal: Int = 0) throws -> Tensor { try check(ct_tril(handle, Int64(diagonal)), "Tensor.tril") }
    public func triu(_ diagonal: Int = 0) throws -> Tensor { try check(ct_triu(handle, Int64(diagonal)), "Tensor.triu") }

    /// Splits into pieces of the given sizes along `dim` (views).
    public func split(sizes: [Int], dim: Int = 0) throws -> [Tensor] {
        let total = size(dim)
        guard sizes.reduce(0, +) == total else {
            throw TorchError(.shapeMismatch, operation: "Tensor.split",
                             message: "sizes \(sizes) do not add up to \(total), the size of dim \(dim)")
        }
        var start = 0
        return try sizes.map { n in
            defer { start += n }
            return try narrow(dim: dim, start: start, length: n)
        }
    }

    /// Splits into pieces of `size` along `dim`; the last may be smaller.
    public func split(size: Int, dim: Int = 0) throws -> [Tensor] {
        let total = self.size(dim)
        return try split(sizes: stride(from: 0, to: total, by: size).map { Swift.min(size, total - $0) }, dim: dim)
    }

    /// `chunks` pieces along `dim`, as `torch.chunk` cuts them.
    public func chunk(_ chunks: Int, dim: Int = 0) throws -> [Tensor] {
        let total = size(dim)
        return try split(size: (total + chunks - 1) / chunks, dim: dim)
    }

    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        let hs: [ct_tensor?] = tensors.map { $0.handle }
        return try check(hs.withUnsafeBufferPointer { ct_cat($0.baseAddress, Int32(hs.count), Int64(dim)) }, "Tensor.cat")
    }

    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        let hs: [ct_tensor?] = tensors.map { $0.handle }
        return try check(hs.withUnsafeBufferPointer { ct_stack($0.baseAddress, Int32(hs.count), Int64(dim)) }, "Tensor.stack")
    }
}
