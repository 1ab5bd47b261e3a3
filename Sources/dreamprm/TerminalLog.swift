import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Messages on standard error. On a terminal the progress line is redrawn in place and other
/// messages go on lines of their own above it; elsewhere (a log file, CI) every progress
/// update is a plain line, so the log keeps the history.
final class TerminalLog {
    private let redraws = isatty(STDERR_FILENO) == 1
    private var progressShown = false

    func message(_ text: String) {
        write((progressShown ? "\n" : "") + text + "\n")
        progressShown = false
    }

    func progress(_ text: String) {
        guard redraws else { return message(text) }
        write("\r\u{1B}[K" + text)
        progressShown = true
    }

    /// Ends a redrawn progress line before the command prints its result.
    func finish() {
        if progressShown { write("\n") }
        progressShown = false
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
