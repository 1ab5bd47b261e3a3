import CTorch

/// Process-wide LibTorch settings: intra-op threads, the default random generator.
public enum Runtime {
    /// Intra-op threads LibTorch uses on the CPU.
    public static var threadCount: Int {
        get { Int(ct_get_num_threads()) }
        set { _ = ct_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Keeps freed tensor memory in the process for reuse (glibc), instead of returning it to
    /// the kernel and faulting it in zero-filled on the next step. Call once at start-up.
    public static func keepFreedMemory() {
        _ = ct_keep_freed_memory()
    }

    /// Seeds the default CPU generator (rand, randn, multinomial, dropout).
    public static func manualSeed(_ seed: UInt64) {
        _ = ct_manual_seed(seed)
    }

    /// The default CPU generator's full state, as a uint8 tensor (for checkpoints).
    public static func rngState() throws -> Tensor {
        try check(ct_rng_get_state(), "Runtime.rngState")
    }

    public static func setRNGState(_ state: Tensor) throws {
        try check(ct_rng_set_state(state.handle), "Runtime.setRNGState")
    }
}
