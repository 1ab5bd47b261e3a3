import Foundation

/// How far a long loop is: "done/total unit | rate/s | ETA", the rate counted over this run
/// (a resumed run's earlier work does not inflate it).
public final class ProgressMeter {
    public let total: Int, unit: String
    public var done: Int
    private let started = Date(), startDone: Int

    public init(total: Int, done: Int, unit: String) {
        self.total = total
        self.done = done
        self.unit = unit
        startDone = done
    }

    /// Seconds since the meter started.
    public var elapsed: Double { Date().timeIntervalSince(started) }

    /// Units per second in this run.
    public var rate: Double { Double(done - startDone) / max(elapsed, 1e-9) }

    /// The time left at the current rate ("?" before any progress).
    public var eta: String {
        let rate = self.rate
        return rate > 0 ? Self.duration(Double(total - done) / rate) : "?"
    }

    /// Moves to `done` and gives the line.
    public func line(at done: Int) -> String {
        self.done = done
        return String(format: "%d/%d %@ | %.2f/s | ETA %@", done, total, unit, rate, eta)
    }

    public func advance(by n: Int = 1) -> String { line(at: done + n) }

    public static func duration(_ s: Double) -> String {
        s < 90 ? String(format: "%.0f s", s) : s < 5400 ? String(format: "%.0f min", s / 60) : String(format: "%.1f h", s / 3600)
    }
}
