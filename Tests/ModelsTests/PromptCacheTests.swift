import Foundation
import Models
import TestSupport
import Torch
import XCTest

/// Shared-prompt sampling on SmolLM2: one prefill, k rows decoding from copies of its cache.
final class PromptCacheTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private func smolLM2() throws -> LoadedModel {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        return try ModelLoader.load(url)
    }

    private let question = (1...6).map { "Step \($0): a farmer plants \(7 * $0) rows of \(3 + $0) trees each." }.joined(separator: "\n")

    func testKVCacheForkTrimAndExpand() throws {
        let m = try smolLM2()
        let ids = m.tokenizer.encode(question, addBOS: false)
        let cache = KVCache(layers: m.model.config.layerCount)
        try Autograd.noGrad { _ = try m.model(.tokens(Tensor(ids.map(Int64.init), shape: [1, ids.count])), cache: cache) }
        let fork = cache.fork()
        try fork.trim(to: 10)
        try fork.expand(to: 3)
        XCTAssertEqual([fork.length, fork.batchSize], [10, 3])
        XCTAssertEqual([cache.length, cache.batchSize], [ids.count, 1], "a fork's trim and expand leave the original alone")
        let original = try XCTUnwrap(cache.entries(layer: 4)).keys.narrow(dim: 2, start: 0, length: 10)
        for row in 0..<3 { try assertClose(try XCTUnwrap(fork.entries(layer: 4)).keys.narrow(dim: 0, start: row, length: 1), original, rtol: 0, atol: 0) }
    }

    /// Decoding writes each position into the cache's buffers in place; two forks extended with
    /// different tokens each give a whole forward's logits and leave the original as it was.
    func testForksWriteInPlaceWithoutSeeingEachOther() throws {
        let m = try smolLM2()
        let ids = m.tokenizer.encode(question, addBOS: false)
        func row(_ ids: [Int]) throws -> Tensor { try Tensor(ids.map(Int64.init), shape: [1, ids.count]) }
        func fullForward(_ ids: [Int]) throws -> Tensor { try m.model(.tokens(row(ids))).select(dim: 1, index: -1) }
        try Autograd.noGrad {
            let cache = KVCache(layers: m.model.config.layerCount)
            _ = try m.model(.tokens(row(ids)), cache: cache)
            let before = try XCTUnwrap(cache.entries(layer: 7)).values.clone()
            let (a, b) = (cache.fork(), cache.fork())
            var logitsA = try m.model(.tokens(row([11])), cache: a).select(dim: 1, index: -1)
            let logitsB = try m.model(.tokens(row([12])), cache: b).select(dim: 1, index: -1)
            for step in [13, 14, 15] { logitsA = try m.model(.tokens(row([step])), cache: a).select(dim: 1, index: -1) }
            try assertClose(logitsA, try fullForward(ids + [11, 13, 14, 15]), rtol: 1e-4, atol: 1e-4)
            try assertClose(logitsB, try fullForward(ids + [12]), rtol: 1e-4, atol: 1e-4)
            XCTAssertEqual([cache.length, a.length, b.length], [ids.count, ids.count + 4, ids.count + 1])
            try assertClose(try XCTUnwrap(cache.entries(layer: 7)).values, before, rtol: 0, atol: 0)
            // Trimmed and written again, a fork still leaves the original alone.
            try a.trim(to: 5)
            let trimmed = try m.model(.tokens(row([16])), cache: a).select(dim: 1, index: -1)
            try assertClose(trimmed, try fullForward(Array(ids.prefix(5)) + [16]), rtol: 1e-4, atol: 1e-4)
            try assertClose(try XCTUnwrap(cache.entries(layer: 7)).values, before, rtol: 0, atol: 0)
        }
    }

    func testPrefillInBlocksEqualsOneForwardAndReusesWholeSharedBlocks() throws {
        let m = try smolLM2()
        let a = m.tokenizer.encode(question + "\nSo the farm has", addBOS: false)
        let b = m.tokenizer.encode(question + "\nStep 7: the farmer sells half of them.", addBOS: false)
        let shared = zip(a, b).prefix { $0 == $1 }.count
        XCTAssertGreaterThan(shared, 64, "the prompts share at least one whole block")
        func fullForward(_ ids: [Int]) throws -> Tensor {
            try Autograd.noGrad { try m.model(.tokens(Tensor(ids.map(Int64.init), shape: [1, ids.count]))).select(dim: 1, index: -1) }
        }
        let prompts = PromptCache(block: 32)
        let (_, lastA, _) = try Autograd.noGrad { try prompts.prefill(a, model: m.model) }
        try assertClose(lastA, try fullForward(a), rtol: 1e-4, atol: 1e-4)
        let (cacheB, lastB, _) = try Autograd.noGrad { try prompts.prefill(b, model: m.model) }
        XCTAssertEqual(prompts.reusedTokens, shared / 32 * 32)
        XCTAssertEqual(prompts.prefilledTokens, a.count + b.count - shared / 32 * 32)
        XCTAssertEqual(cacheB.length, b.count)
        try assertClose(lastB, try fullForward(b), rtol: 1e-4, atol: 1e-4)
        // Bit for bit what a cache that never saw `a` computes: results do not depend on history.
        let (_, fresh, _) = try Autograd.noGrad { try PromptCache(block: 32).prefill(b, model: m.model) }
        try assertClose(lastB, fresh, rtol: 0, atol: 0)
    }

    func testSharedPromptSamplesEqualBatchedCopiesAndDoNotDependOnHistory() throws {
        let m = try smolLM2()
        let generator = TextGenerator(model: m.model, tokenizer: m.tokenizer)
        let prompt = m.tokenizer.encode(question + "\nHow many trees are there?", addBOS: false)
        let greedy = SamplingParameters(maxTokens: 12)
        let copies = try generator.generate([[Int]](repeating: prompt, count: 3), greedy).map(\.newIDs)
        let prompts = PromptCache()
        XCTAssertEqual(try generator.sample(prompt, count: 3, greedy, prompts: prompts).map(\.newIDs), copies)

        let sampling = SamplingParameters(maxTokens: 16, temperature: 1, topP: 0.95, seed: 11)
        let warm = PromptCache()
        _ = try generator.sample(m.tokenizer.encode(question + "\nWhat is sold?", addBOS: false), count: 2, sampling, prompts: warm)
        let afterOther = try generator.sample(prompt, count: 4, sampling, prompts: warm).map(\.newIDs)
        let again = try generator.sample(prompt, count: 4, sampling, prompts: warm).map(\.newIDs)
        let fresh = try generator.sample(prompt, count: 4, sampling, prompts: PromptCache()).map(\.newIDs)
        XCTAssertEqual(afterOther, fresh)
        XCTAssertEqual(again, fresh, "decoding from a fork leaves the prompt's cache as it was")
        XCTAssertGreaterThan(Set(fresh).count, 1, "four samples at temperature 1 differ")
    }
}
