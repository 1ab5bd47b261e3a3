import Foundation
import Models
import TestSupport
import Tokenizers
import Torch
import XCTest

/// Our byte-level BPE against Hugging Face `tokenizers` (tools/fixtures/make_tokenizer_fixtures.py).
final class TokenizerTests: XCTestCase {
    private struct Encodings: Decodable {
        let texts: [String]
        let smollm2: [[Int]]
        let qwen2: [[Int]]
        let tiny_bpe: [[Int]]
    }

    private static let encodings: Encodings = {
        let url = fixtureURL("encodings.json", bundle: .module)
        return try! JSONDecoder().decode(Encodings.self, from: Data(contentsOf: url))
    }()

    private func check(_ tokenizer: BPETokenizer, _ expected: [[Int]], _ name: String) {
        let texts = Self.encodings.texts
        XCTAssertGreaterThanOrEqual(texts.count, 2000)
        var failures = 0
        for (text, want) in zip(texts, expected) {
            let got = tokenizer.encode(text, addBOS: false)
            if got != want {
                failures += 1
                if failures <= 5 { XCTFail("\(name): \(text.debugDescription) → \(got), HF gives \(want)") }
            }
            let back = tokenizer.decode(got)
            // Bytes without a token (control characters in SmolLM2) cannot come back.
            if back != text && text.unicodeScalars.allSatisfy({ $0.value >= 0x20 || $0 == "\n" || $0 == "\t" || $0 == "\r" }) {
                failures += 1
                if failures <= 5 { XCTFail("\(name): decode(encode(\(text.debugDescription))) = \(back.debugDescription)") }
            }
        }
        XCTAssertEqual(failures, 0, "\(name): \(failures) of \(texts.count) strings differ")
    }

    func testTokenizerJSONMatchesHuggingFace() throws {
        let tokenizer = try BPETokenizer(tokenizerJSON: fixtureURL("tiny-bpe/tokenizer.json", bundle: .module))
        XCTAssertEqual(tokenizer.preTokenizer, .qwen2(maxDigits: 1))
        XCTAssertEqual(tokenizer.eosTokenID, tokenizer.id(of: "<|im_end|>"))
        check(tokenizer, Self.encodings.tiny_bpe, "tiny tokenizer.json")
    }

    func testSmolLM2FromGGUFMatchesHuggingFace() throws {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else {
            throw XCTSkip("smollm2-135m-instruct is not installed (scripts/fetch-model.sh smollm2-135m-instruct)")
        }
        let tokenizer = try BPETokenizer(gguf: GGUFFile(url))
        XCTAssertEqual(tokenizer.preTokenizer, .gpt2IndividualDigits)
        XCTAssertEqual(tokenizer.vocabularySize, 49152)
        check(tokenizer, Self.encodings.smollm2, "SmolLM2")
    }

    func testQwen2VocabularyFromGGUFMatchesHuggingFace() throws {
        guard let url = try? ModelRegistry.resolve("qwen2.5-coder-1.5b-instruct") else {
            throw XCTSkip("qwen2.5-coder-1.5b-instruct is not installed (scripts/fetch-model.sh qwen2.5-coder-1.5b-instruct)")
        }
        let tokenizer = try BPETokenizer(gguf: GGUFFile(url))
        XCTAssertEqual(tokenizer.preTokenizer, .qwen2(maxDigits: 1))
        check(tokenizer, Self.encodings.qwen2, "Qwen2")
    }

    /// A 100,000-letter word without spaces merges as Hugging Face's BPE merges it
    /// (tools/fixtures/make_long_word_fixture.py); the quadratic merge loop took minutes here.
    func testLongWordMatchesHuggingFace() throws {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else {
            throw XCTSkip("smollm2-135m-instruct is not installed (scripts/fetch-model.sh smollm2-135m-instruct)")
        }
        struct Fixture: Decodable { let length: Int; let seed: Int; let alphabet: String; let head: String; let smollm2: [Int] }
        let fx = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL("long_word.json", bundle: .module)))
        let alphabet = Array(fx.alphabet)
        var x = fx.seed, word = ""
        for _ in 0..<fx.length {
            x = (1_103_515_245 * x + 12345) % (1 << 31)
            word.append(alphabet[(x >> 16) % alphabet.count])
        }
        XCTAssertEqual(String(word.prefix(fx.head.count)), fx.head, "the generator reproduces the fixture's word")
        let ids = try BPETokenizer(gguf: GGUFFile(url)).encode(word, addBOS: false)
        XCTAssertEqual(ids.count, fx.smollm2.count)
        XCTAssertEqual(ids, fx.smollm2)
    }

    func testPreTokenizerEdgeCasesFollowTheRegexes() {
        // Worked out by hand from the regular expressions' alternation and backtracking.
        XCTAssertEqual(PreTokenizer.gpt2.split("a   b\n\nc  "), ["a", "  ", " b", "\n", "\n", "c", "  "])
        XCTAssertEqual(PreTokenizer.gpt2.split("I'LL don't"), ["I", "'", "LL", " don", "'t"])
        XCTAssertEqual(PreTokenizer.gpt2IndividualDigits.split("x 123"), ["x", " ", "1", "2", "3"])
        XCTAssertEqual(PreTokenizer.qwen2(maxDigits: 1).split("I'LL (hello) 42\n  \nx"),
                       ["I", "'LL", " (", "hello", ")", " ", "4", "2", "\n  \n", "x"])
        XCTAssertEqual(PreTokenizer.qwen2(maxDigits: 3).split("12345"), ["123", "45"])
    }
}

final class ChatTemplateTests: XCTestCase {
    private struct Rendering: Decodable { let with_generation_prompt: String; let without: String }
    private struct Fixture: Decodable {
        let conversations: [[ChatMessage]]
        let smollm2: [Rendering]
        let qwen2_5: [Rendering]
        enum CodingKeys: String, CodingKey { case conversations, smollm2, qwen2_5 = "qwen2.5" }
    }

    func testRenderingsEqualApplyChatTemplate() throws {
        let fx = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL("chat_templates.json", bundle: .module)))
        for (template, renderings) in [(ChatTemplate.smolLM2, fx.smollm2), (.qwen25, fx.qwen2_5)] {
            for (conversation, want) in zip(fx.conversations, renderings) {
                XCTAssertEqual(template.render(conversation, addGenerationPrompt: true), want.with_generation_prompt)
                XCTAssertEqual(template.render(conversation, addGenerationPrompt: false), want.without)
            }
        }
    }
}

