import Foundation
import Models
import Torch

/// A tiny random Qwen2 (2 layers, width 32) with the tiny byte-level tokenizer and a ChatML
/// template, written as a Hugging Face model folder, so whole training runs take seconds.
public enum TinyBackbone {
    public static func write(to url: URL, seed: UInt64 = 5) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let tokenizers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../TokenizersTests/Fixtures/tiny-bpe").standardized
        let tokenizerJSON = try Data(contentsOf: tokenizers.appendingPathComponent("tokenizer.json"))
        try tokenizerJSON.write(to: url.appendingPathComponent("tokenizer.json"))
        let config = #"{"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}"#
        try Data(config.utf8).write(to: url.appendingPathComponent("tokenizer_config.json"))
        let modelConfig = #"{"model_type": "qwen2", "vocab_size": 700, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true}"#
        try Data(modelConfig.utf8).write(to: url.appendingPathComponent("config.json"))
        Runtime.manualSeed(seed)
        let model = try CausalLM(DecoderConfig(configJSON: url.appendingPathComponent("config.json")))
        try SafeTensors.write(model.stateDict(), to: url.appendingPathComponent("model.safetensors"))
    }
}
