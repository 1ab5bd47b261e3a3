import ArgumentParser
import Foundation
import NN
import PRM
import Reweighting
import Torch

/// What an instance table costs per upper step as it grows: the batch's weights, the backward
/// of a weighted loss through them, and one AdamW step over the whole (dense) table, for a
/// table of 64 entries beside one of `--entries` in the same run.
struct InstanceTableBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instance-table",
        abstract: "Time the instance table's per-step work at 64 entries and at --entries (JSON)."
    )

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Entries of the large table.") var entries = 100_000
    @Option(help: "Instances per batch.") var batch = 4
    @Option(help: "Timed steps per size (the median is reported).") var steps = 200

    func run() throws {
        Runtime.threadCount = runtime.threads ?? 1
        try Check.atLeast(entries, 64, "entries")
        func medianSeconds(_ size: Int) throws -> Double {
            let table = try InstanceTable(count: size, activation: .leakyRelu)
            let optimizer = try AdamW(table.trainableParameters(), learningRate: 5e-3, weightDecay: 1e-3)
            let losses = try Tensor.rand([batch])
            var times: [Double] = []
            for step in 0..<(steps + 10) {
                let keys = try Tensor((0..<batch).map { Int64(($0 * 7919 + step * 104_729) % size) })
                let began = DispatchTime.now().uptimeNanoseconds
                let loss = try (table.weights(for: keys) * losses).sum()
                try table.raw.setGrad(try Autograd.grad(of: [loss], wrt: [table.raw])[0]!)
                try optimizer.step()
                try optimizer.zeroGrad()
                if step >= 10 { times.append(Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9) }
            }
            return times.sorted()[times.count / 2]
        }
        let small = try medianSeconds(64), large = try medianSeconds(entries)
        let report: [String: Any] = ["threads": Runtime.threadCount, "batch": batch, "entries": [64, entries],
                                     "median_step_seconds": [small, large], "large_over_small": large / small]
        print(String(data: try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys]), encoding: .utf8)!)
    }
}
