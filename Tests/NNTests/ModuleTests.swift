import Foundation
import NN
import TestSupport
import Torch
import XCTest

/// A two-level model whose names follow a Hugging Face checkpoint's keys.
private final class Block: Module {
    @Key("q_proj") var query: Linear
    let norm: RMSNorm

    init(width: Int) throws {
        _query.wrappedValue = try Linear(width, width, bias: true)
        norm = try RMSNorm(width)
        super.init()
    }
}

private final class TinyModel: Module {
    @Key("embed_tokens") var embedding: Embedding
    let layers: [Block]
    @Key("lm_head") var head: Linear?

    init(tied: Bool = false) throws {
        _embedding.wrappedValue = try Embedding(10, 4)
        layers = try [Block(width: 4), Block(width: 4)]
        _head.wrappedValue = tied ? nil : try Linear(4, 10, bias: false)
        super.init()
    }
}

final class ModuleTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    func testParameterNamesAreCheckpointKeysInDeclarationOrder() throws {
        let model = try TinyModel()
        XCTAssertEqual(model.namedParameters().map(\.0), [
            "embed_tokens.weight",
            "layers.0.q_proj.weight", "layers.0.q_proj.bias", "layers.0.norm.weight",
            "layers.1.q_proj.weight", "layers.1.q_proj.bias", "layers.1.norm.weight",
            "lm_head.weight",
        ])
        XCTAssertEqual(try TinyModel(tied: true).namedParameters().count, 7)
        let perBlock = 16 + 4 + 4
        XCTAssertEqual(model.parameterCount, 40 + 2 * perBlock + 40)
        XCTAssertEqual(model.namedModules().map(\.0).prefix(3), ["", "embed_tokens", "layers.0"])
    }

    func testStrictLoadReportsMissingUnexpectedAndMisshapedKeys() throws {
        let model = try TinyModel()
        var state = model.stateDict()
        state["extra.weight"] = try Tensor.zeros([1])
        state.removeValue(forKey: "lm_head.weight")
        XCTAssertThrowsError(try model.load(from: state, strict: true)) { error in
            guard let e = error as? StateDictError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.report.missing, ["lm_head.weight"])
            XCTAssertEqual(e.report.unexpected, ["extra.weight"])
            XCTAssertTrue("\(e)".contains("unexpected (in the source, not in the module): extra.weight"), "\(e)")
        }
        let report = try model.load(from: state, strict: false)
        XCTAssertEqual(report.missing, ["lm_head.weight"])
        XCTAssertEqual(report.loaded.count, 7)

        state["layers.0.q_proj.weight"] = try Tensor.zeros([4, 5])
        XCTAssertThrowsError(try model.load(from: state, strict: false)) { error in
            XCTAssertTrue("\(error)".contains("shape mismatch for layers.0.q_proj.weight: module has [4, 4], source has [4, 5]"), "\(error)")
        }
    }

    func testLoadCopiesInPlaceCastsAndNothingIsWrittenOnFailure() throws {
        let a = try TinyModel(), b = try TinyModel()
        let before = try b.parameters().map { try $0.doubles() }
        var bad = a.stateDict()
        bad["lm_head.weight"] = try Tensor.zeros([3, 3])
        XCTAssertThrowsError(try b.load(from: bad))
        XCTAssertEqual(try b.parameters().map { try $0.doubles() }, before, "a failed load must not touch any parameter")

        var converted = a.stateDict()
        converted["embed_tokens.weight"] = try a.embedding.weight.to(.float64)
        let identity = ObjectIdentifier(b.embedding.weight)
        let report = try b.load(from: converted)
        XCTAssertEqual(report.converted, ["embed_tokens.weight (float64 → float32)"])
        XCTAssertEqual(ObjectIdentifier(b.embedding.weight), identity)
        XCTAssertTrue(b.embedding.weight.requiresGrad)
        for (x, y) in zip(a.parameters(), b.parameters()) { XCTAssertEqual(try x.doubles(), try y.doubles()) }
    }

    func testFreezeAndModes() throws {
        let model = try TinyModel()
        try model.layers[0].freeze()
        XCTAssertEqual(model.trainableParameters().count, 5)
        try model.layers[0].freeze(false)
        XCTAssertEqual(model.trainableParameters().count, 8)
        model.eval()
        XCTAssertFalse(model.layers[1].norm.training)
        model.train()
        XCTAssertTrue(model.layers[1].query.training)
    }

    func testLayersComputeTheirDefinitions() throws {
        let linear = try Linear(3, 2)
        let x = try Tensor([1.0, 2, 3], shape: [1, 3]).to(.float32)
        let w = try linear.weight.doubles(), b = try XCTUnwrap(linear.bias).doubles()
        let want: [Double] = (0..<2).map { o in
            var sum = b[o]
            for i in 0..<3 { sum += w[o * 3 + i] * Double(i + 1) }
            return sum
        }
        try assertClose(linear(x), want, rtol: 1e-6)
        XCTAssertTrue(w.allSatisfy { Swift.abs($0) <= 1 / (3.0).squareRoot() })

        let norm = try RMSNorm(3, eps: 1e-6)
        let rms = ((1.0 + 4 + 9) / 3 + 1e-6).squareRoot()
        try assertClose(norm(x), [1 / rms, 2 / rms, 3 / rms], rtol: 1e-6)

        let ln = try LayerNorm(3)
        let variance = 2.0 / 3
        try assertClose(ln(x), [-1 / (variance + 1e-5).squareRoot(), 0, 1 / (variance + 1e-5).squareRoot()], rtol: 1e-5)

        let emb = try Embedding(5, 2)
        let rows = try emb(Tensor([Int64(4), 0]))
        XCTAssertEqual(try rows.doubles(), try emb.weight[4].doubles() + emb.weight[0].doubles())
    }

    func testModuleLoadsFromASafeTensorsFile() throws {
        let a = try TinyModel(), b = try TinyModel()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(a.stateDict(), to: url)
        let report = try b.load(from: SafeTensorsCheckpoint(url))
        XCTAssertTrue(report.isClean)
        for (x, y) in zip(a.parameters(), b.parameters()) { XCTAssertEqual(try x.doubles(), try y.doubles()) }
    }
}

final class ModuleDeviceTests: XCTestCase {
    func testToCastsParametersInPlaceKeepingIdentityAndOptimizerLinks() throws {
        let layer = try Linear(3, 2)
        let weight = layer.weight
        let optimizer = try SGD(layer.parameters(), learningRate: 0.5)
        let before = try weight.doubles()
        try layer.to(.cpu, dtype: .float64)
        XCTAssertTrue(layer.weight === weight)
        XCTAssertEqual(weight.dtype, .float64)
        XCTAssertTrue(weight.requiresGrad)
        XCTAssertEqual(try weight.doubles(), before)
        try layer(Tensor.ones([1, 3], dtype: .float64)).sum().backward()
        try optimizer.step()
        // d/dW of Σ(W·1 + b) is 1 for every weight: the optimiser moved the same tensor.
        assertClose(try weight.doubles(), before.map { $0 - 0.5 }, rtol: 1e-12)
    }
}

final class ParameterInitializationTests: XCTestCase {
    func testSkippedInitializationOnlyAllocatesAndRestoresAfterwards() throws {
        Runtime.manualSeed(1)
        let before = try Tensor.rand([1]).doubles()
        Runtime.manualSeed(1)
        let skipped = try ParameterInitialization.skipped { try Linear(4, 3) }
        // Nothing was drawn from the generator while skipping.
        XCTAssertEqual(try Tensor.rand([1]).doubles(), before)
        XCTAssertEqual(skipped.weight.shape, [3, 4])
        XCTAssertTrue(skipped.weight.requiresGrad)
        let normal = try Linear(4, 3)
        XCTAssertTrue(try normal.weight.doubles().allSatisfy { Swift.abs($0) <= 0.5 })
    }
}
