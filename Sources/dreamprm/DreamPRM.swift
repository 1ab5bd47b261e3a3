import ArgumentParser
import Foundation
import Imaging
import Models
import Pipeline
import PRM
import Reweighting
import Torch

@main
struct DreamPRM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dreamprm",
        abstract: "Process reward models with learned data weights (DreamPRM), in Swift over LibTorch.",
        subcommands: [Train.self, Evaluate.self, Score.self, Export.self, Summarize.self, Answers.self, Plot.self,
                      Generate.self, Candidates.self, Label.self, Bench.self, Info.self]
    )

    /// One rule for every command: exit 2 for bad input (a flag or its value, a config or data
    /// file, an output path), 1 for a failure while working, 0 when done.
    static func main() {
        Runtime.keepFreedMemory()
        do {
            var command = try parseAsRoot(Train.originalSpellings(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let e as SettingError {
            fail("error: \(e)", code: 2)
        } catch let e as DataError {
            fail("error: \(e)", code: 2)
        } catch let e as ImageError {
            fail("error: \(e)", code: 2)
        } catch let e as ConfigError {
            fail("error: \(e)", code: 2)
        } catch let e as PolicyFailure {
            fail("error: \(e)", code: 1)
        } catch let e as ExitCode {
            exit(withError: e)
        } catch {
            if exitCode(for: error) == .validationFailure {
                fail(fullMessage(for: error), code: 2)
            }
            exit(withError: error)
        }
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(code)
    }
}

/// Options every compute command shares.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Intra-op CPU threads (default: OMP_NUM_THREADS, else LibTorch's choice).")
    var threads: Int?

    @Option(help: "Device: cpu, cuda or cuda:N.")
    var device: String = "cpu"
}
