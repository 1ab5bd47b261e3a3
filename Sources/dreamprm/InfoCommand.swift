import ArgumentParser
import Foundation
import Torch

/// Prints what this build links and sees, as JSON: the first thing to run on a new machine.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the LibTorch build, threads and devices (JSON).")

    func run() throws {
        let info: [String: Any] = [
            "threads": Runtime.threadCount,
            "cuda_available": Device.cudaIsAvailable,
            "cuda_devices": Device.cudaDeviceCount,
        ]
        let data = try JSONSerialization.data(withJSONObject: info, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
