import Foundation
import Models
import NN
import PRM
@testable import Reweighting
import TestSupport
import Tokenizers
import Torch
import XCTest

/// DreamPRM-1.5's lower and upper problems on the generative PRM over a tiny random Llama
/// (SmolLM2's tokenizer and chat template; the weights are the generative PRM fixture's).
final class GenerativeProblemsTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private let tinyModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("PRMTests/Fixtures/tiny-chat-llama")

    private func prmAndConversations() throws -> (GenerativePRM, [EncodedConversation]) {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        let loaded = try ModelLoader.load(url)
        let encoder = try ConversationEncoder(tokenizer: loaded.tokenizer, template: try XCTUnwrap(loaded.chatTemplate))
        let backbone = try ModelLoader.loadHuggingFaceWeights(tinyModel)
        try backbone.to(.cpu, dtype: .float64)
        let prm = GenerativePRM(backbone: backbone, encoder: encoder)
        let chains: [[(step: String, label: String)]] = [
            [("2 + 3 = 5.", "+"), ("So the answer is 5.", "+")],
            [("7 × 6 = 48.", "-"), ("So 48.", "-")],
            [("Half of 10 is 5.", "+"), ("5 + 1 = 7.", "-"), ("So 7.", "-")],
        ]
        let conversations = try chains.map { chain -> EncodedConversation in
            var messages: [ChatMessage] = [.system("Judge each step."), .user("A question")]
            for (step, label) in chain { messages += [.user(step), .assistant(label)] }
            return try encoder.encode(messages)
        }
        return (prm, conversations)
    }

    /// Each conversation's loss is the mean over its steps of −log P(label token).
    func testLowerLossIsEachConversationsMeanLabelCrossEntropy() throws {
        let (prm, conversations) = try prmAndConversations()
        let problem = try GenerativeTrainingProblem(prm: prm, conversations: conversations, batchSize: 3, seed: 1)
        let losses = try Autograd.noGrad { try problem.losses([2, 0]) }
        XCTAssertEqual(try losses.keys.doubles(), [2, 0])
        let want = try [2, 0].map { i -> Double in
            let logP = try Autograd.noGrad { try prm.labelLogProbabilities(conversations[i]) }
            let rows = try (0..<logP.size(0)).map { try logP.narrow(dim: 0, start: $0, length: 1).squeeze(0).doubles() }
            let picked = zip(rows, conversations[i].labels).map { row, label in -row[label == true ? prm.plus : prm.minus] }
            return picked.reduce(0, +) / Double(picked.count)
        }
        assertClose(try losses.perSample.doubles(), want, rtol: 1e-12)
    }

    /// One plain-SGD step θ₁ = θ₀ − η∇θL_tr(θ₀, λ) on the generative PRM: reverse mode gives
    /// −η (∂λ∇θL_tr)ᵀ v with v = ∇L_meta(θ₁); darts at θ₀ with the same v, times η, must match
    /// (to 1e-3: part of the decoder computes in float32, which bounds the finite difference).
    private func assertDartsMatchesReverse(_ makeWeights: () throws -> DataWeights, _ name: String) throws {
        let (prm, conversations) = try prmAndConversations()
        let lower = try GenerativeTrainingProblem(prm: prm, conversations: conversations, batchSize: 3, seed: 1)
        let upper = GenerativeMetaProblem(prm: prm, chains: [(conversations[0], true), (conversations[2], false)], batchSize: 2, seed: 2)
        let eta = 0.5
        let weights = try makeWeights()
        let lambda0 = try weights.trainableParameters().map { try $0.doubles() }
        let theta0 = try ParameterVector.clone(lower.parameters)
        let engine = try BilevelEngine(lower: lower, upper: upper, weights: weights,
                                       lowerOptimizer: SGD(lower.parameters, learningRate: eta),
                                       upperOptimizer: SGD(weights.trainableParameters(), learningRate: 1),
                                       configuration: EngineConfiguration(unrollSteps: 1, hypergradient: .reverse))
        try engine.step()
        // SGD with rate 1: Δλ = −g. The step's batches are the same sets as below, in another order.
        let reverse = try zip(lambda0, weights.trainableParameters()).flatMap { before, after in zip(before, try after.doubles()).map { $0 - $1 } }
        let v = try ParameterVector.gradients(upper.loss([0, 1]), lower.parameters)
        try ParameterVector.copy(theta0, into: lower.parameters)
        let fresh = try makeWeights()
        let darts = try HypergradientMethod.darts(radius: 1e-3).compute(v: v, HypergradientContext(
            theta: lower.parameters, lambda: fresh.trainableParameters(), lowerLosses: { try lower.losses([0, 1, 2]) },
            weightedLoss: { l in try (fresh.weights(for: l) * l.perSample).sum() / Double(l.perSample.size(0)) },
            weightsFollowModel: fresh.gradientReachesModel))
        let scaled = try darts.flatMap { try $0.doubles().map { $0 * eta } }
        XCTAssertGreaterThan(reverse.map(abs).max()!, 1e-8, "\(name): the hypergradient is not trivially zero")
        assertClose(scaled, reverse, rtol: 1e-3, atol: 1e-9, "\(name): darts × η vs reverse")
    }

    func testInstanceTableHypergradientDartsMatchesReverse() throws {
        try assertDartsMatchesReverse({
            let table = try InstanceTable(count: 3, dtype: .float64)
            try Autograd.noGrad { try table.raw.copy_(Tensor([0.7, 1.2, 1.0])) }
            return table
        }, "instance table")
    }

    /// The net reads the PRM's label probabilities, which darts recomputes at θ ± εv: detached
    /// (the default), the weights are constants to the lower gradient; undetached (the
    /// reference), the lower gradient runs through them too.
    func testInstanceNetHypergradientDartsMatchesReverseInBothDetachModes() throws {
        for detach in [true, false] {
            try assertDartsMatchesReverse({
                Runtime.manualSeed(4)
                return try InstanceNet(hidden: 6, hiddenLayers: 2, detachInput: detach, dtype: .float64)
            }, "instance net, input detached: \(detach)")
        }
    }
}
