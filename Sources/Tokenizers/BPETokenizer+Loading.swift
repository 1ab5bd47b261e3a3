import Foundation
import Torch

extension BPETokenizer {
    /// The tokenizer stored in a GGUF file's `tokenizer.ggml.*` metadata (model `gpt2`).
    public convenience init(gguf: GGUFFile) throws {
        let m = gguf.metadata
        func fail(_ message: String) -> TokenizerError { TokenizerError(source: gguf.path, message: message) }
        guard let model = m["tokenizer.ggml.model"]?.string else { throw fail("no tokenizer.ggml.model in the metadata") }
        guard model == "gpt2" else { throw fail("tokenizer model '\(model)' is not supported (byte-level BPE 'gpt2' is)") }
        guard let tokens = m["tokenizer.ggml.tokens"]?.strings else { throw fail("metadata 'tokenizer.ggml.tokens' is missing") }
        guard let merges = m["tokenizer.ggml.merges"]?.strings else { throw fail("metadata 'tokenizer.ggml.merges' is missing") }
        let types = m["tokenizer.ggml.token_type"]?.ints ?? []
        // llama.cpp's token types: 3 control, 4 user-defined; both are matched whole.
        let added = tokens.indices.filter { $0 < types.count && (types[$0] == 3 || types[$0] == 4) }
        let pre = m["tokenizer.ggml.pre"]?.string ?? "default"
        try self.init(tokens: tokens, merges: merges, addedTokens: added.map { tokens[$0] },
                      specialTokenIDs: Set(added.filter { types[$0] == 3 }),
                      preTokenizer: try PreTokenizer(llamaCppName: pre, source: gguf.path),
                      bos: m["tokenizer.ggml.bos_token_id"]?.int, eos: m["tokenizer.ggml.eos_token_id"]?.int,
                      pad: m["tokenizer.ggml.padding_token_id"]?.int,
                      addsBOS: m["tokenizer.ggml.add_bos_token"]?.bool ?? false, source: gguf.path)
    }

    /// A Hugging Face `tokenizer.json` of a byte-level BPE model. BOS/EOS ids come from the
    /// sibling `tokenizer_config.json` when there is one.
    public convenience init(tokenizerJSON url: URL) throws {
        let source = url.path
        func fail(_ message: String) -> TokenizerError { TokenizerError(source: source, message: message) }
        guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        guard let model = json["model"] as? [String: Any], (model["type"] as? String) == "BPE" else {
            throw fail("field 'model.type' must be BPE")
        }
        guard let vocab = model["vocab"] as? [String: Int] else { throw fail("field 'model.vocab' is missing") }
        let rawMerges = model["merges"] as? [Any] ?? []
        let merges: [String] = try rawMerges.enumerated().map { i, m in
            if let s = m as? String { return s }
            if let pair = m as? [String], pair.count == 2 { return pair[0] + " " + pair[1] }
            throw fail("model.merges[\(i)] is neither \"a b\" nor [\"a\", \"b\"]")
        }
        var added: [(String, Int, Bool)] = []
        for (i, entry) in (json["added_tokens"] as? [[String: Any]] ?? []).enumerated() {
            guard let content = entry["content"] as? String, let id = entry["id"] as? Int else {
                throw fail("added_tokens[\(i)] lacks 'content' or 'id'")
            }
            added.append((content, id, entry["special"] as? Bool ?? false))
        }
        let size = max((vocab.values.max() ?? -1) + 1, (added.map(\.1).max() ?? -1) + 1)
        var tokens = [String](repeating: "", count: size)
        for (t, id) in vocab { tokens[id] = t }
        for (t, id, _) in added { tokens[id] = t }
        let pre = try PreTokenizer(tokenizerJSON: json["pre_tokenizer"], source: source)

        var bos: Int?, eos: Int?, pad: Int?, addsBOS = false
        let configURL = url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        if let data = try? Data(contentsOf: configURL), let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            func tokenID(_ key: String) -> Int? {
                let name = (config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String)
                return name.flatMap { n in added.first { $0.0 == n }?.1 ?? vocab[n] }
            }
            bos = tokenID("bos_token")
            eos = tokenID("eos_token")
            pad = tokenID("pad_token")
            addsBOS = config["add_bos_token"] as? Bool ?? false
        }
        try self.init(tokens: tokens, merges: merges, addedTokens: added.map(\.0), specialTokenIDs: Set(added.filter(\.2).map(\.1)),
                      preTokenizer: pre, bos: bos, eos: eos, pad: pad, addsBOS: addsBOS, source: source)
    }
}

extension PreTokenizer {
    static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// llama.cpp's `tokenizer.ggml.pre` names.
    init(llamaCppName name: String, source: String) throws {
        switch name {
        case "default", "gpt2", "gpt-2": self = .gpt2
        case "smollm", "starcoder", "refact", "codeshell": self = .gpt2IndividualDigits
        case "qwen2", "deepseek-r1-qwen": self = .qwen2(maxDigits: 1)
        case "llama-bpe", "llama3", "smaug-bpe": self = .qwen2(maxDigits: 3)
        default:
            throw TokenizerError(source: source, message: "pre-tokenizer '\(name)' is not supported (gpt2, smollm, starcoder, qwen2, llama-bpe are)")
        }
    }

    /// The `pre_tokenizer` object of a tokenizer.json, for the families above.
    init(tokenizerJSON value: Any?, source: String) throws {
        func fail() -> TokenizerError {
            TokenizerError(source: source, message: "pre_tokenizer \(String(describing: value).prefix(200)) is not one of the supported byte-level forms")
        }
        guard let object = value as? [String: Any], let type = object["type"] as? String else { throw fail() }
        var parts: [[String: Any]] = [object]
        if type == "Sequence" { parts = object["pretokenizers"] as? [[String: Any]] ?? [] }
        let types = parts.compactMap { $0["type"] as? String }
        let byteLevelUsesRegex = parts.first { $0["type"] as? String == "ByteLevel" }?["use_regex"] as? Bool ?? true
        switch types {
        case ["ByteLevel"] where byteLevelUsesRegex:
            self = .gpt2
        case ["Digits", "ByteLevel"] where byteLevelUsesRegex && (parts[0]["individual_digits"] as? Bool ?? false):
            self = .gpt2IndividualDigits
        case ["Split", "ByteLevel"] where !byteLevelUsesRegex:
            let pattern = (parts[0]["pattern"] as? [String: Any])?["Regex"] as? String
            if pattern == PreTokenizer.qwen2Pattern { self = .qwen2(maxDigits: 1) }
            else if pattern == PreTokenizer.llama3Pattern { self = .qwen2(maxDigits: 3) }
            else { throw fail() }
        default:
            throw fail()
        }
    }
}
