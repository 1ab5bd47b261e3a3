import ArgumentParser
import Foundation
import Models
import Pipeline
import PRM
import Tokenizers
import Torch

/// Monte-Carlo rollouts from one step prefix: k sampled continuations of the same prompt, as
/// `dreamprm label` draws them, beside transformers `generate(num_return_sequences=k)`.
struct RolloutBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollouts",
        abstract: "Tokens/s of k sampled rollouts from one prefix on SmolLM2-135M beside transformers generate (JSON)."
    )

    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "Rollouts per prefix (transformers' num_return_sequences).")
    var k = 8

    @Option(name: .customLong("new-tokens"), help: "Tokens each rollout decodes (the stop tokens are barred until then).")
    var newTokens = 64

    @Option(help: "Timed repetitions (the median is reported).")
    var reps = 3

    @Option(help: "The transformers reference script (skipped when absent or unusable).")
    var reference = "bench/rollouts_reference.py"

    static let temperature = 0.7, topP = 0.95

    /// A step prefix as `label` builds it: the structured prompt, then the chain's first steps.
    static func prompt(_ template: ChatTemplate) -> String {
        let question = "A farmer has 12 rows of 15 apple trees. Each tree gives 40 apples a week and he sells 85 % of them. How many apples does he sell in four weeks?"
        let steps = """
            Step 1: Restate the question. We need the number of apples sold in four weeks by a farmer with 12 rows of 15 trees.

            Step 2: Gather evidence. There are 12 × 15 = 180 trees, each giving 40 apples a week.


            """
        return template.render([.user(ReasoningPrompt.structured.userTurn(question))], addGenerationPrompt: true) + steps
    }

    func run() throws {
        let threads = runtime.threads ?? 1
        Runtime.threadCount = threads
        let url = try ModelRegistry.resolve("smollm2-135m-instruct")
        let loaded = try ModelLoader.load(url)
        guard let template = loaded.chatTemplate else { throw ConfigError(source: url.path, message: "has no chat template") }
        let device = try Check.device(runtime.device)
        try loaded.model.to(device)
        let generator = TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer)
        let ids = loaded.tokenizer.encode(Self.prompt(template))
        let p = SamplingParameters(maxTokens: newTokens, temperature: Self.temperature, topP: Self.topP, seed: 1, minTokens: newTokens)

        func seconds(_ body: () throws -> Void) throws -> Double { try BenchTiming.seconds(on: device, body) }
        // A fresh prompt cache each time: one prefill per prefix, as for a prefix seen first.
        _ = try generator.sample(ids, count: k, p, prompts: PromptCache())
        let shared = try (0..<reps).map { _ in try seconds { _ = try generator.sample(ids, count: k, p, prompts: PromptCache()) } }
        let copies = try (0..<reps).map { _ in try seconds { _ = try generator.generate([[Int]](repeating: ids, count: k), p) } }
        let tokens = Double(k * newTokens)
        var report: [String: Any] = [
            "model": "smollm2-135m-instruct", "threads": threads, "device": device.description, "prompt_tokens": ids.count,
            "k": k, "new_tokens": newTokens, "temperature": Self.temperature, "top_p": Self.topP,
            "swift_tokens_per_s": tokens / BenchTiming.median(shared),
            "swift_batched_copies_tokens_per_s": tokens / BenchTiming.median(copies),
        ]
        // The same token ids on both sides.
        let idsFile = FileManager.default.temporaryDirectory.appendingPathComponent("dreamprm-bench-rollouts-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: ids).write(to: idsFile)
        defer { try? FileManager.default.removeItem(at: idsFile) }
        if device == .cpu, let theirs = PythonReference.run(script: reference, arguments: [
            url.path, "--ids-file", idsFile.path, "--threads", "\(threads)", "--reps", "\(reps)", "--k", "\(k)",
            "--new-tokens", "\(newTokens)", "--temperature", "\(Self.temperature)", "--top-p", "\(Self.topP)"]) {
            report.merge(theirs) { a, _ in a }
            if let ours = report["swift_tokens_per_s"] as? Double, let ref = theirs["transformers_tokens_per_s"] as? Double {
                report["ratio"] = (ours / ref * 1000).rounded() / 1000  // the goal is ≥ 2 at k = 8
            }
        } else {
            report["note"] = "no transformers reference in this run (CPU only; needs python3 with torch, transformers, gguf)"
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }
}
