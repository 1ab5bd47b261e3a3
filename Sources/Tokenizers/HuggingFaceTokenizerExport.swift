import Foundation

// What `transformers` needs to rebuild our tokenizer and prompt: tokenizer.json and the
// chat template of tokenizer_config.json, written from the tokenizer as loaded.

extension BPETokenizer {
    /// A Hugging Face `tokenizer.json` (byte-level BPE) that tokenizes as this tokenizer does.
    public func huggingFaceTokenizerJSON() -> [String: Any] {
        let orderedMerges = merges.sorted { $0.value < $1.value }.map { tokens[Int($0.key >> 32)] + " " + tokens[Int($0.key & 0xffff_ffff)] }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let pre: [String: Any]
        switch preTokenizer {
        case .gpt2: pre = byteLevel
        case .gpt2IndividualDigits:
            pre = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
        case .qwen2(let maxDigits):
            pre = ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": maxDigits == 1 ? PreTokenizer.qwen2Pattern : PreTokenizer.llama3Pattern],
                 "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]]]
        }
        var json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "normalizer": NSNull(),
            "added_tokens": addedTokens.compactMap { t in vocabulary[t].map { id in
                ["id": id, "content": t, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false,
                 "special": specialTokenIDs.contains(id)] as [String: Any] } }.sorted { ($0["id"] as! Int) < ($1["id"] as! Int) },
            "pre_tokenizer": pre,
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocabulary, "merges": orderedMerges] as [String: Any],
        ]
        if addsBOS, let bos = bosTokenID {
            json["post_processor"] = ["type": "TemplateProcessing",
                                      "single": [["SpecialToken": ["id": tokens[bos], "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                                      "pair": [["SpecialToken": ["id": tokens[bos], "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                                               ["Sequence": ["id": "B", "type_id": 1]]],
                                      "special_tokens": [tokens[bos]: ["id": tokens[bos], "ids": [bos], "tokens": [tokens[bos]]]]] as [String: Any]
        }
        return json
    }

    /// `tokenizer_config.json` with the special tokens and `template` as the chat template.
    public func huggingFaceTokenizerConfig(template: ChatTemplate, maxLength: Int) -> [String: Any] {
        var config: [String: Any] = ["tokenizer_class": "PreTrainedTokenizerFast", "chat_template": template.jinja,
                                     "add_bos_token": addsBOS, "clean_up_tokenization_spaces": false, "model_max_length": maxLength]
        for (key, id) in [("bos_token", bosTokenID), ("eos_token", eosTokenID), ("pad_token", padTokenID)] {
            if let id { config[key] = tokens[id] }
        }
        return config
    }
}

extension ChatTemplate {
    /// The template as Jinja, rendering exactly what `render` writes (for `transformers`'
    /// `apply_chat_template`).
    public var jinja: String {
        let system: String?
        switch self {
        case .chatML(let defaultSystem): system = defaultSystem
        case .internVL(let s): system = s
        }
        func literal(_ s: String) -> String {
            "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
                .replacingOccurrences(of: "\n", with: "\\n") + "'"
        }
        let opening = system.map {
            "{%- if messages[0]['role'] != 'system' %}{{- '<|im_start|>system\\n' + \(literal($0)) + '<|im_end|>\\n' }}{%- endif %}"
        } ?? ""
        return opening
            + "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}"
            + "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
    }
}
