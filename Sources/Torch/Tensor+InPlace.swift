import CTorch

// In-place updates, for optimisers and parameter loading. They change the tensor's storage,
// so call them outside the graph (`Autograd.noGrad`) on leaves that require grad.

extension Tensor {
    private func inplace(_ op: ct_inplace_op, _ other: Tensor, _ name: String) throws {
        try check(ct_inplace(Int32(op.rawValue), handle, other.handle), "Tensor.\(name)")
    }

    private func inplace(_ op: ct_inplace_op, _ s: Double, _ name: String) throws {
        try check(ct_inplace_scalar(Int32(op.rawValue), handle, s), "Tensor.\(name)")
    }

    /// Copies `source` into this tensor's storage (broadcast, cast and moved as needed).
    public func copy_(_ source: Tensor) throws { try inplace(CT_I_COPY, source, "copy_") }
    public func add_(_ other: Tensor) throws { try inplace(CT_I_ADD, other, "add_") }
    public func sub_(_ other: Tensor) throws { try inplace(CT_I_SUB, other, "sub_") }
    public func mul_(_ other: Tensor) throws { try inplace(CT_I_MUL, other, "mul_") }
    public func div_(_ other: Tensor) throws { try inplace(CT_I_DIV, other, "div_") }
    public func add_(_ s: Double) throws { try inplace(CT_I_ADD, s, "add_") }
    public func mul_(_ s: Double) throws { try inplace(CT_I_MUL, s, "mul_") }
    public func div_(_ s: Double) throws { try inplace(CT_I_DIV, s, "div_") }
    /// Element-wise maximum with `other`, written into self.
    public func maximum_(_ other: Tensor) throws { try inplace(CT_I_MAXIMUM, other, "maximum_") }

    /// self += alpha · other
    public func add_(_ other: Tensor, alpha: Double) throws {
        try check(ct_add_scaled_(handle, other.handle, alpha), "Tensor.add_(alpha:)")
    }

    /// self += value · a · b
    public func addcmul_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
        try check(ct_addcmul_(handle, a.handle, b.handle, value), "Tensor.addcmul_")
    }

    /// self += value · a / b
    public func addcdiv_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
        try check(ct_addcdiv_(handle, a.handle, b.handle, value), "Tensor.addcdiv_")
    }

    /// self += weight · (end − self)
    public func lerp_(_ end: Tensor, weight: Double) throws {
        try check(ct_lerp_(handle, end.handle, weight), "Tensor.lerp_")
    }

    /// Makes this tensor use `data`'s storage, dtype and device while staying the same
    /// object (and leaf): how a module moves its parameters, as `nn.Module.to` does.
    public func setData(_ data: Tensor) throws { try check(ct_set_data(handle, data.handle), "Tensor.setData") }

    public func sqrt_() throws { try check(ct_sqrt_(handle), "Tensor.sqrt_") }
    public func zero_() throws { try check(ct_zero_(handle), "Tensor.zero_") }
    public func fill_(_ value: Double) throws { try check(ct_fill_(handle, value), "Tensor.fill_") }
}

/// Fused optimiser kernels of ATen.
public enum FusedOptimizers {
    /// One AdamW step over matching lists (`torch.optim.AdamW(fused=True)`): advances each
    /// float step counter by one, then updates parameters and moments in one pass each.
    public static func adamw(parameters: [Tensor], gradients: [Tensor], expAvg: [Tensor], expAvgSq: [Tensor], maxExpAvgSq: [Tensor]?,
                             steps: [Tensor], learningRate: Double, beta1: Double, beta2: Double, weightDecay: Double, eps: Double) throws {
        let n = parameters.count
        guard n > 0 else { return }
        func handles(_ ts: [Tensor]) -> [ct_tensor?] { ts.map { $0.handle } }
        let p = handles(parameters), g = handles(gradients), m = handles(expAvg), v = handles(expAvgSq), s = handles(steps)
        let mx = maxExpAvgSq.map(handles)
        let status = mx.map { mx in
            ct_fused_adamw_(p, g, m, v, mx, s, Int32(n), learningRate, beta1, beta2, weightDecay, eps, 1)
        } ?? ct_fused_adamw_(p, g, m, v, nil, s, Int32(n), learningRate, beta1, beta2, weightDecay, eps, 0)
        try check(status, "FusedOptimizers.adamw")
    }
}
