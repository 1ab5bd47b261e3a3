import ArgumentParser
import Foundation
import Models
import NN
import PRM
import Reweighting
import Torch

/// One DreamPRM v1 unroll window (5 lower steps + 1 darts upper step) on SmolLM2, beside the
/// Python reference of `shared/bench/ref` run in the same invocation.
struct WindowBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "window",
        abstract: "Time one bi-level unroll window on SmolLM2-135M beside the PyTorch reference (JSON)."
    )

    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "Timed windows per engine (the median is reported) after one warm-up; also the reference's --reps.")
    var reps = 5

    @Option(help: "Meta chains: shared-prefix (default) or per-prefix.")
    var scoring = "shared-prefix"

    @Option(help: "The reference script; skipped when absent.")
    var reference = "../shared/bench/ref/dreamprm_ref_bench.py"

    /// The reference's synthetic word problem (same template and sizes; our own random numbers).
    static func problem(_ seed: UInt64) -> (question: String, steps: [String]) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        func pick(_ range: ClosedRange<Int>) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return range.lowerBound + Int((state >> 33) % UInt64(range.count))
        }
        let a = 4 * pick(3...12), b = 5 * pick(2...9), c = [10, 20, 25, 50][pick(0...3)], d = pick(2...9), e = pick(1...9), f = pick(3...12)
        let ab = a * b, sold = ab * c / 100, inc = sold * d, tot = inc * f, st = ab - sold - e, stt = st * f
        let q = "A farmer has \(a) trees that each give \(b) apples a week. He sells \(c)% of the apples for $\(d) each, gives away \(e) apples a week and stores the rest. How much does he earn in \(f) weeks, and how many apples does he store?"
        return (q, [
            "Step 1: First find the weekly harvest. There are \(a) trees and each gives \(b) apples a week, so the farm produces \(a) * \(b) = \(ab) apples every week.",
            "Step 2: Next find the apples sold each week. He sells \(c)% of the \(ab) apples, which is \(ab) * \(c) / 100 = \(sold) apples per week.",
            "Step 3: The weekly income is the number of apples sold times the price of one apple, so he earns \(sold) * \(d) = \(inc) dollars every week.",
            "Step 4: Over \(f) weeks he earns \(inc) * \(f) = \(tot) dollars. Each week he stores the apples not sold or given away: \(ab) - \(sold) - \(e) = \(st).",
            "Step 5: In \(f) weeks he stores \(st) * \(f) = \(stt) apples. So the answer is that he earns \(tot) dollars and stores \(stt) apples.",
        ])
    }

    func run() throws {
        let threads = runtime.threads ?? 1
        Runtime.threadCount = threads
        guard let mode = PrefixScoring(rawValue: scoring) else { throw ValidationError("--scoring: per-prefix or shared-prefix") }
        let url = try ModelRegistry.resolve("smollm2-135m-instruct")
        let loaded = try ModelLoader.load(url)
        let encoder = PromptEncoder(tokenizer: loaded.tokenizer, template: loaded.chatTemplate ?? .smolLM2)
        Runtime.manualSeed(0)
        // The reference's head (what the Python side times), not the standardised default.
        let prm = try ScalarHeadPRM(backbone: loaded.model, initialization: .reference)
        // Training records: question + 3 steps, four domains, as the reference's.
        let domains = ["d0", "d1", "d2", "d3"]
        let train = try (0..<20).map { i -> V1TrainRecord in
            let p = Self.problem(UInt64(100 + i))
            let object: [String: Any] = ["input": p.question, "add": p.steps.prefix(3).joined(separator: "\n\n"),
                                         "dataset": domains[i % 4], "accuracy": Double(i % 5) / 4]
            return try V1TrainRecord(RecordFields.parse(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)))
        }
        let metaProblem = Self.problem(7)
        let chain = (1...5).map { k in encoder.encode(metaProblem.question + "\n\n" + metaProblem.steps.prefix(k).joined(separator: "\n\n")) }

        func engine(baseline: Bool) throws -> BilevelEngine<V1TrainingProblem, V1MetaProblem> {
            let lower = V1TrainingProblem(prm: prm, records: train, encoder: encoder, batchSize: 1, seed: 0)
            let upper = V1MetaProblem(prm: prm, chains: [(chain, true)], batchSize: 1, seed: 1, mode: mode, aggregation: .meanLogOdds)
            let weights = try DomainTable(domains: lower.domains)
            // AdamW with PyTorch's default weight decay, as the reference constructs it.
            return try BilevelEngine(lower: lower, upper: upper, weights: weights,
                                     lowerOptimizer: AdamW(lower.parameters, learningRate: 5e-7, weightDecay: 0.01),
                                     upperOptimizer: AdamW(weights.trainableParameters(), learningRate: 0.01, weightDecay: 1e-3),
                                     configuration: EngineConfiguration(unrollSteps: 5, hypergradient: .darts(radius: 0.01), baseline: baseline))
        }
        var phases: [String: Double] = [:]
        func timeWindow(_ e: BilevelEngine<V1TrainingProblem, V1MetaProblem>) throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<5 {
                let r = try e.step()
                if !r.upperPhaseSeconds.isEmpty { phases = r.upperPhaseSeconds }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        // The two engines' windows alternate, so a drift in the machine's speed (this VM's
        // varies by ±15 % over minutes) does not bias their ratio.
        let bilevel = try engine(baseline: false), lowerOnly = try engine(baseline: true)
        // Two warm-up windows each: the first upper steps still grow the heap (a page fault
        // here costs ~15 µs), which a training run's thousands of iterations never see again.
        for _ in 0..<2 {
            _ = try timeWindow(bilevel)
            _ = try timeWindow(lowerOnly)
        }
        let load = ForeignLoad()
        var windows: [Double] = [], plains: [Double] = []
        for _ in 0..<reps {
            windows.append(try timeWindow(bilevel))
            plains.append(try timeWindow(lowerOnly))
        }
        let foreignLoad = load.sinceStart()
        let window = BenchTiming.median(windows), plain = BenchTiming.median(plains)
        var report: [String: Any] = [
            "threads": threads, "scoring": mode.rawValue,
            "tokens": ["train_records": train.prefix(5).map { encoder.encode($0.prompt).count }, "meta_chain_prefixes": chain.map(\.count)],
            "swift_window_s": window, "swift_5_lower_s": plain, "swift_window_over_5_lower": window / plain,
            "swift_upper_phase_seconds": phases,
            "swift_windows_s": windows, "swift_5_lower_runs_s": plains,
        ]
        // Cores other processes or the hypervisor kept busy while we (or, below, the reference)
        // were timed; well above 0 means the figures are contaminated.
        if let foreignLoad { report["swift_foreign_load"] = (foreignLoad * 100).rounded() / 100 }
        if FileManager.default.fileExists(atPath: reference) {
            FileHandle.standardError.write(Data("running the reference (\(reference), \(threads) thread(s))…\n".utf8))
            if let ref = PythonReference.run(script: reference, arguments: [url.deletingLastPathComponent().path, "--gguf-file", url.lastPathComponent,
                                                                              "--model-name", "SmolLM2-135M-Instruct", "--threads", "\(threads)",
                                                                              "--reps", "\(reps)", "--blo-reps", "\(reps)"]),
               let results = (ref["results"] as? [String: Any])?["\(threads)"] as? [String: Any],
               let blo = results["blo_iteration"] as? [String: Any], let reference = blo["median_s"] as? Double {
                report["reference_window_s"] = reference
                report["reference_window_over_5_lower"] = results["blo_over_5_lower"]
                report["reference_foreign_load"] = blo["foreign_load"]
                report["reference_tokens"] = ref["tokens"]
                report["window_ratio_swift_over_reference"] = window / reference
                report["goals_met"] = ["window_ratio_at_most_0.5": window / reference <= 0.5,
                                       "window_over_5_lower_at_most_1.5": window / plain <= 1.5]
            } else {
                report["note"] = "the reference did not run (needs python3 with torch, transformers, gguf, accelerate)"
            }
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// Busy time of the whole machine (steal included) minus this process's CPU time, per second
/// of wall time, between creation and `sinceStart()`: what the reference calls foreign_load.
struct ForeignLoad {
    private let start: (machine: Double, own: Double, wall: UInt64)?

    init() { start = Self.snapshot().map { ($0.machine, $0.own, DispatchTime.now().uptimeNanoseconds) } }

    func sinceStart() -> Double? {
        guard let start, let now = Self.snapshot() else { return nil }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start.wall) / 1e9
        return max(0, (now.machine - start.machine) - (now.own - start.own)) / wall
    }

    /// nil where /proc/stat does not exist (not Linux).
    private static func snapshot() -> (machine: Double, own: Double)? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let cpu = stat.split(separator: "\n").first else { return nil }
        let jiffies = cpu.split(separator: " ").dropFirst().prefix(8).compactMap { Double($0) }
        guard jiffies.count == 8 else { return nil }
        let busy = jiffies.reduce(0, +) - jiffies[3] - jiffies[4]  // all but idle and iowait
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let own = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return (busy / Double(sysconf(Int32(_SC_CLK_TCK))), own)
    }
}
