import NN
import Torch

/// Learned data weights: maps a batch's keys (domain or instance indices) and, for weights
/// computed from the model's outputs, its features to weights [B] that scale per-sample
/// losses. The bi-level engine trains their parameters.
public protocol DataWeights: Module {
    func weights(for keys: Tensor, features: Tensor?) throws -> Tensor
    /// Current weights by name, for logs and reports.
    func snapshot() throws -> [String: Double]
}

extension DataWeights {
    public func weights(for keys: Tensor) throws -> Tensor { try weights(for: keys, features: nil) }
}

/// A lower batch's per-sample losses [B] and what their weights are computed from: each
/// sample's key [B] (int64) and optional features [B, …] (an instance net's input).
public struct LowerLosses {
    public var perSample: Tensor
    public var keys: Tensor
    public var features: Tensor?

    public init(_ perSample: Tensor, keys: Tensor, features: Tensor? = nil) {
        self.perSample = perSample
        self.keys = keys
        self.features = features
    }
}

/// DreamPRM's domain table: raw ∈ R^K, init 0; w = softplus(raw) / mean(softplus(raw)), so the
/// weights average to 1 and start equal (METHOD.md §3).
public final class DomainTable: Module, DataWeights {
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

    public func weights(for keys: Tensor, features: Tensor?) throws -> Tensor { try all().indexSelect(dim: 0, index: keys) }

    public func snapshot() throws -> [String: Double] {
        Dictionary(uniqueKeysWithValues: zip(domains, try all().doubles()))
    }
}

/// DreamPRM-1.5's instance table: raw ∈ R^N, init `initialization`; w = act(raw), no
/// normalisation (METHOD.md §3). With `.identity` the weights are the parameters themselves.
public final class InstanceTable: Module, DataWeights {
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

    public func all() throws -> Tensor {
        switch activation {
        case .relu: return try raw.relu()
        case .leakyRelu: return try raw.leakyRelu(slope: 0.01)
        case .identity: return raw
        case .clip: return try raw.clamp(min: -1, max: 3)
        case .sigmoid: return try raw.sigmoid()
        }
    }

    public func weights(for keys: Tensor, features: Tensor?) throws -> Tensor { try all().indexSelect(dim: 0, index: keys) }

    public func snapshot() throws -> [String: Double] {
        Dictionary(uniqueKeysWithValues: try all().doubles().enumerated().map { ("\($0.offset)", $0.element) })
    }
}
