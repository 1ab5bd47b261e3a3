import Foundation
import NN
import TestSupport
import Torch
import XCTest

final class CheckpointTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private struct Meta: Codable, Equatable { var note: String; var dataPosition: Int }

    private final class MLP: Module {
        let fc1: Linear, fc2: Linear
        init(hidden: Int = 8) throws {
            fc1 = try Linear(4, hidden)
            fc2 = try Linear(hidden, 1)
            super.init()
        }
        func callAsFunction(_ x: Tensor) throws -> Tensor { try fc2(fc1(x).gelu()) }
    }

    /// Trains `steps` AdamW steps on random batches drawn from the global generator, saving a
    /// checkpoint at `saveAt` and, when `resume`, continuing from it in fresh objects.
    private func train(steps: Int, saveAt: Int?, resumeFrom dir: URL?) throws -> [Double] {
        Runtime.manualSeed(11)
        var model = try MLP()
        var opt = try AdamW(model.parameters(), learningRate: 0.01)
        var start = 0
        if let dir {
            model = try MLP()
            opt = try AdamW(model.parameters(), learningRate: 0.01)
            let restored = try Checkpoint.load(from: dir, module: model, optimizers: ["prm": opt], metadata: Meta.self)
            start = restored.step
            XCTAssertEqual(restored.metadata, Meta(note: "mid-run", dataPosition: restored.step))
        }
        for k in start..<steps {
            let x = try Tensor.randn([16, 4]), y = try Tensor.randn([16, 1])
            try opt.zeroGrad()
            try Loss.mse(model(x), y).backward()
            try opt.step()
            if k + 1 == saveAt, let url = checkpointURL {
                try Checkpoint.save(to: url, step: k + 1, module: model, optimizers: ["prm": opt],
                                    metadata: Meta(note: "mid-run", dataPosition: k + 1))
            }
        }
        return try model.parameters().flatMap { try $0.doubles() }
    }

    private var checkpointURL: URL?

    func testResumedRunEndsWithTheSameParametersAsAnUninterruptedOne() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        checkpointURL = root.appendingPathComponent("step")
        let uninterrupted = try train(steps: 12, saveAt: 5, resumeFrom: nil)
        let files = try FileManager.default.contentsOfDirectory(atPath: checkpointURL!.path).sorted()
        XCTAssertEqual(files, ["meta.json", "model.safetensors", "optimizer-prm.safetensors", "rng.safetensors"])
        let resumed = try train(steps: 12, saveAt: nil, resumeFrom: checkpointURL)
        XCTAssertEqual(resumed, uninterrupted)
    }

    func testSavingOverAnExistingCheckpointReplacesItWhole() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt2-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("latest")
        let model = try MLP()
        try Checkpoint.save(to: url, step: 1, module: model, metadata: Meta(note: "a", dataPosition: 1))
        try Checkpoint.save(to: url, step: 2, module: model, metadata: Meta(note: "b", dataPosition: 2))
        let restored = try Checkpoint.load(from: url, module: try MLP(), metadata: Meta.self)
        XCTAssertEqual(restored.step, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["latest"], "no temporary left behind")

        // A failing save leaves the previous checkpoint as it was.
        XCTAssertThrowsError(try AtomicFile.writeDirectory(at: url) { _ in throw CheckpointError(path: "x", message: "killed") })
        XCTAssertEqual(try Checkpoint.load(from: url, module: try MLP(), metadata: Meta.self).metadata.note, "b")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["latest"])
    }
}
