import Foundation
import Models
import NN
import PRM
import Torch

/// A trained scalar-head PRM loaded from `prm.safetensors` (as `dreamprm train` writes it),
/// with the backbone its metadata names.
public struct TrainedPRM {
    public let prm: ScalarHeadPRM
    public let encoder: PromptEncoder
    /// Identifies the weights (path, size, modification time), so a score cache is reused only for them.
    public let fingerprint: String

    public init(prm: ScalarHeadPRM, encoder: PromptEncoder, fingerprint: String) {
        self.prm = prm
        self.encoder = encoder
        self.fingerprint = fingerprint
    }

    public static func load(_ location: URL, rewardModel: String? = nil, device: Device = .cpu) throws -> TrainedPRM {
        let file = weightsFile(location)
        let weights = try SafeTensorsCheckpoint(file)
        let metadata = weights.files.first?.metadata ?? [:]
        guard let backboneName = rewardModel ?? metadata["reward_model"] else {
            throw ConfigError(source: file.path, message: "names no reward_model in its metadata; pass --reward_model")
        }
        guard let head = weights.entry("prm_head.weight") else { throw ConfigError(source: file.path, message: "has no prm_head.weight: not a PRM checkpoint") }
        let backbone = try RewardBackbone.load(try ModelRegistry.resolve(backboneName))
        let loaded = backbone.loaded
        guard let template = loaded.chatTemplate else { throw ConfigError(source: loaded.source, message: "has no chat template this build can render") }
        let input: ScalarHeadInput = head.shape.last == loaded.model.config.hiddenSize && head.shape.last != loaded.model.config.vocabSize ? .hidden : .logits
        // Runs written before the standardised head existed have no head_init: they are the reference head.
        let initialization = metadata["head_init"].map { ScalarHeadInit(rawValue: $0) } ?? .reference
        guard let initialization else { throw ConfigError(source: file.path, message: "unknown head_init '\(metadata["head_init"]!)'") }
        let prm = try ScalarHeadPRM(backbone: loaded.model, input: input, initialization: initialization)
        _ = try prm.load(from: weights, strict: true)
        try backbone.vision?.to(device)
        try prm.to(device)
        // The images as in training: the v1 policy, the same at test time.
        prm.images = backbone.vision.map { PromptImages(backbone: $0, longestSide: PromptImages.v1LongestSide) }
        return TrainedPRM(prm: prm, encoder: PromptEncoder(tokenizer: loaded.tokenizer, template: template, images: prm.images),
                          fingerprint: try fingerprint(of: file))
    }

    /// A run directory's `prm.safetensors`, or the file itself.
    static func weightsFile(_ location: URL) -> URL {
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: location.path, isDirectory: &isDirectory)
        return isDirectory.boolValue ? location.appendingPathComponent("prm.safetensors") : location
    }

    /// Identifies a weights file by path, size and modification time.
    static func fingerprint(of file: URL) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        return "\(file.standardizedFileURL.path)|\(attributes[.size] ?? 0)|\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
    }

    /// Step logits of every candidate of one question, each cut into steps by `splitter`.
    public func stepLogits(question: String, candidates: [String], splitter: StepSplitter, image: URL? = nil, packedTokens: Int = 2048,
                           trunk: SharedTrunk? = nil) throws -> [[Double]] {
        try stepLogits(prefixTexts: candidates.map { Self.prefixTexts(question: question, candidate: $0, splitter: splitter) },
                       image: image, packedTokens: packedTokens, trunk: trunk)
    }

    /// Step logits of chains given as the texts the PRM reads at each step (question and steps
    /// through k). Distinct chains are packed into token tries of at most `packedTokens` nodes
    /// (what they share, such as the question, runs once per trie); a repeated chain gets its
    /// twin's scores. A `trunk` shared with other PRMs runs its layers once for all of them.
    /// `image` opens every prompt where the backbone reads images.
    public func stepLogits(prefixTexts: [[String]], image: URL? = nil, packedTokens: Int = 2048, trunk: SharedTrunk? = nil) throws -> [[Double]] {
        var distinct: [[String]: Int] = [:], chains: [[[Int]]] = []
        let context = prm.backbone.config.maxPositions
        for (j, texts) in prefixTexts.enumerated() where distinct[texts] == nil {
            distinct[texts] = chains.count
            chains.append(try texts.map { try encoder.encode($0, image: image) })
            if let longest = chains.last!.map(\.count).max(), longest > context { throw CandidateTooLong(candidate: j, tokens: longest, context: context) }
        }
        let groups = TokenTrie.groups(chains, maxTokens: packedTokens)
        var logits = [[Double]](repeating: [], count: chains.count)
        try Autograd.noGrad {
            for group in groups {
                var z = try prm.packedLogits(group.flatMap { chains[$0] }, trunk: trunk).logits.doubles()[...]
                for i in group {
                    logits[i] = Array(z.prefix(chains[i].count))
                    z = z.dropFirst(chains[i].count)
                }
            }
        }
        return prefixTexts.map { logits[distinct[$0]!] }
    }

    /// The texts the PRM reads for explicit steps: the question, a blank line, steps 1…k
    /// joined by blank lines.
    public static func prefixTexts(question: String, steps: [String]) -> [String] {
        steps.indices.map { question + "\n\n" + steps[...$0].joined(separator: "\n\n") }
    }

    /// The texts the PRM reads, one per scored step: the question, a blank line, the steps
    /// through k. A candidate the splitter finds no steps in is split generically, or scored whole.
    public static func prefixTexts(question: String, candidate: String, splitter: StepSplitter) -> [String] {
        var chain = splitter.split(candidate)
        if chain.count == 0 { chain = StepSplitter.generic.split(candidate) }
        return chain.count == 0 ? [question + "\n\n" + candidate] : (0..<chain.count).map { question + "\n\n" + chain.prefix(through: $0) }
    }
}

/// A candidate (with its question) longer than the backbone's context.
public struct CandidateTooLong: Error {
    public let candidate: Int, tokens: Int, context: Int

    public init(candidate: Int, tokens: Int, context: Int) {
        (self.candidate, self.tokens, self.context) = (candidate, tokens, context)
    }
}

/// Per-step scores of every candidate, saved as JSON after each question so an interrupted
/// evaluation resumes and a re-evaluation with another aggregation or tie rule is instant.
/// A cache is used only when the PRM file, the test file and every scoring setting are the
/// ones it was made with and its lists fit the test records; otherwise it is scored anew.
public struct ScoreCache: Codable {
    public var prm: String
    public var testFile: String
    /// Everything else that changes a score (splitter, record format, backbone override).
    public var settings: String
    /// question → candidate → step logits.
    public var stepLogits: [[[Double]]]

    public static func scores(for trained: TrainedPRM, records: [BestOfNRecord], testFile: URL, splitter: StepSplitter,
                              settings: String, cache url: URL, log: (String) -> Void) throws -> [[[Double]]] {
        try scores(for: [(.scalar(trained), url)], records: records, testFile: testFile, splitter: splitter, settings: settings, log: log)[0]
    }

    /// Scores of several PRMs, each with its own cache, question by question: layers the PRMs
    /// hold in common (`SharedTrunk`) run once per question for all of them.
    public static func scores(for prms: [(trained: LoadedPRM, cache: URL)], records: [BestOfNRecord], testFile: URL,
                              splitter: StepSplitter, settings: String, log: (String) -> Void) throws -> [[[[Double]]]] {
        let testIdentity = try fileIdentity(testFile)
        var caches = prms.map { prm -> ScoreCache in
            let fresh = ScoreCache(prm: prm.trained.fingerprint, testFile: testIdentity, settings: settings, stepLogits: [])
            return loaded(prm.cache, standingFor: fresh, records: records, log: log) ?? fresh
        }
        let trunk = try SharedTrunk(prms.compactMap { if case .scalar(let t) = $0.trained { t.prm.backbone } else { nil } })
        if let trunk { log("the PRMs share their bottom \(trunk.layers) layers; those run once per question") }
        let start = caches.map(\.stepLogits.count).min() ?? records.count
        let meter = ProgressMeter(total: records.count, done: start, unit: "questions")
        var lastPrint = Date.distantPast
        for i in start..<records.count {
            let r = records[i]
            for (k, prm) in prms.enumerated() where caches[k].stepLogits.count == i {
                do {
                    let image = r.imagePath.map { PromptImages.location(of: $0, inDataFile: testFile.path) }
                    caches[k].stepLogits.append(try PromptImages.reading(file: testFile.path, record: i, field: "image_path") {
                        try prm.trained.stepLogits(question: r.question, candidates: r.candidates, steps: r.candidateSteps, splitter: splitter,
                                                   image: image, trunk: trunk)
                    })
                } catch let e as CandidateTooLong {
                    throw DataError(file: testFile.path, record: i, field: "candidates[\(e.candidate)]",
                                    message: "is \(e.tokens) tokens with its question; the PRM's backbone reads at most \(e.context)")
                }
                try AtomicFile.write(try JSONEncoder().encode(caches[k]), to: prm.cache)
            }
            if Date().timeIntervalSince(lastPrint) >= 5 || i == records.count - 1 {
                lastPrint = Date()
                log("scored " + meter.line(at: i + 1))
            }
        }
        return caches.map(\.stepLogits)
    }

    /// The cache saved at `url` when it can stand for `fresh` on `records`, saying why not otherwise.
    static func loaded(_ url: URL, standingFor fresh: ScoreCache, records: [BestOfNRecord], log: (String) -> Void) -> ScoreCache? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        guard let saved = try? JSONDecoder().decode(ScoreCache.self, from: data) else {
            log("score cache \(url.lastPathComponent) is unreadable or from an older version; scoring anew")
            return nil
        }
        if let problem = saved.mismatch(with: fresh, records: records) {
            log("score cache \(url.lastPathComponent) not used (\(problem)); scoring anew")
            return nil
        }
        log("score cache \(url.lastPathComponent): \(saved.stepLogits.count) of \(records.count) questions already scored")
        return saved
    }

    /// Why this saved cache cannot stand for `fresh` on `records`, or nil when it can.
    func mismatch(with fresh: ScoreCache, records: [BestOfNRecord]) -> String? {
        if prm != fresh.prm { return "made with other PRM weights" }
        if testFile != fresh.testFile { return "made for another test file or version" }
        if settings != fresh.settings { return "made with other settings: \(settings)" }
        if stepLogits.count > records.count { return "\(stepLogits.count) questions, the test file has \(records.count)" }
        for (i, scored) in stepLogits.enumerated() {
            if scored.count != records[i].candidates.count {
                return "question \(i) has \(scored.count) score lists for \(records[i].candidates.count) candidates"
            }
            if let j = scored.firstIndex(where: \.isEmpty) { return "question \(i), candidate \(j) has no step scores" }
        }
        return nil
    }

    static func fileIdentity(_ url: URL) throws -> String {
        let a = try FileManager.default.attributesOfItem(atPath: url.path)
        return "\(url.standardizedFileURL.path)|\(a[.size] ?? 0)|\((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
    }
}
