import CTorch

// Element-wise operations with broadcasting. Operators throw (shape or dtype errors come
// from LibTorch); one `try` covers a whole expression.

extension Tensor {
    func unary(_ op: ct_unary_op, _ name: String) throws -> Tensor {
        try check(ct_unary(Int32(op.rawValue), handle), "Tensor.\(name)")
    }

    func binary(_ op: ct_binary_op, _ other: Tensor, _ name: String) throws -> Tensor {
        try check(ct_binary(Int32(op.rawValue), handle, other.handle), "Tensor.\(name)")
    }

    func binary(_ op: ct_binary_op, _ scalar: Double, _ name: String) throws -> Tensor {
        try check(ct_binary_scalar(Int32(op.rawValue), handle, scalar), "Tensor.\(name)")
    }

    static func binary(_ op: ct_binary_op, _ scalar: Double, _ t: Tensor, _ name: String) throws -> Tensor {
        try check(ct_scalar_binary(Int32(op.rawValue), scalar, t.handle), "Tensor.\(name)")
    }

    // MARK: arithmetic

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_ADD, b, "+") }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_SUB, b, "-") }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_MUL, b, "*") }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_DIV, b, "/") }
    public static func + (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_ADD, s, "+") }
    public static func - (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_SUB, s, "-") }
    public static func * (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_MUL, s, "*") }
    public static func / (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_DIV, s, "/") }
    public static func + (s: Double, a: Tensor) throws -> Tensor { try binary(CT_ADD, s, a, "+") }
    public static func - (s: Double, a: Tensor) throws -> Tensor { try binary(CT_SUB, s, a, "-") }
    public static func * (s: Double, a: Tensor) throws -> Tensor { try binary(CT_MUL, s, a, "*") }
    public static func / (s: Double, a: Tensor) throws -> Tensor { try binary(CT_DIV, s, a, "/") }
    public static prefix func - (a: Tensor) throws -> Tensor { try a.unary(CT_NEG, "neg") }

    public func pow(_ exponent: Double) throws -> Tensor { try binary(CT_POW, exponent, "pow") }
    public func pow(_ exponent: Tensor) throws -> Tensor { try binary(CT_POW, exponent, "pow") }
    public func maximum(_ other: Tensor) throws -> Tensor { try binary(CT_MAXIMUM, other, "maximum") }
    public func minimum(_ other: Tensor) throws -> Tensor { try binary(CT_MINIMUM, other, "minimum") }
    public func remainder(_ other: Tensor) throws -> Tensor { try binary(CT_REMAINDER, other, "remainder") }
    public func atan2(_ other: Tensor) throws -> Tensor { try binary(CT_ATAN2, other, "atan2") }

    // MARK: comparison and logic (results are bool tensors)

    public func eq(_ o: Tensor) throws -> Tensor { try binary(CT_EQ, o, "eq") }
    public func ne(_ o: Tensor) throws -> Tensor { try binary(CT_NE, o, "ne") }
    public func lt(_ o: Tensor) throws -> Tensor { try binary(CT_LT, o, "lt") }
    public func le(_ o: Tensor) throws -> Tensor { try binary(CT_LE, o, "le") }
    public func gt(_ o: Tensor) throws -> Tensor { try binary(CT_GT, o, "gt") }
    public func ge(_ o: Tensor) throws -> Tensor { try binary(CT_GE, o, "ge") }
    public func eq(_ s: Double) throws -> Tensor { try binary(CT_EQ, s, "eq") }
    public func ne(_ s: Double) throws -> Tensor { try binary(CT_NE, s, "ne") }
    public func lt(_ s: Double) throws -> Tensor { try binary(CT_LT, s, "lt") }
    public func le(_ s: Double) throws -> Tensor { try binary(CT_LE, s, "le") }
    public func gt(_ s: Double) throws -> Tensor { try binary(CT_GT, s, "gt") }
    public func ge(_ s: Double) throws -> Tensor { try binary(CT_GE, s, "ge") }
    public func logicalAnd(_ o: Tensor) throws -> Tensor { try binary(CT_LOGICAL_AND, o, "logicalAnd") }
    public func logicalOr(_ o: Tensor) throws -> Tensor { try binary(CT_LOGICAL_OR, o, "logicalOr") }
    public func logicalNot() throws -> Tensor { try unary(CT_LOGICAL_NOT, "logicalNot") }
    public func isNaN() throws -> Tensor { try unary(CT_ISNAN, "isNaN") }
    public func isFinite() throws -> Tensor { try unary(CT_ISFINITE, "isFinite") }

    // MARK: math

    public func abs() throws -> Tensor { try unary(CT_ABS, "abs") }
    public func exp() throws -> Tensor { try unary(CT_EXP, "exp") }
    public func log() throws -> Tensor { try unary(CT_LOG, "log") }
    public func log1p() throws -> Tensor { try unary(CT_LOG1P, "log1p") }
    public func expm1() throws -> Tensor { try unary(CT_EXPM1, "expm1") }
    public func sqrt() throws -> Tensor { try unary(CT_SQRT, "sqrt") }
    public func rsqrt() throws -> Tensor { try unary(CT_RSQRT, "rsqrt") }
    public func square() throws -> Tensor { try unary(CT_SQUARE, "square") }
    public func reciprocal() throws -> Tensor { try unary(CT_RECIPROCAL, "reciprocal") }
    public func sin() throws -> Tensor { try unary(CT_SIN, "sin") }
    public func cos() throws -> Tensor { try unary(CT_COS, "cos") }
    public func tanh() throws -> Tensor { try unary(CT_TANH, "tanh") }
    public func erf() throws -> Tensor { try unary(CT_ERF, "erf") }
    public func floor() throws -> Tensor { try unary(CT_FLOOR, "floor") }
    public func ceil() throws -> Tensor { try unary(CT_CEIL, "ceil") }
    public func round() throws -> Tensor { try unary(CT_ROUND, "round") }
    public func sign() throws -> Tensor { try unary(CT_SIGN, "sign") }

    /// Clamps to [min, max]; either bound may be omitted.
    public func clamp(min: Double? = nil, max: Double? = nil) throws -> Tensor {
        try check(ct_clamp(handle, min ?? 0, max ?? 0, min == nil ? 0 : 1, max == nil ? 0 : 1), "Tensor.clamp")
    }

    /// `cond ? a : b`, element-wise with broadcasting.
    public static func `where`(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try check(ct_where(cond.handle, a.handle, b.handle), "Tensor.where")
    }

    /// A copy with `value` where `mask` is true.
    public func maskedFill(_ mask: Tensor, _ value: Double) throws -> Tensor {
        try check(ct_masked_fill(handle, mask.handle, value), "Tensor.maskedFill")
    }

    // MARK: activations

    public func relu() throws -> Tensor { try unary(CT_RELU, "relu") }
    public func leakyRelu(slope: Double = 0.01) throws -> Tensor { try check(ct_leaky_relu(handle, slope), "Tensor.leakyRelu") }
    /// GELU with the exact erf form (`approximate: false`) or the tanh approximation.
    public func gelu(approximate: Bool = false) throws -> Tensor {
        try unary(approximate ? CT_GELU_TANH : CT_GELU, "gelu")
    }
    public func silu() throws -> Tensor { try unary(CT_SILU, "silu") }
    public func sigmoid() throws -> Tensor { try unary(CT_SIGMOID, "sigmoid") }
    public func logSigmoid() throws -> Tensor { try unary(CT_LOGSIGMOID, "logSigmoid") }
    /// softplus(x) = log(1 + e^{βx}) / β, linear above `threshold` as in PyTorch.
    public func softplus(beta: Double = 1, threshold: Double = 20) throws -> Tensor {
        try check(ct_softplus_beta(handle, beta, threshold), "Tensor.softplus")
    }
}
