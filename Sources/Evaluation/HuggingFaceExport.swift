import Foundation
import Models
import PRM
import Tokenizers
import Torch

/// A trained PRM as a directory that `transformers` loads: the backbone as a causal LM
/// (`config.json`, `model.safetensors` under Hugging Face key names, `tokenizer.json` and
/// `tokenizer_config.json` whose chat template writes the prompt the PRM reads) beside the
/// scalar head (`prm_head.safetensors`) and how to apply it (`prm_config.json`).
public enum HuggingFaceExport {
    public static func write(_ trained: TrainedPRM, to out: URL) throws {
        let prm = trained.prm, backbone = prm.backbone, tokenizer = trained.encoder.tokenizer
        let dtype = backbone.embeddingWeight.dtype
        let torchDType = [DType.float32: "float32", .bfloat16: "bfloat16", .float16: "float16"][dtype] ?? "float32"
        var head = ["weight": prm.head.weight]
        if let bias = prm.head.bias { head["bias"] = bias }
        if let center = prm.featureCenter { head["feature_center"] = center }
        let standardized = prm.featureCenter != nil
        let usage: [String: Any] = [
            "format": "dreamprm-v1-prm-head",
            "head_input": prm.input.rawValue,
            "head_init": prm.initialization.rawValue,
            "standardized": standardized,
            "layer_norm_eps": 1e-5,
            "prompt": "one user turn holding the question, a blank line, and steps 1..k joined by blank lines; chat template with the generation prompt",
            "feature": (prm.input == .logits ? "the language model's logits" : "the final (normalised) hidden state") + " at the prompt's last token",
            "score": standardized
                ? "x = layer_norm(feature); x = layer_norm(x - feature_center); p = sigmoid(x . weight + bias)"
                : "p = sigmoid(feature . weight + bias)",
        ]
        func json(_ object: Any) throws -> Data {
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        }
        try AtomicFile.writeDirectory(at: out) { dir in
            try json(backbone.config.huggingFaceConfig(bos: tokenizer.bosTokenID, eos: tokenizer.eosTokenID, dtype: torchDType))
                .write(to: dir.appendingPathComponent("config.json"))
            // transformers refuses safetensors whose metadata does not say "pt".
            try SafeTensors.write(backbone.stateDict(), metadata: ["format": "pt"], to: dir.appendingPathComponent("model.safetensors"))
            try json(tokenizer.huggingFaceTokenizerJSON()).write(to: dir.appendingPathComponent("tokenizer.json"))
            try json(tokenizer.huggingFaceTokenizerConfig(template: trained.encoder.template, maxLength: backbone.config.maxPositions))
                .write(to: dir.appendingPathComponent("tokenizer_config.json"))
            try SafeTensors.write(head, metadata: ["format": "pt", "head_input": prm.input.rawValue, "head_init": prm.initialization.rawValue],
                                  to: dir.appendingPathComponent("prm_head.safetensors"))
            try json(usage).write(to: dir.appendingPathComponent("prm_config.json"))
        }
    }
}
