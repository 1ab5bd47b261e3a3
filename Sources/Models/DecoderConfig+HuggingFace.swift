import Foundation

extension DecoderConfig {
    /// A Hugging Face `config.json` for this decoder (`LlamaForCausalLM` or `Qwen2ForCausalLM`).
    public func huggingFaceConfig(bos: Int?, eos: Int?, dtype: String) -> [String: Any] {
        var json: [String: Any] = [
            "architectures": [modelType == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"], "model_type": modelType,
            "vocab_size": vocabSize, "hidden_size": hiddenSize, "intermediate_size": intermediateSize,
            "num_hidden_layers": layerCount, "num_attention_heads": headCount, "num_key_value_heads": kvHeadCount,
            "head_dim": headDim, "hidden_act": "silu", "rms_norm_eps": rmsNormEps, "rope_theta": ropeTheta,
            "max_position_embeddings": maxPositions, "tie_word_embeddings": tieWordEmbeddings, "torch_dtype": dtype,
            "attention_dropout": 0.0, "use_cache": true,
        ]
        if modelType == "llama" { json["attention_bias"] = attentionBias; json["mlp_bias"] = false }
        if let bos { json["bos_token_id"] = bos }
        if let eos { json["eos_token_id"] = eos }
        switch ropeScaling {
        case .none: json["rope_scaling"] = NSNull()
        case .linear(let factor): json["rope_scaling"] = ["rope_type": "linear", "factor": factor]
        case .dynamic(let factor, let original):
            json["rope_scaling"] = ["rope_type": "dynamic", "factor": factor, "original_max_position_embeddings": original]
        case .llama3(let factor, let low, let high, let original):
            json["rope_scaling"] = ["rope_type": "llama3", "factor": factor, "low_freq_factor": low, "high_freq_factor": high,
                                    "original_max_position_embeddings": original]
        case .yarn(let factor, let original, let fast, let slow, let attention):
            var yarn: [String: Any] = ["rope_type": "yarn", "factor": factor, "original_max_position_embeddings": original,
                                       "beta_fast": fast, "beta_slow": slow]
            if let attention { yarn["attention_factor"] = attention }
            json["rope_scaling"] = yarn
        }
        return json
    }
}
