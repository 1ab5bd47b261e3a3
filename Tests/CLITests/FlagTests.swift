import Foundation
@testable import dreamprm
import PRM
import Reweighting
import XCTest

/// Flags reach the training configuration under the original projects' names.
final class FlagTests: XCTestCase {
    func testOptimiserFlagsAtBothLevels() throws {
        let workspace = try Workspace("flags")
        defer { workspace.remove() }
        let data = workspace.root.appendingPathComponent("data.json")
        try Data("[]".utf8).write(to: data)
        func settings(_ extra: [String]) throws -> V1TrainingConfiguration {
            try Train.parse(["--train_json_file", data.path, "--meta_json_file", data.path, "--reward_model", workspace.model.path] + extra).settings()
        }
        let defaults = try settings([])
        XCTAssertEqual([defaults.epsilon, defaults.metaEpsilon], [1e-6, 1e-8])
        XCTAssertNil(defaults.lowerClipNorm)
        XCTAssertNil(defaults.upperClipNorm)
        for (spelling, metaSpelling) in [("--gradiant_clipping", "--meta_gradiant_clipping"), ("--gradient_clipping", "--meta-gradient-clipping")] {
            let c = try settings(["--eps", "1e-7", "--meta_eps", "1e-9", spelling, "1.5", metaSpelling, "2"])
            XCTAssertEqual([c.epsilon, c.metaEpsilon, c.lowerClipNorm, c.upperClipNorm], [1e-7, 1e-9, 1.5, 2])
        }
        XCTAssertThrowsError(try settings(["--eps", "0"])) { XCTAssertEqual(($0 as? SettingError)?.flag, "eps") }
        XCTAssertThrowsError(try settings(["--gradient_clipping", "-1"])) { XCTAssertEqual(($0 as? SettingError)?.flag, "gradient_clipping") }
    }

    /// A partial YAML or JSON file keyed by flag names; flags on the command line win; a run's
    /// resolved settings, read back as a config file, give the same settings.
    func testConfigFilesKeyedByFlagNames() throws {
        let workspace = try Workspace("config")
        defer { workspace.remove() }
        let data = workspace.root.appendingPathComponent("data.json")
        try Data("[]".utf8).write(to: data)
        let yaml = workspace.root.appendingPathComponent("settings.yaml")
        try """
            train_json_file: \(data.path)
            meta_json_file: \(data.path)
            reward_model: \(workspace.model.path)
            lr: 1e-4
            batch_size: 3
            rollback: true
            report_to: [tensorboard]
            """.write(to: yaml, atomically: true, encoding: .utf8)
        let commandLine = ["--config", yaml.path, "--batch_size", "5"]
        let c = try Train.parse(commandLine).resolvingConfig(commandLine: commandLine).settings()
        XCTAssertEqual(c.learningRate, 1e-4)
        XCTAssertEqual(c.batchSize, 5, "the command line wins")
        XCTAssertTrue(c.rollback)
        XCTAssertEqual(c.reportTo, ["tensorboard"])
        XCTAssertEqual(c.iterations, V1TrainingConfiguration().iterations, "left out: the default")

        var changed = c
        changed.trainLayers = 2
        changed.upperClipNorm = 0.5
        changed.headInput = .hidden
        changed.hypergradientPerDomain = 3
        changed.batchStrata = .label
        changed.metaObjective = .rank
        changed.metaBatchSize = 4
        changed.dartsAlpha = 0.02
        changed.hypergradientIterations = 2
        let json = workspace.root.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: changed.flagValues).write(to: json)
        let again = ["--config", json.path]
        XCTAssertEqual(try Train.parse(again).resolvingConfig(commandLine: again).settings(), changed)

        try "lr:\n  lower: 0.1\n".write(to: yaml, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigFile.arguments(yaml.path)) { XCTAssertTrue("\($0)".contains("'lr' holds a mapping"), "\($0)") }
        try "learning_rate: 0.1\n".write(to: yaml, atomically: true, encoding: .utf8)
        let unknown = ["--config", yaml.path, "--train_json_file", data.path, "--meta_json_file", data.path]
        XCTAssertThrowsError(try Train.parse(unknown).resolvingConfig(commandLine: unknown)) {
            XCTAssertEqual(($0 as? SettingError)?.flag, "config")
            XCTAssertTrue("\($0)".contains("learning_rate"), "\($0)")
        }
    }
}
