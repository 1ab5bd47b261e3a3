import ArgumentParser
import Evaluation
import Foundation
import PRM

/// `dreamprm export RUN --hf OUT`: a trained PRM as a directory `transformers` loads.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a trained PRM for Hugging Face transformers.",
        discussion: """
            Writes OUT with config.json, model.safetensors (Hugging Face key names), tokenizer.json and \
            tokenizer_config.json (its chat template writes the prompt the PRM reads), prm_head.safetensors \
            and prm_config.json (how the head turns the model's output into step probabilities). The README's \
            Python lines score a chain with it. OUT is written whole or not at all.
            """)

    @Argument(help: "A `dreamprm train` output directory or its prm.safetensors.") var source: String
    @Option(help: "The directory to write.") var hf: String
    @Flag(help: "Replace OUT if it exists.") var overwrite = false

    func run() throws {
        guard FileManager.default.fileExists(atPath: source) else { throw SettingError("run", "'\(source)' does not exist") }
        guard !hf.isEmpty else { throw SettingError("hf", "is empty; name the directory to write") }
        if FileManager.default.fileExists(atPath: hf), !overwrite {
            throw SettingError("hf", "'\(hf)' exists; pass --overwrite to replace it")
        }
        try Check.outputDirectory(URL(fileURLWithPath: hf).standardizedFileURL.deletingLastPathComponent().path, "hf")
        let trained: TrainedPRM
        do { trained = try TrainedPRM.load(URL(fileURLWithPath: source)) } catch {
            throw SettingError("run", "cannot load '\(source)': \(error)")
        }
        try HuggingFaceExport.write(trained, to: URL(fileURLWithPath: hf))
        print("wrote \(hf): a \(trained.prm.backbone.config.modelType) causal LM for transformers and the PRM head (prm_head.safetensors, prm_config.json)")
    }
}
