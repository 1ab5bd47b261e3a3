import Foundation
import Torch

/// A setting (flag or config key) with a value the run cannot use. Named by its flag so the
/// user knows what to change.
public struct SettingError: Error, CustomStringConvertible {
    public let flag: String
    public let message: String
    public init(_ flag: String, _ message: String) {
        self.flag = flag
        self.message = message
    }
    public var description: String { "--\(flag): \(message)" }
}

/// Checks on a setting's value, each throwing a `SettingError` that names the flag.
public enum Check {
    public static func atLeast(_ value: Int, _ minimum: Int, _ flag: String) throws {
        guard value >= minimum else { throw SettingError(flag, "must be at least \(minimum), not \(value)") }
    }

    public static func positive(_ value: Double, _ flag: String) throws {
        guard value.isFinite, value > 0 else { throw SettingError(flag, "must be a positive finite number, not \(value)") }
    }

    public static func nonNegative(_ value: Double, _ flag: String) throws {
        guard value.isFinite, value >= 0 else { throw SettingError(flag, "must be a finite number ≥ 0, not \(value)") }
    }

    /// A device this LibTorch can use.
    public static func device(_ text: String, _ flag: String = "device") throws -> Device {
        guard let device = try? Device(parsing: text) else { throw SettingError(flag, "cpu, cuda or cuda:N, not '\(text)'") }
        if case .cuda(let n) = device {
            guard Device.cudaIsAvailable else { throw SettingError(flag, "this LibTorch has no CUDA (or sees no GPU); use --\(flag) cpu") }
            guard n < Device.cudaDeviceCount else { throw SettingError(flag, "there are \(Device.cudaDeviceCount) GPUs; cuda:\(n) is not one") }
        }
        return device
    }

    /// A file to read: it exists and is not a directory.
    public static func inputFile(_ path: String, _ flag: String) throws {
        guard !path.isEmpty else { throw SettingError(flag, "is required") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw SettingError(flag, "'\(path)' does not exist") }
        guard !isDirectory.boolValue else { throw SettingError(flag, "'\(path)' is a directory, not a file") }
    }

    /// A directory to write into: named, not an existing file, and no file where a parent
    /// directory must go.
    public static func outputDirectory(_ path: String, _ flag: String) throws {
        guard !path.isEmpty else { throw SettingError(flag, "is empty; name an output directory") }
        var url = URL(fileURLWithPath: path).standardizedFileURL
        while true {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw SettingError(flag, url.path == URL(fileURLWithPath: path).standardizedFileURL.path
                                       ? "'\(path)' is a file, not a directory" : "'\(url.path)' is a file, so '\(path)' cannot be made under it")
                }
                return
            }
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { return }
            url = parent
        }
    }
}
