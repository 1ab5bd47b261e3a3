import ArgumentParser
import Foundation
import NN
import PRM
import Torch

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print JSON and compare against a reference in the same run.",
        subcommands: [CoreBench.self, LMBench.self, WindowBench.self, TokenizerBench.self, ScoreBench.self, InstanceTableBench.self, VLMBench.self, RolloutBench.self]
    )
}

/// Per-op overhead and a small training step, beside PyTorch-Python on the same machine
/// and thread count when `python3` can import torch.
struct CoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "Time core tensor ops and an MLP training step; compare with PyTorch-Python (JSON)."
    )

    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "Timed repetitions per figure (the median is reported).")
    var reps = 5

    @Option(help: "The PyTorch-Python reference script (skipped when absent or when torch is not importable).")
    var reference = "bench/core_ops_reference.py"

    func run() throws {
        let threads = runtime.threads ?? 1
        Runtime.threadCount = threads
        let device = try Check.device(runtime.device)
        let ours = try CoreBenchmark(device: device, reps: reps).run()
        var report: [String: Any] = ["threads": threads, "device": device.description, "swift_seconds": ours]
        if device == .cpu, let theirs = PythonReference.run(script: reference, arguments: ["--threads", "\(threads)", "--reps", "\(reps)"]) {
            let seconds = theirs["seconds"] as? [String: Double] ?? [:]
            report["pytorch_seconds"] = seconds
            report["pytorch_version"] = theirs["torch"]
            // > 1 means ours is faster.
            report["speedup_vs_pytorch"] = seconds.reduce(into: [String: Double]()) { out, kv in
                if let mine = ours[kv.key], mine > 0 { out[kv.key] = (kv.value / mine * 1000).rounded() / 1000 }
            }
        } else {
            report["pytorch_seconds"] = NSNull()
            report["note"] = "no PyTorch-Python reference in this run (CPU only; needs python3 with torch and \(reference))"
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// The clock every benchmark reads.
enum BenchTiming {
    /// Wall seconds of `body`, the device's queued work included.
    static func seconds(on device: Device, _ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        try device.synchronize()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
}

/// Runs a reference script that prints one JSON object on its last line.
enum PythonReference {
    static func run(script: String, arguments: [String]) -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: script) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
    }
}

/// The Swift side: the same shapes and loop structure as bench/core_ops_reference.py.
struct CoreBenchmark {
    let device: Device
    let reps: Int

    private final class MLP: Module {
        let fc1: Linear, fc2: Linear, fc3: Linear
        init(input: Int, hidden: Int) throws {
            fc1 = try Linear(input, hidden)
            fc2 = try Linear(hidden, hidden)
            fc3 = try Linear(hidden, 1)
            super.init()
        }
        func callAsFunction(_ x: Tensor) throws -> Tensor { try fc3(fc2(fc1(x).gelu()).gelu()) }
    }

    private func timed(_ iterations: Int, _ body: () throws -> Void) throws -> Double {
        try body()
        try device.synchronize()
        var samples: [Double] = []
        for _ in 0..<reps {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations { try body() }
            try device.synchronize()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations))
        }
        return samples.sorted()[samples.count / 2]
    }

    func run() throws -> [String: Double] {
        Runtime.manualSeed(0)
        let a = try Tensor.randn([64]).to(device), b = try Tensor.randn([64]).to(device)
        let m = try Tensor.randn([256, 256]).to(device)
        let s = try Tensor.randn([64, 1024]).to(device)
        let x = try Tensor.randn([64, 128]).to(device), y = try Tensor.randn([64, 1]).to(device)
        let mlp = try MLP(input: 128, hidden: 256)
        try mlp.to(device)
        let optimizer = try AdamW(mlp.parameters(), learningRate: 1e-3)
        return [
            "add_64": try timed(20_000) { _ = try a + b },
            "chain_64": try timed(5_000) { _ = try ((a * 2.0 + 1.0).relu() * b).sum() },
            "matmul_256": try timed(200) { _ = try m.matmul(m) },
            "softmax_64x1024": try timed(1_000) { _ = try s.softmax(dim: -1) },
            "mlp_train_step": try timed(200) {
                try optimizer.zeroGrad()
                try Loss.mse(mlp(x), y).backward()
                try optimizer.step()
            },
        ]
    }
}
