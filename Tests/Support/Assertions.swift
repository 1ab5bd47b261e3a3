import Foundation
import Torch
import XCTest

/// Asserts |a − b| ≤ atol + rtol·|b| element-wise, reporting the worst element.
public func assertClose(_ actual: [Double], _ expected: [Double], rtol: Double = 1e-5, atol: Double = 1e-8,
                        _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(message): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    var worst = (index: -1, excess: 0.0)
    for (i, (a, b)) in zip(actual, expected).enumerated() {
        let excess = Swift.abs(a - b) - (atol + rtol * Swift.abs(b))
        if excess > worst.excess || (a.isNaN != b.isNaN) { worst = (i, Swift.max(excess, 1)) }
    }
    if worst.index >= 0 {
        let i = worst.index
        XCTFail("\(message): element \(i) is \(actual[i]), expected \(expected[i]) (rtol \(rtol), atol \(atol))",
                file: file, line: line)
    }
}

public func assertClose(_ actual: Tensor, _ expected: [Double], rtol: Double = 1e-5, atol: Double = 1e-8,
                        _ message: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
    assertClose(try actual.doubles(), expected, rtol: rtol, atol: atol, message, file: file, line: line)
}

public func assertClose(_ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-8,
                        _ message: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(actual.shape, expected.shape, "\(message): shape", file: file, line: line)
    assertClose(try actual.doubles(), try expected.doubles(), rtol: rtol, atol: atol, message, file: file, line: line)
}

/// Checks autograd against a central finite difference in float64: for a fixed random
/// projection w, d/dx Σ w·f(x) from backward must equal (L(x+h) − L(x−h)) / 2h per element.
public func assertGradientsMatchFiniteDifferences(
    _ inputs: [Tensor], step: Double = 1e-6, rtol: Double = 1e-5, atol: Double = 1e-7, _ name: String,
    file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) throws -> Tensor
) throws {
    let leaves = try inputs.map { try $0.to(.float64).detach().requiringGrad() }
    let out = try f(leaves)
    Runtime.manualSeed(1234)
    let projection = try Tensor.randn(out.shape, dtype: .float64)
    let loss = try (out * projection).sum()
    let analytic = try Autograd.grad(of: [loss], wrt: leaves)

    func objective(_ xs: [Tensor]) throws -> Double {
        try Autograd.noGrad { try (f(xs) * projection).sum().item() }
    }
    for (k, leaf) in leaves.enumerated() {
        let base = try leaf.doubles()
        var numeric = [Double](repeating: 0, count: base.count)
        for j in base.indices {
            var plus = base, minus = base
            plus[j] += step
            minus[j] -= step
            var xsPlus = leaves, xsMinus = leaves
            xsPlus[k] = try Tensor(plus, shape: leaf.shape)
            xsMinus[k] = try Tensor(minus, shape: leaf.shape)
            numeric[j] = (try objective(xsPlus) - objective(xsMinus)) / (2 * step)
        }
        let got = try analytic[k].map { try $0.doubles() } ?? [Double](repeating: 0, count: base.count)
        assertClose(got, numeric, rtol: rtol, atol: atol, "\(name): gradient of input \(k)", file: file, line: line)
    }
}

/// Resident set size of this process in bytes (Linux), for leak checks.
public func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The committed fixture directory of a test target.
public func fixtureURL(_ name: String, bundle: Bundle) -> URL {
    bundle.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(name)
}

/// `../shared` beside the project (the steering repository's shared data), or nil when a
/// clone has none: tests that read it skip.
public func sharedDirectory(file: StaticString = #filePath) -> URL? {
    var url = URL(fileURLWithPath: "\(file)")
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            let shared = url.deletingLastPathComponent().appendingPathComponent("shared")
            return FileManager.default.fileExists(atPath: shared.path) ? shared : nil
        }
    }
    return nil
}

/// The seeded generator of the closed-form sides, with the draws they need.
public typealias SplitMix = SplitMix64

extension SplitMix64 {
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    public mutating func normal() -> Double {
        let u = Swift.max(uniform(), 1e-300), v = uniform()
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * v)
    }
}
