import ArgumentParser
import Foundation
import Imaging
import Models
import PRM
import Tokenizers
import Torch

/// Loads a model (path or built-in name) and generates, streaming text to the terminal.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text with a language model (GGUF file, HF directory or built-in name).")

    @Option(help: "A .gguf file, a Hugging Face directory, or a built-in name (\(ModelRegistry.names.joined(separator: ", "))).")
    var model = "smollm2-135m-instruct"

    @Option(help: "The prompt text.")
    var prompt: String

    @Option(name: .customLong("image"), help: "An image (JPEG or PNG) for a vision-language model, placed before the prompt in the user turn as the chat template places it (repeatable).")
    var images: [String] = []

    @Flag(help: "Wrap the prompt as a user turn in the model's chat template, with the generation prompt.")
    var chat = false

    @Option(name: .customLong("max-tokens"), help: "Most new tokens to generate.")
    var maxTokens = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature = 0.0

    @Option(name: .customLong("top-p"), help: "Nucleus sampling: keep the smallest set of tokens with this total probability.")
    var topP: Double?

    @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens.")
    var topK: Int?

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Option(name: .customLong("stop"), help: "Stop when the text contains this string (repeatable).")
    var stopStrings: [String] = []

    @Flag(help: "Print {\"prompt_ids\", \"new_ids\", \"text\"} as JSON instead of streaming.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    /// In `run`, not ArgumentParser's `validate`, so the error keeps its type and exits 2.
    func checkSettings() throws {
        guard temperature.isFinite, temperature >= 0 else { throw SettingError("temperature", "must be a finite number ≥ 0 (0 is greedy), not \(temperature)") }
        if let topP, !(topP > 0 && topP <= 1) { throw SettingError("top-p", "must be in (0, 1], not \(topP)") }
        if let topK { try Check.atLeast(topK, 1, "top-k") }
        try Check.atLeast(maxTokens, 1, "max-tokens")
        if images.contains(where: \.isEmpty) { throw SettingError("image", "is an empty path") }
    }

    func run() throws {
        try checkSettings()
        if let t = runtime.threads { Runtime.threadCount = t }
        let url = try ModelRegistry.resolve(model)
        let loadStart = Date()
        if try ModelLoader.isVisionLanguageDirectory(url) {
            return try generateWithImages(url, loadStart: loadStart)
        }
        guard images.isEmpty else { throw ValidationError("--image needs a vision-language model (qwen2_vl, internvl); \(url.path) is a language model") }
        let loaded = try ModelLoader.load(url)
        try loaded.model.to(try Check.device(runtime.device))
        let text: String
        if chat {
            guard let template = loaded.chatTemplate else {
                throw ValidationError("\(url.path) has no chat template this build can render; run without --chat")
            }
            text = template.render([.user(prompt)], addGenerationPrompt: true)
        } else {
            text = prompt
        }
        try emit(TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer), promptIDs: loaded.tokenizer.encode(text),
                 loaded: "\(url.lastPathComponent) in \(String(format: "%.1f", Date().timeIntervalSince(loadStart))) s")
    }

    /// A vision-language prompt: always the chat template's user turn, the images before the text.
    private func generateWithImages(_ url: URL, loadStart: Date) throws {
        let backbone = try VisionLanguageBackbones.load(url)
        try backbone.to(try Check.device(runtime.device))
        let pictures = try images.map { try ImageFile.read(URL(fileURLWithPath: $0)) }
        let (ids, prefill) = try backbone.prepare(backbone.userPrompt(prompt, imageCount: pictures.count), images: pictures)
        try emit(TextGenerator(model: backbone.language, tokenizer: backbone.tokenizer), promptIDs: ids,
                 loaded: "\(url.lastPathComponent) in \(String(format: "%.1f", Date().timeIntervalSince(loadStart))) s, \(pictures.count) images",
                 prefill: prefill)
    }

    private func emit(_ generator: TextGenerator, promptIDs: [Int], loaded: String, prefill: TextGenerator.Prefill? = nil) throws {
        // Positions past the model's context have no trained rotary meaning: refuse, don't extrapolate.
        let context = generator.model.config.maxPositions
        guard promptIDs.count <= context else {
            throw SettingError("prompt", "is \(promptIDs.count) tokens; \(model) reads at most \(context)")
        }
        let parameters = SamplingParameters(maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, seed: seed,
                                            stopStrings: stopStrings)
        if !json { log("loaded \(loaded); prompt \(promptIDs.count) tokens") }
        var printed = ""
        let start = Date()
        let result = try generator.generate([promptIDs], parameters, prefill: prefill) { text in
            guard !json, text.hasPrefix(printed), !text.hasSuffix("\u{FFFD}") else { return }
            FileHandle.standardOutput.write(Data(text.dropFirst(printed.count).utf8))
            printed = text
        }[0]
        let seconds = Date().timeIntervalSince(start)
        if json {
            let object: [String: Any] = ["prompt_ids": promptIDs, "new_ids": result.newIDs, "text": result.text]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            if result.text.hasPrefix(printed) { print(result.text.dropFirst(printed.count)) } else { print() }
            log("\(result.newIDs.count) tokens in \(String(format: "%.2f", seconds)) s (\(String(format: "%.1f", Double(result.newIDs.count) / max(seconds, 1e-9))) tokens/s), stopped by \(result.stoppedBy)")
        }
    }

    private func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}
