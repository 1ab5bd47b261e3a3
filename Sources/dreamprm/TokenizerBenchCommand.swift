import ArgumentParser
import Foundation
import Models
import Tokenizers
import Torch

/// Tokenisation time of inputs a user or a network client could send: one long word of
/// letters, one long run of symbols, beside ordinary text of the same size (the in-run
/// reference: with a linear-time tokenizer all three take about as long per megabyte).
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Time the embedded tokenizer on a long word and a long symbol run against ordinary text (JSON)."
    )

    @Option(help: "Backbone whose tokenizer is timed: built-in name, .gguf file or HF directory.")
    var model = "smollm2-135m-instruct"
    @Option(help: "Size of each input in bytes.")
    var bytes = 1_000_000

    func run() throws {
        guard bytes > 0 else { throw ValidationError("--bytes must be positive") }
        let url = try ModelRegistry.resolve(model)
        let tokenizer = url.pathExtension == "gguf" ? try BPETokenizer(gguf: GGUFFile(url))
            : try BPETokenizer(tokenizerJSON: url.appendingPathComponent("tokenizer.json"))
        var generator = SplitMix64(seed: 1)
        func text(_ alphabet: [Character]) -> String {
            String((0..<bytes).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        }
        let inputs = [
            ("ordinary_text", String(String(repeating: "Step 2: Her sister ate 21 + 3 = 24 slices, so they ate 48 in all. ", count: bytes / 60 + 1).prefix(bytes))),
            ("one_word_of_letters", text(Array("etaoinshrdlucmfwypvbgkjqxz"))),
            ("one_run_of_symbols", text(Array("+-*/=()[]{}<>.,;:!?#$%&|^~"))),
        ]
        var seconds: [String: Double] = [:], tokens: [String: Int] = [:]
        for (name, input) in inputs {
            let start = DispatchTime.now().uptimeNanoseconds
            tokens[name] = tokenizer.encode(input, addBOS: false).count
            seconds[name] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let slowest = max(seconds["one_word_of_letters"]!, seconds["one_run_of_symbols"]!)
        let report: [String: Any] = [
            "model": model, "bytes": bytes, "seconds": seconds, "tokens": tokens,
            "worst_vs_ordinary_text": (slowest / seconds["ordinary_text"]! * 100).rounded() / 100,
            "under_one_second_per_megabyte": slowest * 1e6 / Double(bytes) < 1,
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }
}
