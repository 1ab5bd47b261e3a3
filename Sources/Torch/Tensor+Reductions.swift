import CTorch

extension Tensor {
    func reduce(_ op: ct_reduce_op, _ dims: [Int]?, _ keepDim: Bool, _ name: String) throws -> Tensor {
        let d = (dims ?? []).map(Int64.init)
        let n: Int32 = dims == nil ? -1 : Int32(d.count)
        return try check(d.withUnsafeBufferPointer { ct_reduce(Int32(op.rawValue), handle, $0.baseAddress, n, keepDim ? 1 : 0) },
                         "Tensor.\(name)")
    }

    /// Sum over `dims` (all elements when nil).
    public func sum(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(CT_SUM, dims, keepDim, "sum") }
    public func sum(dim: Int, keepDim: Bool = false) throws -> Tensor { try reduce(CT_SUM, [dim], keepDim, "sum") }
    public func mean(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(CT_MEAN, dims, keepDim, "mean") }
    public func mean(dim: Int, keepDim: Bool = false) throws -> Tensor { try reduce(CT_MEAN, [dim], keepDim, "mean") }
    public func max(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(CT_AMAX, dims, keepDim, "max") }
    public func max(dim: Int, keepDim: Bool = false) throws -> Tensor { try reduce(CT_AMAX, [dim], keepDim, "max") }
    public func min(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(CT_AMIN, dims, keepDim, "min") }
    public func min(dim: Int, keepDim: Bool = false) throws -> Tensor { try reduce(CT_AMIN, [dim], keepDim, "min") }
    public func prod(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(CT_PROD, dims, keepDim, "prod") }
    public func prod(dim: Int, keepDim: Bool = false) throws -> Tensor { try reduce(CT_PROD, [dim], keepDim, "prod") }
    public func logSumExp(dim: Int, keepDim: Bool = false) throws -> Tensor { try reduce(CT_LOGSUMEXP, [dim], keepDim, "logSumExp") }
    /// Unbiased variance and standard deviation, as `torch.var` / `torch.std` by default.
    public func variance(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(CT_VAR, dims, keepDim, "variance") }
    public func std(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(CT_STD, dims, keepDim, "std") }
    /// The Euclidean norm over `dims` (all elements when nil).
    public func norm(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(CT_NORM2, dims, keepDim, "norm") }

    public func argmax(dim: Int, keepDim: Bool = false) throws -> Tensor {
        try check(ct_argmax(handle, Int64(dim), keepDim ? 1 : 0), "Tensor.argmax")
    }

    public func argmin(dim: Int, keepDim: Bool = false) throws -> Tensor {
        try check(ct_argmin(handle, Int64(dim), keepDim ? 1 : 0), "Tensor.argmin")
    }

    /// The `k` largest (or smallest) elements along `dim`, with their indices.
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true, sorted: Bool = true) throws -> (values: Tensor, indices: Tensor) {
        var v: ct_tensor?, i: ct_tensor?
        try check(ct_topk(handle, Int64(k), Int64(dim), largest ? 1 : 0, sorted ? 1 : 0, &v, &i), "Tensor.topk")
        return (Tensor(handle: v!), Tensor(handle: i!))
    }

    public func sort(dim: Int = -1, descending: Bool = false, stable: Bool = true) throws -> (values: Tensor, indices: Tensor) {
        var v: ct_tensor?, i: ct_tensor?
        try check(ct_sort(handle, Int64(dim), descending ? 1 : 0, stable ? 1 : 0, &v, &i), "Tensor.sort")
        return (Tensor(handle: v!), Tensor(handle: i!))
    }

    public func cumsum(dim: Int) throws -> Tensor { try check(ct_cumsum(handle, Int64(dim)), "Tensor.cumsum") }
}
