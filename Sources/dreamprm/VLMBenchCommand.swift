import ArgumentParser
import Foundation
import Imaging
import Models
import NN
import PRM
import Torch

/// Vision encoding and one v1 PRM training step on a random-initialised model of
/// Qwen2-VL-2B-Instruct's exact shapes, beside transformers on the same machine and threads.
struct VLMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlm",
        abstract: "Vision encoding and a PRM training step on a random Qwen2-VL-2B-shaped model beside transformers (JSON).",
        discussion: """
            Both sides build the model from one config.json with random weights and time, as medians: the vision \
            tower and merger on one image (no graph: the PRM's tower is frozen), and a training step of the scalar-head \
            PRM on a prompt holding that image's features (M-RoPE positions, the top --train-layers decoder layers, \
            the final norm and the Linear(vocab → 1) head trained by AdamW, MSE against 0.7). Peak memory is \
            the process's maximum resident set.
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Timed repetitions (the median is reported).") var reps = 3
    @Option(name: .customLong("image-side"), help: "The square image's side in pixels before smart_resize (v1 keeps ≤ 512).") var imageSide = 512
    @Option(name: .customLong("text-tokens"), help: "Text tokens around the image in the prompt.") var textTokens = 128
    @Option(name: .customLong("train-layers"), help: "Top decoder layers trained in the step.") var trainLayers = 2
    @Option(name: .customLong("text-layers"), help: "Decoder layers (default Qwen2-VL-2B's 28; fewer only for a quick look).") var textLayers = 28
    @Option(name: .customLong("vision-depth"), help: "Vision blocks (default Qwen2-VL-2B's 32; fewer only for a quick look).") var visionDepth = 32
    @Option(help: "The transformers reference script (skipped when absent or unusable).") var reference = "bench/vlm_reference.py"

    /// Qwen2-VL-2B-Instruct's config.json, the layer counts as given.
    func configJSON() -> [String: Any] {
        [
            "model_type": "qwen2_vl", "architectures": ["Qwen2VLForConditionalGeneration"],
            "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": textLayers, "num_attention_heads": 12,
            "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
            "rope_theta": 1_000_000.0, "rope_scaling": ["type": "mrope", "mrope_section": [16, 24, 24]], "tie_word_embeddings": true,
            "vocab_size": 151_936, "bos_token_id": 151_643, "eos_token_id": 151_645, "vision_start_token_id": 151_652,
            "vision_end_token_id": 151_653, "vision_token_id": 151_654, "image_token_id": 151_655, "video_token_id": 151_656,
            "attention_dropout": 0.0, "use_sliding_window": false, "sliding_window": 32768, "max_window_layers": textLayers,
            "vision_config": ["depth": visionDepth, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3, "hidden_size": 1536,
                              "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14, "temporal_patch_size": 2],
        ]
    }

    func run() throws {
        let threads = runtime.threads ?? 1
        Runtime.threadCount = threads
        let device = try Check.device(runtime.device)
        try Check.atLeast(reps, 1, "reps")
        try Check.atLeast(trainLayers, 0, "train-layers")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("dreamprm-bench-vlm-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let configFile = work.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: configJSON(), options: [.sortedKeys]).write(to: configFile)
        let config = try Models.ConfigFile.decode(Qwen2VLConfig.self, from: configFile)
        // A 504 × 504 grid for a 512-px side, as smart_resize gives: patches [t·h·w, 3·2·14·14].
        let processor = Qwen2VLImageProcessor()
        let resized = try Qwen2VLImageProcessor.smartResize(height: imageSide, width: imageSide, factor: processor.patchSize * processor.mergeSize,
                                                            minPixels: processor.minPixels, maxPixels: processor.maxPixels)
        let grid = (t: 1, h: resized.height / processor.patchSize, w: resized.width / processor.patchSize)
        let imageTokens = grid.h * grid.w / 4
        let ids = Self.promptIDs(config: config, imageTokens: imageTokens, textTokens: textTokens)
        let idsFile = work.appendingPathComponent("ids.json")
        try JSONSerialization.data(withJSONObject: ids).write(to: idsFile)

        // The reference first, in its own process: two copies of the model at once do not fit
        // in 24 GiB, and memory this process has freed need not return to the system.
        let theirs = device == .cpu ? PythonReference.run(script: reference, arguments: [
            configFile.path, "--ids-file", idsFile.path, "--grid", "\(grid.t),\(grid.h),\(grid.w)", "--threads", "\(threads)",
            "--reps", "\(reps)", "--train-layers", "\(trainLayers)"]) : nil
        var report = try measure(config: config, grid: grid, ids: ids, device: device)
        report.merge(["model": "Qwen2-VL-2B-Instruct shapes, random weights", "threads": threads, "device": device.description,
                      "image_side": imageSide, "grid_thw": [grid.t, grid.h, grid.w], "image_tokens": imageTokens, "prompt_tokens": ids.count,
                      "train_layers": trainLayers, "text_layers": textLayers, "vision_depth": visionDepth]) { a, _ in a }
        if let theirs {
            report.merge(theirs) { a, _ in a }
            for kind in ["vision_seconds", "train_step_seconds"] {
                if let ours = report["swift_\(kind)"] as? Double, let ref = theirs["transformers_\(kind)"] as? Double, ours > 0 {
                    report["\(kind.replacingOccurrences(of: "_seconds", with: ""))_speedup"] = (ref / ours * 1000).rounded() / 1000  // > 1: ours is faster
                }
            }
        } else {
            report["note"] = "no transformers reference in this run (CPU only; needs python3 with torch and transformers, and \(reference))"
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }

    /// A v1 prompt's shape: chat header tokens, the image between its start and end tokens, then text.
    static func promptIDs(config: Qwen2VLConfig, imageTokens: Int, textTokens: Int) -> [Int] {
        let text = { (n: Int, offset: Int) in (0..<n).map { 100 + ($0 * 7919 + offset) % 150_000 } }
        return text(16, 0) + [config.visionStartTokenId] + [Int](repeating: config.imageTokenId, count: imageTokens)
            + [config.visionEndTokenId] + text(textTokens, 17)
    }

    private func measure(config: Qwen2VLConfig, grid: (t: Int, h: Int, w: Int), ids: [Int], device: Device) throws -> [String: Any] {
        Runtime.manualSeed(0)
        let started = Date()
        let model = try Qwen2VLModel(config)
        try model.to(device)
        let built = Date().timeIntervalSince(started)
        let vision = config.vision
        let patches = try Tensor.randn([grid.t * grid.h * grid.w, vision.inChannels * vision.temporalPatchSize * vision.patchSize * vision.patchSize]).to(device)
        let images = ImagePatches(patches: patches, grids: [grid])
        func median(_ body: () throws -> Void) throws -> Double {
            try body()  // warm-up
            return BenchTiming.median(try (0..<reps).map { _ in try BenchTiming.seconds(on: device, body) })
        }
        var features: Tensor!
        let visionSeconds = try median { features = try Autograd.noGrad { try model.vision(images.patches, grids: images.grids) } }

        // The PRM step as training runs it: frozen tower (its features fixed), image features on
        // the pad tokens, M-RoPE positions, the logits head at the last token.
        let language = model.language
        try model.freeze()
        try language.freezeAllButTopLayers(trainLayers)
        let head = try Linear(config.text.vocabSize, 1)
        try head.to(device)
        let optimizer = try AdamW(language.trainableParameters() + head.parameters(), learningRate: 1e-5)
        let input = try Tensor(ids.map(Int64.init), shape: [1, ids.count]).to(device)
        let (positions, _) = try model.ropePositions(ids: input, attentionMask: nil, grids: images.grids)
        let slots = ids.indices.filter { ids[$0] == config.imageTokenId }
        let index = try Tensor(slots.map(Int64.init), shape: [slots.count, 1]).to(device).expand([slots.count, config.text.hiddenSize])
        let target = try Tensor([Float(0.7)]).to(device)
        let stepSeconds = try median {
            try optimizer.zeroGrad()
            let embedded = try language.embed(input).reshape([ids.count, config.text.hiddenSize])
                .scatter(dim: 0, index: index, source: features.to(language.embeddingWeight.dtype)).unsqueeze(0)
            let hidden = try language.hiddenStates(.embeddings(embedded), positions: positions)
            let z = try head(language.logits(hidden.narrow(dim: 1, start: ids.count - 1, length: 1).squeeze(1)).to(.float32)).squeeze(-1)
            try Loss.mse(z.sigmoid(), target).backward()
            try optimizer.step()
        }
        let parameters = model.parameterCount
        return ["swift_vision_seconds": visionSeconds, "swift_train_step_seconds": stepSeconds, "swift_build_seconds": built,
                "parameters": parameters, "swift_peak_rss_gib": Self.peakResidentGiB() ?? NSNull()]
    }

    /// The process's maximum resident set so far (Linux: VmHWM).
    static func peakResidentGiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = line.split(whereSeparator: \.isWhitespace).compactMap({ Double($0) }).first else { return nil }
        return (kb / 1024 / 1024 * 100).rounded() / 100
    }
}
