import Foundation
import Torch

/// Where parameters come from when a module loads: a dictionary or a checkpoint on disk
/// (read lazily, tensor by tensor).
public protocol TensorSource {
    var tensorNames: [String] { get }
    func shape(of name: String) -> [Int]?
    func tensor(named name: String) throws -> Tensor
}

extension Dictionary: TensorSource where Key == String, Value == Tensor {
    public var tensorNames: [String] { keys.sorted() }
    public func shape(of name: String) -> [Int]? { self[name]?.shape }
    public func tensor(named name: String) throws -> Tensor { self[name]! }
}

extension SafeTensorsCheckpoint: TensorSource {
    public var tensorNames: [String] { names }
    public func shape(of name: String) -> [Int]? { entry(name)?.shape }
    public func tensor(named name: String) throws -> Tensor { try tensor(name) }
}

/// What a load found: keys the module wanted but the source lacked, keys the source had that
/// the module does not know, shapes that disagree, and dtypes converted on the way in.
public struct LoadReport: CustomStringConvertible, Equatable {
    public struct Mismatch: Equatable {
        public let key: String
        public let expected: [Int]
        public let found: [Int]
    }

    public var loaded: [String] = []
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var mismatched: [Mismatch] = []
    public var converted: [String] = []

    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    public var description: String {
        var lines = ["loaded \(loaded.count) tensors"]
        func list(_ keys: [String]) -> String {
            keys.prefix(10).joined(separator: ", ") + (keys.count > 10 ? ", … (\(keys.count) in all)" : "")
        }
        if !missing.isEmpty { lines.append("missing (in the module, not in the source): \(list(missing))") }
        if !unexpected.isEmpty { lines.append("unexpected (in the source, not in the module): \(list(unexpected))") }
        for m in mismatched.prefix(10) { lines.append("shape mismatch for \(m.key): module has \(m.expected), source has \(m.found)") }
        if !converted.isEmpty { lines.append("dtype converted: \(list(converted))") }
        return lines.joined(separator: "\n")
    }
}

public struct StateDictError: Error, CustomStringConvertible {
    public let report: LoadReport
    public var description: String { "state dict does not fit the module:\n\(report)" }
}

extension Module {
    /// Copies tensors from `source` into this module's parameters (in place, cast to each
    /// parameter's dtype and device). A shape mismatch is always an error, as in PyTorch;
    /// missing and unexpected keys are errors only when `strict`. Nothing is written unless
    /// the whole load can succeed.
    @discardableResult
    public func load(from source: TensorSource, strict: Bool = true) throws -> LoadReport {
        let params = namedParameters()
        let wanted = Set(params.map(\.0))
        var report = LoadReport()
        report.unexpected = source.tensorNames.filter { !wanted.contains($0) }
        var plan: [(String, Tensor)] = []
        for (name, p) in params {
            guard let shape = source.shape(of: name) else {
                report.missing.append(name)
                continue
            }
            if shape != p.shape {
                report.mismatched.append(.init(key: name, expected: p.shape, found: shape))
                continue
            }
            plan.append((name, p))
        }
        if !report.mismatched.isEmpty || (strict && !report.isClean) { throw StateDictError(report: report) }
        try Autograd.noGrad {
            for (name, p) in plan {
                let t = try source.tensor(named: name)
                if t.dtype != p.dtype { report.converted.append("\(name) (\(t.dtype) → \(p.dtype))") }
                try p.copy_(t)
                report.loaded.append(name)
            }
        }
        return report
    }
}
