import Foundation
import Models
import NN
import PRM
import TestSupport
import Tokenizers
import Torch
import XCTest

final class ScalarHeadPRMTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    /// A tiny random Qwen2 (vocab 120) from the Models fixtures, with a seeded head.
    private func tinyPRM(_ input: ScalarHeadInput, initialization: ScalarHeadInit = .standardized) throws -> ScalarHeadPRM {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../ModelsTests/Fixtures/tiny-qwen2").standardized
        Runtime.manualSeed(7)
        return try ScalarHeadPRM(backbone: ModelLoader.loadHuggingFaceWeights(dir), input: input, initialization: initialization)
    }

    /// Prefixes shaped like chat-wrapped step prefixes: header + content up to step k + suffix.
    private func chainPrefixes() -> [[Int]] {
        let header = [1, 9, 4, 22], suffix = [2, 5, 3]
        let content = (0..<30).map { 10 + ($0 * 37) % 100 }
        return [8, 15, 21, 30].map { header + Array(content.prefix($0)) + suffix }
    }

    func testSharedPrefixScoresEqualPerPrefixScores() throws {
        for input in [ScalarHeadInput.logits, .hidden] {
            let prm = try tinyPRM(input)
            let prefixes = chainPrefixes()
            let (a, b) = try Autograd.noGrad {
                (try prm.chainLogits(prefixes, mode: .perPrefix), try prm.chainLogits(prefixes, mode: .sharedPrefix))
            }
            try assertClose(b.logits, a.logits, rtol: 1e-4, atol: 1e-4, "\(input) head")
            XCTAssertEqual(a.tokensProcessed, 7 * 4 + 8 + 15 + 21 + 30)
            XCTAssertEqual(b.tokensProcessed, 4 + 30 + 4 * 3, "header and content once, then each prefix's suffix")
            XCTAssertEqual(b.perPrefixTokens, a.tokensProcessed)
        }
    }

    /// The meta loss back-propagates through the tree attention mask: the parameter gradient
    /// of Σ_k z_k is the one the separate prefix forwards give.
    func testSharedPrefixGradientsEqualPerPrefixGradients() throws {
        for input in [ScalarHeadInput.logits, .hidden] {
            let prm = try tinyPRM(input)
            func gradients(_ mode: PrefixScoring) throws -> [Double] {
                try prm.zeroGrad()
                try prm.chainLogits(chainPrefixes(), mode: mode).logits.sum().backward()
                return try prm.trainableParameters().flatMap { try ($0.grad ?? Tensor.zeros(like: $0)).doubles() }
            }
            let perPrefix = try gradients(.perPrefix)
            XCTAssertGreaterThan(perPrefix.map(abs).max() ?? 0, 1e-3, "the gradient is not trivially zero")
            assertClose(try gradients(.sharedPrefix), perPrefix, rtol: 1e-4, atol: 1e-6, "\(input) head")
        }
    }

    /// Prefixes that share nothing with the longest one, or are not its prefixes at all, are
    /// still scored as their own forwards would.
    func testSharedPrefixHandlesUnrelatedPrefixes() throws {
        let prm = try tinyPRM(.hidden)
        let prefixes = [[1, 9, 4, 22, 30, 31], [7, 8], [1, 9, 4, 22, 30, 31, 40, 41, 42], [1, 9, 5, 60]]
        let (a, b) = try Autograd.noGrad {
            (try prm.chainLogits(prefixes, mode: .perPrefix), try prm.chainLogits(prefixes, mode: .sharedPrefix))
        }
        try assertClose(b.logits, a.logits, rtol: 1e-4, atol: 1e-4, "unrelated prefixes")
        XCTAssertEqual(b.tokensProcessed, 6 + 2 + 3 + 2, "[1 … 31], [7, 8], [40, 41, 42], [5, 60]: the first is read inside the third")
    }

    /// Several chains' prefixes in one trie (shared question, a repeated sequence, a sequence
    /// that is a prefix of another) score as their own forwards do.
    func testPackedLogitsOfSeveralChainsEqualSeparateForwards() throws {
        let prm = try tinyPRM(.hidden)
        let question = [1, 9, 4, 22, 30]
        let sequences = [question + [40, 41, 2], question + [40, 41, 42, 43, 2], question + [50, 2], question + [40, 41],
                         question + [50, 2], [7, 8, 9]]
        let packed = try Autograd.noGrad { try prm.packedLogits(sequences) }
        let separate = try Autograd.noGrad { try sequences.map { try prm.logits([$0]).doubles()[0] } }
        assertClose(try packed.logits.doubles(), separate, rtol: 1e-4, atol: 1e-4, "packed vs separate")
        XCTAssertEqual(packed.tokensProcessed, 5 + 3 + 3 + 2 + 3, "question, [40 41 2], [42 43 2], [50 2], [7 8 9]")
    }


    /// With the bottom layer frozen and a trunk cache, packed scores and the trained
    /// parameters' gradients equal those of the full forward. States are kept per sequence: a
    /// trie of sequences already seen in another trie reads them all from the cache.
    func testTrunkCacheKeepsPackedScoresAndGradients() throws {
        let prm = try tinyPRM(.logits)
        try prm.backbone.freezeAllButTopLayers(1)
        XCTAssertGreaterThan(prm.backbone.frozenBottomLayers, 0)
        let tries = [chainPrefixes(), [[1, 9, 4, 22, 30, 40, 2]], [chainPrefixes()[0], chainPrefixes()[2]]]
        func scoresAndGradients(_ sequences: [[Int]]) throws -> [[Double]] {
            let z = try prm.packedLogits(sequences).logits
            let trained = prm.trainableParameters()
            let gradients = try Autograd.grad(of: [(z * z).sum()], wrt: trained).map { try XCTUnwrap($0).doubles() }
            return [try z.detach().doubles()] + gradients
        }
        let uncached = try tries.map(scoresAndGradients)
        let cache = FrozenTrunkCache(byteBudget: 1 << 24)
        prm.trunkCache = cache
        for pass in 0..<2 {
            for (i, sequences) in tries.enumerated() {
                let cached = try scoresAndGradients(sequences)
                for (a, b) in zip(cached, uncached[i]) { assertClose(a, b, rtol: 1e-5, atol: 1e-6, "trie \(i), pass \(pass)") }
            }
        }
        XCTAssertEqual([cache.misses, cache.hits], [5, 2 + 7], "4 + 1 new sequences, then the third trie's 2; every one again")
    }
    /// Two PRMs that differ only in their top layer share the one below it: scoring through
    /// the shared trunk gives each PRM its own scores, and a changed embedding shares nothing.
    func testSharedTrunkScoresEqualEachPRMsOwnForward() throws {
        // The reference head: a random weight, so that a changed layer shows in z.
        let a = try tinyPRM(.hidden, initialization: .reference), b = try tinyPRM(.hidden, initialization: .reference)
        func nudge(_ prm: ScalarHeadPRM, _ prefix: String) throws {
            try Autograd.noGrad { for (name, p) in prm.backbone.namedParameters() where name.hasPrefix(prefix) { try p.add_(0.05) } }
        }
        try nudge(b, "model.layers.1.")
        XCTAssertEqual(try a.backbone.sharedBottomLayers(with: b.backbone), 1)
        let trunk = try XCTUnwrap(try SharedTrunk([a.backbone, b.backbone]))
        XCTAssertEqual(trunk.layers, 1)
        let question = [1, 9, 4, 22, 30]
        let sequences = [question + [40, 41, 2], question + [40, 41, 42, 43, 2], question + [50, 2]]
        for prm in [a, b] {
            let (shared, own) = try Autograd.noGrad { (try prm.packedLogits(sequences, trunk: trunk), try prm.packedLogits(sequences)) }
            assertClose(try shared.logits.doubles(), try own.logits.doubles(), rtol: 1e-5, atol: 1e-6)
        }
        let (za, zb) = try Autograd.noGrad { (try a.packedLogits(sequences).logits.doubles(), try b.packedLogits(sequences).logits.doubles()) }
        XCTAssertGreaterThan(zip(za, zb).map { abs($0 - $1) }.max()!, 1e-3, "the nudged top layer changes b's scores")

        try nudge(b, "model.embed_tokens.")
        XCTAssertEqual(try a.backbone.sharedBottomLayers(with: b.backbone), 0)
        XCTAssertNil(try SharedTrunk([a.backbone, b.backbone]))
    }

    /// Groups keep their tries within the cap, keep units whole and in order, and give an
    /// oversized unit a group of its own.
    func testTrieGroupsStayWithinTheirCap() {
        let q = [1, 2, 3, 4]
        let units = [[q + [5, 6]], [q + [7, 8]], [[9, 10, 11, 12, 13, 14, 15]], [q + [16], q + [17]], [[20]]]
        // Tries: {q,5,6}=6, +{7,8}=8; {9..15}=7; {q,16,17}=6 +{20}=7.
        XCTAssertEqual(TokenTrie.groups(units, maxTokens: 8), [[0, 1], [2], [3, 4]])
        XCTAssertEqual(TokenTrie.groups(units, maxTokens: 5), [[0], [1], [2], [3], [4]])
        XCTAssertEqual(TokenTrie.groups(units, maxTokens: 100), [[0, 1, 2, 3, 4]])
    }

    func testBatchGradientIsTheMeanOfSingleSampleGradients() throws {
        let prm = try tinyPRM(.logits)
        let sequences = [[5, 17, 99, 3, 8], [44, 2, 71], [9, 9, 60, 61, 62, 63, 64]]
        let accuracy = [0.25, 1.0, 0.0]
        func gradients(_ batch: [Int]) throws -> [Double] {
            try prm.zeroGrad()
            let z = try prm.logits(batch.map { sequences[$0] })
            try PRMLoss.mse(logits: z, accuracy: Tensor(batch.map { Float(accuracy[$0]) })).mean().backward()
            return try prm.trainableParameters().flatMap { try ($0.grad ?? Tensor.zeros(like: $0)).doubles() }
        }
        let batch = try gradients([0, 1, 2])
        let singles = try (0..<3).map { try gradients([$0]) }
        let mean = (0..<batch.count).map { i in singles.reduce(0) { $0 + $1[i] } / 3 }
        assertClose(batch, mean, rtol: 1e-4, atol: 1e-8, "padded batch of 3 vs mean of singles")
    }

    /// SmolLM2 on a chain from the released v1 meta file, chat-wrapped as DreamPRM v1 does.
    func testSharedPrefixEqualsPerPrefixOnSmolLM2() throws {
        guard let shared = sharedDirectory() else { throw XCTSkip("../shared is absent") }
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        let records = try RecordReader.read(shared.appendingPathComponent("data/dreamprm-release/dreamprm_v1_meta.json"), V1MetaRecord.init)
        let chain = try XCTUnwrap(records.lazy.map { StepSplitter.v1.split($0.input) }.first { $0.count >= 4 })
        let loaded = try ModelLoader.load(url)
        let template = try XCTUnwrap(loaded.chatTemplate)
        let prefixes = (0..<chain.count).map { k in
            loaded.tokenizer.encode(template.render([.user(chain.prefix(through: k))], addGenerationPrompt: true))
        }
        Runtime.manualSeed(3)
        let prm = try ScalarHeadPRM(backbone: loaded.model)
        let (a, b) = try Autograd.noGrad {
            (try prm.chainLogits(prefixes, mode: .perPrefix), try prm.chainLogits(prefixes, mode: .sharedPrefix))
        }
        try assertClose(b.logits, a.logits, rtol: 1e-4, atol: 1e-4, "SmolLM2 step logits")
        print("shared-prefix on SmolLM2: \(chain.count) steps, \(b.tokensProcessed) tokens instead of \(a.tokensProcessed)")
        XCTAssertLessThan(b.tokensProcessed, a.tokensProcessed / 2)
    }
}
