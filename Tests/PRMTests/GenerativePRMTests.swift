import Foundation
import Models
import NN
import PRM
import TestSupport
import Tokenizers
import Torch
import XCTest

/// The generative (DreamPRM-1.5) PRM against transformers (tools/fixtures/make_generative_prm_fixtures.py):
/// the same tokens and read positions from SmolLM2's tokenizer and chat template, and the same
/// log P(+) from a tiny random Llama and from SmolLM2-135M, on three released 1.5 meta
/// conversations and one written for the fixture.
final class GenerativePRMTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private struct Scored: Decodable {
        let tokens: [Int]
        let read_positions: [Int]
        let log_p_plus: [Double]
    }
    private struct Fixture: Decodable {
        struct Turn: Decodable { let from: String, value: String }
        let conversations: [[Turn]]
        let tiny: [Scored]
        let smollm2: [Scored]
    }

    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    private func messages(_ turns: [Fixture.Turn]) -> [ChatMessage] {
        turns.map { ChatMessage(role: ["system": "system", "human": "user", "gpt": "assistant"][$0.from]!, content: $0.value) }
    }

    func testStepScoresEqualTransformers() throws {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtures.appendingPathComponent("generative_prm.json")))
        let loaded = try ModelLoader.load(url)
        let encoder = try ConversationEncoder(tokenizer: loaded.tokenizer, template: try XCTUnwrap(loaded.chatTemplate))
        let tiny = GenerativePRM(backbone: try ModelLoader.loadHuggingFaceWeights(fixtures.appendingPathComponent("tiny-chat-llama")), encoder: encoder)
        let smol = GenerativePRM(backbone: loaded.model, encoder: encoder)
        XCTAssertEqual(fixture.conversations.count, 4)
        for (i, turns) in fixture.conversations.enumerated() {
            let conversation = try encoder.encode(messages(turns))
            XCTAssertEqual(conversation.tokens, fixture.smollm2[i].tokens, "conversation \(i): tokens")
            XCTAssertEqual(conversation.readPositions, fixture.smollm2[i].read_positions, "conversation \(i): read positions")
            for (prm, expected, name) in [(tiny, fixture.tiny[i], "tiny"), (smol, fixture.smollm2[i], "SmolLM2")] {
                let logP = try Autograd.noGrad {
                    try prm.labelLogProbabilities(conversation).narrow(dim: 1, start: prm.plus, length: 1).squeeze(1).doubles()
                }
                assertClose(logP, expected.log_p_plus, rtol: 0, atol: 1e-4, "\(name), conversation \(i): log P(+)")
                let p = try Autograd.noGrad { try prm.stepProbabilities(conversation).doubles() }
                assertClose(p, expected.log_p_plus.map(Foundation.exp), rtol: 0, atol: 1e-4, "\(name), conversation \(i): P(+)")
            }
        }
        XCTAssertEqual(try encoder.encode(messages(fixture.conversations[3])).labels, [true, false])
        let spread = fixture.smollm2.flatMap(\.log_p_plus)
        XCTAssertGreaterThan(spread.max()! - spread.min()!, 0.1, "the reference scores differ, so equality is informative")
    }

    /// With the bottom layer frozen and a trunk cache, the scores still equal transformers', read
    /// from the cache the second time, and the trained layer's gradients are those without it.
    func testTrunkCacheKeepsScoresAndGradients() throws {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtures.appendingPathComponent("generative_prm.json")))
        let loaded = try ModelLoader.load(url)
        let encoder = try ConversationEncoder(tokenizer: loaded.tokenizer, template: try XCTUnwrap(loaded.chatTemplate))
        let prm = GenerativePRM(backbone: try ModelLoader.loadHuggingFaceWeights(fixtures.appendingPathComponent("tiny-chat-llama")), encoder: encoder)
        try prm.backbone.freezeAllButTopLayers(1)
        XCTAssertEqual(prm.backbone.frozenBottomLayers, 1)
        let conversations = try fixture.conversations.map { try encoder.encode(messages($0)) }
        func gradients(_ c: EncodedConversation) throws -> [[Double]] {
            let trained = prm.trainableParameters()
            let loss = try prm.labelLogProbabilities(c).narrow(dim: 1, start: prm.plus, length: 1).sum()
            return try Autograd.grad(of: [loss], wrt: trained).map { try XCTUnwrap($0).doubles() }
        }
        let uncached = try conversations.map(gradients)
        let cache = FrozenTrunkCache(byteBudget: 1 << 20)
        prm.trunkCache = cache
        for pass in 0..<2 {
            for (i, c) in conversations.enumerated() {
                let logP = try Autograd.noGrad { try prm.labelLogProbabilities(c).narrow(dim: 1, start: prm.plus, length: 1).squeeze(1).doubles() }
                assertClose(logP, fixture.tiny[i].log_p_plus, rtol: 0, atol: 1e-4, "conversation \(i), pass \(pass) through the cache")
            }
        }
        XCTAssertEqual([cache.misses, cache.hits], [4, 4])
        for (i, c) in conversations.enumerated() {
            XCTAssertEqual(try gradients(c), uncached[i], "conversation \(i): cached trunk states")
        }

        // Room for the first two conversations' states (hidden size 8, float32) less a byte:
        // the second evicts the first.
        let sizes = conversations.map { $0.tokens.count * 8 * 4 }
        let small = FrozenTrunkCache(byteBudget: sizes[0] + sizes[1] - 1)
        prm.trunkCache = small
        for c in [conversations[0], conversations[0], conversations[1], conversations[1], conversations[0]] {
            _ = try Autograd.noGrad { try prm.labelLogProbabilities(c) }
        }
        XCTAssertEqual([small.misses, small.hits], [3, 2])
    }

    /// A chain to judge gets a `+` turn after each step, one read position per step, and a
    /// label that is not `+` or `-` is refused.
    func testChainsAndBadLabels() throws {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        let loaded = try ModelLoader.load(url)
        let encoder = try ConversationEncoder(tokenizer: loaded.tokenizer, template: .smolLM2)
        let chain = try encoder.encode(GenerativeChain(system: "Judge each step.", question: "What is 2 + 3?", steps: ["2 + 3 = 5.", "So 5."],
                                                       labels: [true, true]))
        XCTAssertEqual(chain.readPositions.count, 2)
        XCTAssertEqual(chain.readPositions.map { chain.tokens[$0 + 1] }, [encoder.plus, encoder.plus])
        XCTAssertEqual(encoder.plus, loaded.tokenizer.encode("+").first)
        XCTAssertThrowsError(try encoder.encode([.user("q"), .user("step"), .assistant("yes")])) {
            XCTAssertTrue("\($0)".contains("not \"+\" or \"-\""), "\($0)")
        }
    }
}
