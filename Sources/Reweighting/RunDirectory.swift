import Foundation
import PRM
import Torch
#if canImport(Glibc)
import Glibc
#endif

/// The output directory of one training run, held for the run's lifetime: a lock that makes a
/// second concurrent run into it fail at once (released by the kernel however this process
/// ends), leftovers of killed writes cleaned, and an earlier run's files never mixed with a
/// new run's.
public final class RunDirectory {
    public let url: URL
    private let lockDescriptor: Int32
    private var earlierRun: [String] = []
    /// What a run writes (and TensorBoard event files); a directory holding any of them holds a run.
    static let runFiles = ["checkpoint", "metrics.jsonl", "prm.safetensors", "domain_weights.json", "instance_weights.json", "run_report.json"]

    public enum Mode { case fresh, resume, overwrite }

    public init(_ url: URL, mode: Mode, log: (String) -> Void) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let lockPath = url.appendingPathComponent(".dreamprm.lock").path
        let created = !FileManager.default.fileExists(atPath: lockPath)
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw SettingError("weights_path", "cannot create the lock file \(lockPath): \(String(cString: strerror(errno)))") }
        // A refused run leaves the directory as it found it.
        func refuse(_ error: SettingError) -> SettingError {
            if created { unlink(lockPath) }
            close(fd)
            return error
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw SettingError("weights_path", "another dreamprm run (pid \(holder)) is writing into '\(url.path)'")
        }
        let names = Set((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [])
        let earlier = Self.runFiles.filter(names.contains) + names.filter { $0.hasPrefix("events.out.tfevents.") }.sorted()
        let movedAside = names.contains { $0.hasPrefix(".checkpoint.old-") }
        switch mode {
        case .fresh where !earlier.isEmpty:
            throw refuse(SettingError("weights_path", "'\(url.path)' holds an earlier run (\(earlier.joined(separator: ", "))); "
                                      + "--resume continues it, --overwrite replaces it, or name another directory"))
        case .resume where !earlier.contains("checkpoint") && !movedAside:
            throw refuse(SettingError("resume", "no checkpoint in '\(url.path)' to resume from"))
        default:
            break
        }
        lockDescriptor = fd
        _ = ftruncate(fd, 0)
        _ = "\(getpid())\n".withCString { write(fd, $0, strlen($0)) }
        for line in try AtomicFile.cleanLeftovers(in: url) { log("\(url.lastPathComponent): \(line) (left by a killed run)") }
        earlierRun = mode == .overwrite ? earlier : []
    }

    /// With `.overwrite`: removes the earlier run's files. Called once the new run is ready
    /// to write (settings, data and model all loaded), so a run that fails before that leaves
    /// the earlier one whole.
    public func clearEarlierRun(log: (String) -> Void) throws {
        guard !earlierRun.isEmpty else { return }
        for name in earlierRun { try FileManager.default.removeItem(at: url.appendingPathComponent(name)) }
        log("--overwrite: removed the earlier run's \(earlierRun.joined(separator: ", "))")
        earlierRun = []
    }

    deinit {
        flock(lockDescriptor, LOCK_UN)
        close(lockDescriptor)
    }
}
