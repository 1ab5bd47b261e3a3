import Torch

/// Gives a stored property the checkpoint key it is saved under when that differs from the
/// Swift name. Declare `@Key("q_proj") var query: Linear` and, in the initialiser before
/// `super.init()`, set `_query.wrappedValue = try Linear(...)`.
@propertyWrapper
public struct Key<Value> {
    private var value: Value?
    public let key: String

    public init(_ key: String) { self.key = key }

    public init(wrappedValue: Value, _ key: String) {
        value = wrappedValue
        self.key = key
    }

    public var wrappedValue: Value {
        get {
            guard let value else { preconditionFailure("@Key(\"\(key)\") read before it was set in init") }
            return value
        }
        set { value = newValue }
    }
}

private protocol KeyedProperty {
    var key: String { get }
    var anyValue: Any { get }
}

extension Key: KeyedProperty {
    var anyValue: Any { wrappedValue }
}

/// A neural-network building block. Its stored properties are found by reflection: `Tensor`
/// properties are parameters, `Module`, `[Module]` and optional ones are children. Each is
/// named by its property name or its `@Key`, and nested names join with dots, so a model's
/// names are its checkpoint's keys (`model.layers.0.self_attn.q_proj.weight`).
open class Module {
    public private(set) var training = true

    public init() {}

    /// Direct parameters and children, in declaration order (superclass properties first).
    public func members() -> (parameters: [(String, Tensor)], children: [(String, Module)]) {
        var parameters: [(String, Tensor)] = [], children: [(String, Module)] = []
        var mirrors: [Mirror] = []
        var m: Mirror? = Mirror(reflecting: self)
        while let mirror = m {
            mirrors.insert(mirror, at: 0)
            m = mirror.superclassMirror
        }
        for mirror in mirrors {
            for child in mirror.children {
                guard var name = child.label else { continue }
                var value = child.value
                if let keyed = value as? KeyedProperty {
                    name = keyed.key
                    value = keyed.anyValue
                }
                Module.collect(name, value, &parameters, &children)
            }
        }
        return (parameters, children)
    }

    private static func collect(_ name: String, _ value: Any, _ parameters: inout [(String, Tensor)],
                                _ children: inout [(String, Module)]) {
        switch value {
        case let t as Tensor: parameters.append((name, t))
        case let module as Module: children.append((name, module))
        case let modules as [Module]:
            for (i, module) in modules.enumerated() { children.append(("\(name).\(i)", module)) }
        default:
            // An optional parameter or child: look inside when it is set.
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional, let wrapped = mirror.children.first?.value {
                collect(name, wrapped, &parameters, &children)
            }
        }
    }

    /// Every parameter with its full dotted name, depth first in declaration order.
    public func namedParameters() -> [(String, Tensor)] {
        let (parameters, children) = members()
        var out = parameters
        for (name, child) in children {
            out += child.namedParameters().map { ("\(name).\($0.0)", $0.1) }
        }
        return out
    }

    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    /// Parameters that currently require a gradient (not frozen).
    public func trainableParameters() -> [Tensor] { parameters().filter(\.requiresGrad) }

    /// Every sub-module with its dotted name (this module is "").
    public func namedModules() -> [(String, Module)] {
        var out: [(String, Module)] = [("", self)]
        for (name, child) in members().children {
            out += child.namedModules().map { ($0.0.isEmpty ? name : "\(name).\($0.0)", $0.1) }
        }
        return out
    }

    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Stops (or restarts) gradient flow into every parameter of this module.
    public func freeze(_ frozen: Bool = true) throws {
        for p in parameters() where p.dtype.isFloatingPoint { try p.requiringGrad(!frozen) }
    }

    /// Sets train (true) or eval (false) mode on this module and all below it.
    public func train(_ on: Bool = true) {
        for (_, m) in namedModules() { m.training = on }
    }

    public func eval() { train(false) }

    /// Moves every parameter to `device` and, for floating-point ones, casts to `dtype`,
    /// in place: optimisers and references made before keep pointing at the same tensors.
    public func to(_ device: Device, dtype: DType? = nil) throws {
        try Autograd.noGrad {
            for p in parameters() {
                let target = p.dtype.isFloatingPoint ? (dtype ?? p.dtype) : p.dtype
                if p.device != device || p.dtype != target { try p.setData(p.detach().to(device, target)) }
                try p.setGrad(nil)
            }
        }
    }

    /// Clears the accumulated gradient of every parameter.
    public func zeroGrad() throws {
        for p in parameters() { try p.setGrad(nil) }
    }

    /// Every parameter by its checkpoint key (the tensors themselves, not copies).
    public func stateDict() -> [String: Tensor] {
        Dictionary(namedParameters(), uniquingKeysWith: { a, _ in a })
    }
}
