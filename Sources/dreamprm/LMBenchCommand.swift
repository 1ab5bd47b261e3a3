import ArgumentParser
import Foundation
import Models
import PRM
import Torch

/// Prefill and decode throughput of a built-in model beside transformers on the same GGUF.
struct LMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Prefill and decode tokens/s of SmolLM2-135M beside transformers (JSON)."
    )

    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "Timed repetitions (the median is reported).")
    var reps = 3

    @Option(name: .customLong("decode-tokens"), help: "Greedy tokens decoded per repetition.")
    var decodeTokens = 32

    @Option(help: "The transformers reference script (skipped when absent or unusable).")
    var reference = "bench/lm_reference.py"

    /// A fixed prompt of about 250 tokens: a word problem with worked steps.
    static let prompt = (1...5).map { k in
        "Step \(k): The farmer has \(12 * k) trees and each gives \(5 + k) apples a week, so the farm produces \(12 * k * (5 + k)) apples every week, of which he sells \(10 * k) percent."
    }.joined(separator: "\n\n")

    func run() throws {
        let threads = runtime.threads ?? 1
        Runtime.threadCount = threads
        let url = try ModelRegistry.resolve("smollm2-135m-instruct")
        let loaded = try ModelLoader.load(url)
        let model = loaded.model
        let device = try Check.device(runtime.device)
        try model.to(device)
        let ids = loaded.tokenizer.encode(Self.prompt, addBOS: false)
        let input = try Tensor(ids.map(Int64.init), shape: [1, ids.count]).to(device)

        func prefill(_ cache: KVCache) throws -> Tensor {
            let h = try model.hiddenStates(.tokens(input), cache: cache)
            return try model.logits(h.narrow(dim: 1, start: ids.count - 1, length: 1))
        }
        func seconds(_ body: () throws -> Void) throws -> Double { try BenchTiming.seconds(on: device, body) }
        var prefillTimes: [Double] = [], decodeTimes: [Double] = []
        try Autograd.noGrad {
            _ = try prefill(KVCache(layers: model.config.layerCount))
            for _ in 0..<reps { prefillTimes.append(try seconds { _ = try prefill(KVCache(layers: model.config.layerCount)) }) }
            for _ in 0..<reps {
                let cache = KVCache(layers: model.config.layerCount)
                var next = try prefill(cache).argmax(dim: -1)
                decodeTimes.append(try seconds {
                    for _ in 0..<decodeTokens { next = try model(.tokens(next), cache: cache).argmax(dim: -1) }
                })
            }
        }
        var report: [String: Any] = [
            "model": "smollm2-135m-instruct", "threads": threads, "device": device.description, "prompt_tokens": ids.count, "decode_tokens": decodeTokens,
            "swift_prefill_tokens_per_s": Double(ids.count) / BenchTiming.median(prefillTimes),
            "swift_decode_tokens_per_s": Double(decodeTokens) / BenchTiming.median(decodeTimes),
        ]
        let promptFile = FileManager.default.temporaryDirectory.appendingPathComponent("dreamprm-bench-prompt-\(getpid()).txt")
        try Self.prompt.write(to: promptFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: promptFile) }
        if device == .cpu, let theirs = PythonReference.run(script: reference, arguments: [url.path, "--prompt-file", promptFile.path, "--threads", "\(threads)",
                                                                            "--reps", "\(reps)", "--decode-tokens", "\(decodeTokens)"]) {
            report.merge(theirs) { a, _ in a }
            for kind in ["prefill", "decode"] {
                if let ours = report["swift_\(kind)_tokens_per_s"] as? Double, let ref = theirs["transformers_\(kind)_tokens_per_s"] as? Double {
                    report["\(kind)_ratio"] = (ours / ref * 1000).rounded() / 1000  // ≥ 1: ours is at least as fast
                }
            }
        } else {
            report["note"] = "no transformers reference in this run (CPU only; needs python3 with torch, transformers, gguf, accelerate)"
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }
}
