import NN
import Torch

/// Learned data weights: maps a batch's keys (domain or instance indices) and, for weights
/// computed from the model's outputs, its features to weights [B] that scale per-sample
/// losses. The bi-level engine trains their parameters.
public protocol DataWeights: Module {
    /// Weights [B] of the batch's samples.
    func weights(for samples: LowerLosses) throws -> Tensor
    /// Current weights by name, for logs and reports.
    func snapshot() throws -> [String: Double]
    /// Whether the lower step's loss passes gradient to θ through the weights themselves
    /// (an instance net on undetached PRM outputs, as the 1.5 reference does).
    var gradientReachesModel: Bool { get }
}

extension DataWeights {
    public var gradientReachesModel: Bool { false }
}

/// Weights looked up by key: one entry per domain or per instance.
public protocol KeyedWeights: DataWeights {
    /// All weights, in key order.
    func all() throws -> Tensor
}

extension KeyedWeights {
    public func weights(for samples: LowerLosses) throws -> Tensor { try weights(for: samples.keys) }
    public func weights(for keys: Tensor) throws -> Tensor { try all().indexSelect(dim: 0, index: keys) }
}

/// A lower batch's per-sample losses [B] and what their weights are computed from: each
/// sample's key [B] (int64) and, for weights computed from the model's outputs, per-step
/// features [B, K, F] with a mask [B, K] of the real steps.
public struct LowerLosses {
    public var perSample: Tensor
    public var keys: Tensor
    public var features: Tensor?
    public var featureMask: Tensor?

    public init(_ perSample: Tensor, keys: Tensor, features: Tensor? = nil, featureMask: Tensor? = nil) {
        self.perSample = perSample
        self.keys = keys
        self.features = features
        self.featureMask = featureMask
    }
}

/// DreamPRM's domain table: raw ∈ R^K, init 0; w = softplus(raw) / mean(softplus(raw)), so the
/// weights average to 1 and start equal (METHOD.md §3).
public final class DomainTable: Module, KeyedWeights {
    public let raw: Tensor
    public let domains: [String]

    public init(domains: [String]) throws {
        self.domains = domains
        raw = try Tensor.zeros([domains.count]).requiringGrad()
        super.init()
    }

    /// All K weights, in `domains` order.
    public func all() throws -> Tensor {
        let s = try raw.softplus()
        return try s / s.mean()
    }

    public func snapshot() throws -> [String: Double] {
        Dictionary(uniqueKeysWithValues: zip(domains, try all().doubles()))
    }
}

/// DreamPRM-1.5's instance table: raw ∈ R^N, init `initialization`; w = act(raw), no
/// normalisation (METHOD.md §3). With `.identity` the weights are the parameters themselves.
public final class InstanceTable: Module, KeyedWeights {
    public enum Activation: String, Codable, CaseIterable, Sendable {
        case relu = "ReLU", leakyRelu = "LeakyReLU", identity = "No", clip = "Clip", sigmoid = "Sigmoid"
    }

    public let raw: Tensor
    public let activation: Activation

    public init(count: Int, initialization: Double = 1, activation: Activation = .identity, dtype: DType = .float32) throws {
        raw = try Tensor.full([count], initialization, dtype: dtype).requiringGrad()
        self.activation = activation
        super.init()
    }

    public func all() throws -> Tensor { try activation.apply(raw) }

    public func snapshot() throws -> [String: Double] {
        Dictionary(uniqueKeysWithValues: try all().doubles().enumerated().map { ("\($0.offset)", $0.element) })
    }
}

/// DreamPRM-1.5's instance net (METHOD.md §3): each labelled step's softmax([logit₊, logit₋])
/// → Linear(2, h) → LeakyReLU → [Linear(h, h) → LeakyReLU] × (layers − 1) → Linear(h, 1),
/// the mean over the instance's steps, then the activation. It reads the PRM's outputs, so it
/// weighs instances it has never seen and its size does not grow with the data.
public final class InstanceNet: Module, DataWeights {
    public let layers: [Linear]
    public let activation: InstanceTable.Activation
    /// The input is detached by default; the reference lets the PRM's gradient flow through
    /// its own weight (`detachInput = false`).
    public let detachInput: Bool

    public init(hidden: Int = 10, hiddenLayers: Int = 1, activation: InstanceTable.Activation = .sigmoid, detachInput: Bool = true,
                dtype: DType = .float32) throws {
        precondition(hidden >= 1 && hiddenLayers >= 1, "an instance net needs at least one hidden layer of one unit")
        var layers = [try Linear(2, hidden, dtype: dtype)]
        for _ in 1..<hiddenLayers { layers.append(try Linear(hidden, hidden, dtype: dtype)) }
        layers.append(try Linear(hidden, 1, dtype: dtype))
        self.layers = layers
        self.activation = activation
        self.detachInput = detachInput
        super.init()
    }

    public var gradientReachesModel: Bool { !detachInput }

    /// Weights [B] from step features [B, K, 2] (softmax over the two label logits) and their mask [B, K].
    public func weights(features: Tensor, mask: Tensor) throws -> Tensor {
        var x = detachInput ? try features.detach() : features
        x = try x.to(layers[0].weight.dtype)
        for layer in layers.dropLast() { x = try layer(x).leakyRelu(slope: 0.01) }
        let perStep = try layers.last!(x).squeeze(-1)
        let m = try mask.to(perStep.dtype)
        let mean = try (perStep * m).sum(dim: 1) / m.sum(dim: 1).clamp(min: 1)
        return try activation.apply(mean)
    }

    public func weights(for samples: LowerLosses) throws -> Tensor {
        guard let features = samples.features, let mask = samples.featureMask else {
            throw EngineError("the instance net weighs samples by their step features, and this batch carries none")
        }
        return try weights(features: features, mask: mask)
    }

    /// The net has no per-instance table; its snapshot is its parameter count.
    public func snapshot() throws -> [String: Double] { ["parameters": Double(parameters().reduce(0) { $0 + $1.shape.reduce(1, *) })] }
}

extension InstanceTable.Activation {
    public func apply(_ x: Tensor) throws -> Tensor {
        switch self {
        case .relu: return try x.relu()
        case .leakyRelu: return try x.leakyRelu(slope: 0.01)
        case .identity: return x
        case .clip: return try x.clamp(min: -1, max: 3)
        case .sigmoid: return try x.sigmoid()
        }
    }
}
