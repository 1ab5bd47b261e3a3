import Foundation
import Torch

/// A training checkpoint: a directory with the module's parameters (`model.safetensors`, keys
/// as the module names them, so our loaders read it directly), each optimiser's state
/// (`optimizer-NAME.safetensors`), the random generator (`rng.safetensors`) and JSON metadata
/// (`meta.json`). The directory is built beside its target and renamed into place, so a run
/// killed mid-save leaves the previous checkpoint intact.
public enum Checkpoint {
    public static let formatVersion = 1

    struct Envelope<M: Codable>: Codable {
        var format: Int
        var step: Int
        var optimizers: [String]
        var metadata: M
    }

    /// `extras` writes further files into the checkpoint directory before it is put in place.
    public static func save<M: Codable>(to url: URL, step: Int, module: Module, optimizers: [String: Optimizer] = [:],
                                        metadata: M, extras: (URL) throws -> Void = { _ in }) throws {
        try AtomicFile.writeDirectory(at: url) { dir in
            try extras(dir)
            try SafeTensors.write(module.stateDict(), metadata: ["format": "dreamprm"], to: dir.appendingPathComponent("model.safetensors"))
            for (name, optimizer) in optimizers {
                try SafeTensors.write(optimizer.stateDict(), to: dir.appendingPathComponent("optimizer-\(name).safetensors"))
            }
            try SafeTensors.write(["cpu": Runtime.rngState()], to: dir.appendingPathComponent("rng.safetensors"))
            let envelope = Envelope(format: formatVersion, step: step, optimizers: optimizers.keys.sorted(), metadata: metadata)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(envelope), to: dir.appendingPathComponent("meta.json"))
        }
    }

    /// Restores parameters, optimiser states and the random generator; returns the step and metadata.
    public static func load<M: Codable>(from url: URL, module: Module, optimizers: [String: Optimizer] = [:],
                                        metadata: M.Type) throws -> (step: Int, metadata: M) {
        let metaURL = url.appendingPathComponent("meta.json")
        for file in ["meta.json", "model.safetensors", "rng.safetensors"] where !FileManager.default.fileExists(atPath: url.appendingPathComponent(file).path) {
            throw CheckpointError(path: url.appendingPathComponent(file).path, message: "missing from the checkpoint")
        }
        let envelope: Envelope<M>
        do { envelope = try JSONDecoder().decode(Envelope<M>.self, from: Data(contentsOf: metaURL)) } catch {
            throw CheckpointError(path: metaURL.path, message: "unreadable checkpoint metadata: \(error)")
        }
        guard envelope.format == formatVersion else {
            throw CheckpointError(path: metaURL.path, message: "format \(envelope.format), this build reads \(formatVersion)")
        }
        try module.load(from: SafeTensorsCheckpoint(url.appendingPathComponent("model.safetensors")), strict: true)
        for (name, optimizer) in optimizers {
            let file = url.appendingPathComponent("optimizer-\(name).safetensors")
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw CheckpointError(path: file.path, message: "checkpoint has no state for optimizer '\(name)'")
            }
            try optimizer.load(stateDict: SafeTensors.read(file))
        }
        try Runtime.setRNGState(SafeTensorsFile(url.appendingPathComponent("rng.safetensors")).tensor("cpu"))
        return (envelope.step, envelope.metadata)
    }
}

public struct CheckpointError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}
