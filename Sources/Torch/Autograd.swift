import CTorch

// Reverse-mode autograd through LibTorch's engine.

extension Tensor {
    public var requiresGrad: Bool { ct_requires_grad(handle) != 0 }

    /// Marks this (leaf) tensor as one whose gradient is wanted; returns self for chaining.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) throws -> Tensor {
        try check(ct_set_requires_grad(handle, flag ? 1 : 0), "Tensor.requiringGrad")
        return self
    }

    /// The accumulated gradient of a leaf, or nil before any backward pass.
    public var grad: Tensor? {
        ct_grad(handle).map { Tensor(handle: $0) }
    }

    /// Replaces (or, with nil, clears) the accumulated gradient.
    public func setGrad(_ g: Tensor?) throws {
        try check(ct_set_grad(handle, g?.handle), "Tensor.setGrad")
    }

    /// Accumulates d(self)/d(leaf) into every leaf's `grad`. A non-scalar needs `gradient`.
    public func backward(gradient: Tensor? = nil, retainGraph: Bool = false, createGraph: Bool = false) throws {
        try check(ct_backward(handle, gradient?.handle, retainGraph || createGraph ? 1 : 0, createGraph ? 1 : 0),
                  "Tensor.backward")
    }
}

public enum Autograd {
    /// Gradients of `outputs` (weighted by `gradOutputs`, ones for scalars) with respect to
    /// `inputs`, without touching `.grad`. nil marks an input the outputs do not depend on.
    /// With `createGraph` the results are differentiable again (second order).
    public static func grad(of outputs: [Tensor], wrt inputs: [Tensor], gradOutputs: [Tensor?]? = nil,
                            retainGraph: Bool? = nil, createGraph: Bool = false) throws -> [Tensor?] {
        let outs: [ct_tensor?] = outputs.map { $0.handle }
        let ins: [ct_tensor?] = inputs.map { $0.handle }
        let gouts: [ct_tensor?]? = gradOutputs.map { $0.map { $0?.handle } }
        var results = [ct_tensor?](repeating: nil, count: inputs.count)
        let retain = (retainGraph ?? createGraph) ? Int32(1) : 0
        let status: Int32 = outs.withUnsafeBufferPointer { o in
            ins.withUnsafeBufferPointer { i in
                results.withUnsafeMutableBufferPointer { r in
                    if let gouts {
                        return gouts.withUnsafeBufferPointer { g in
                            ct_autograd_grad(o.baseAddress, Int32(outs.count), g.baseAddress, i.baseAddress,
                                             Int32(ins.count), retain, createGraph ? 1 : 0, r.baseAddress)
                        }
                    }
                    return ct_autograd_grad(o.baseAddress, Int32(outs.count), nil, i.baseAddress,
                                            Int32(ins.count), retain, createGraph ? 1 : 0, r.baseAddress)
                }
            }
        }
        try check(status, "Autograd.grad")
        return results.map { $0.map { Tensor(handle: $0) } }
    }

    /// Whether operations record the graph on this thread.
    public static var isEnabled: Bool { ct_is_grad_enabled() != 0 }

    /// Runs `body` with graph recording off (restored afterwards, also on throw).
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R {
        let was = ct_is_grad_enabled()
        _ = ct_set_grad_enabled(0)
        defer { _ = ct_set_grad_enabled(was) }
        return try body()
    }

    /// Runs `body` with graph recording on (inside a `noGrad` region, say).
    public static func enableGrad<R>(_ body: () throws -> R) rethrows -> R {
        let was = ct_is_grad_enabled()
        _ = ct_set_grad_enabled(1)
        defer { _ = ct_set_grad_enabled(was) }
        return try body()
    }
}
