import Foundation
import Models
import TestSupport
import Torch
import XCTest

final class SamplingTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private let probabilities = [0.5, 0.3, 0.15, 0.05]

    private func draws(_ p: SamplingParameters, rows: Int = 4000) throws -> [Int] {
        let logits = try Tensor(probabilities.map { Foundation.log($0) }).unsqueeze(0).expand([rows, 4]).contiguous()
        Runtime.manualSeed(p.seed)
        return try Sampler.next(logits, p).toArray(Int64.self).map(Int.init)
    }

    func testGreedyAndTopKOfOneAreTheArgmax() throws {
        XCTAssertEqual(Set(try draws(SamplingParameters(temperature: 0))), [0])
        XCTAssertEqual(Set(try draws(SamplingParameters(temperature: 1, topK: 1))), [0])
    }

    func testTopPKeepsTheSmallestSetReachingP() throws {
        // p = 0.7: sorted ascending, cumulative 0.05, 0.2, 0.5, 1.0; tokens with cumulative ≤ 0.3
        // are dropped, leaving {0, 1}, renormalised to 0.625 / 0.375.
        let d = try draws(SamplingParameters(temperature: 1, topP: 0.7, seed: 3))
        XCTAssertEqual(Set(d), [0, 1])
        let share = Double(d.filter { $0 == 0 }.count) / Double(d.count)
        XCTAssertEqual(share, 0.625, accuracy: 0.03) // 4000 draws: σ ≈ 0.008
    }

    /// A vocabulary of 1,000: a peaked row takes the 256-candidate path, a nearly flat one
    /// (its nucleus reaching past 256 tokens) the full sort; both keep exactly the nucleus.
    func testTopPOverALargeVocabularyKeepsTheNucleusOnBothPaths() throws {
        for (slope, topP) in [(0.5, 0.9), (0.002, 0.5)] {
            let logits = (0..<1000).map { -slope * Double($0) }
            let z = logits.map { Foundation.exp($0) }.reduce(0, +)
            let p = logits.map { Foundation.exp($0) / z }
            // transformers keeps token i while the mass above it is below top_p.
            var above = 0.0, nucleus = 0
            while above < topP { above += p[nucleus]; nucleus += 1 }
            let rows = try Tensor(logits.map(Float.init), shape: [1, 1000]).expand([3000, 1000]).contiguous()
            Runtime.manualSeed(7)
            let d = try Sampler.next(rows, SamplingParameters(temperature: 1, topP: topP)).toArray(Int64.self).map(Int.init)
            XCTAssertLessThan(d.max()!, nucleus, "slope \(slope)")
            XCTAssertGreaterThanOrEqual(d.max()!, nucleus * 9 / 10, "slope \(slope): draws reach the nucleus's edge")
            let share = Double(d.filter { $0 == 0 }.count) / Double(d.count)
            XCTAssertEqual(share, p[0] / p[..<nucleus].reduce(0, +), accuracy: 0.03, "slope \(slope)")
        }
    }

    func testTopKAndTemperatureReshapeTheDistribution() throws {
        let d = try draws(SamplingParameters(temperature: 1, topK: 2, seed: 4))
        XCTAssertEqual(Set(d), [0, 1])
        XCTAssertEqual(Double(d.filter { $0 == 0 }.count) / Double(d.count), 0.625, accuracy: 0.03)
        // T = 0.5 squares the probabilities before renormalising: 0.25/0.3650 for token 0.
        let t = try draws(SamplingParameters(temperature: 0.5, seed: 5))
        XCTAssertEqual(Double(t.filter { $0 == 0 }.count) / Double(t.count), 0.25 / (0.25 + 0.09 + 0.0225 + 0.0025), accuracy: 0.03)
    }

    func testSeedsReproduce() throws {
        let p = SamplingParameters(temperature: 1, seed: 9)
        XCTAssertEqual(try draws(p, rows: 50), try draws(p, rows: 50))
        XCTAssertNotEqual(try draws(p, rows: 50), try draws(SamplingParameters(temperature: 1, seed: 10), rows: 50))
    }

    func testStopStringsCutTheText() throws {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        let m = try ModelLoader.load(url)
        let prompt = m.tokenizer.encode("The capital of France is", addBOS: false)
        let generator = TextGenerator(model: m.model, tokenizer: m.tokenizer)
        let full = try generator.generate([prompt], SamplingParameters(maxTokens: 12))[0]
        let words = full.text.split(separator: " ")
        XCTAssertGreaterThan(words.count, 3)
        let stop = String(words[2])
        let cut = try generator.generate([prompt], SamplingParameters(maxTokens: 12, stopStrings: [stop]))[0]
        XCTAssertEqual(cut.stoppedBy, "stop_string")
        XCTAssertEqual(cut.text, String(full.text[..<full.text.range(of: stop)!.lowerBound]))
    }
}
