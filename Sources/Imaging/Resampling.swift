import Foundation

/// The resampling filters of Pillow's `Image.resize`, with their support in source pixels.
public enum ResamplingFilter: Sendable {
    case bilinear, bicubic, lanczos

    var support: Double {
        switch self {
        case .bilinear: 1
        case .bicubic: 2
        case .lanczos: 3
        }
    }

    func weight(_ x: Double) -> Double {
        switch self {
        case .bilinear:
            let x = abs(x)
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5, x = abs(x)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .lanczos:
            func sinc(_ x: Double) -> Double { x == 0 ? 1 : Foundation.sin(x * .pi) / (x * .pi) }
            return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0
        }
    }
}

extension RGBImage {
    /// The image resized as Pillow resizes an 8-bit RGB image, byte for byte: a separable
    /// convolution whose kernel widens with the downscale factor (so shrinking averages, not
    /// skips), coefficients in 22-bit fixed point, the horizontal pass before the vertical one
    /// and each pass rounded to 8 bits.
    public func resized(width outWidth: Int, height outHeight: Int, filter: ResamplingFilter) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "resize to \(outWidth) x \(outHeight)")
        if outWidth == width && outHeight == height { return self }
        let vertical = Kernel(inSize: height, outSize: outHeight, filter: filter)
        var source = self
        if outWidth != width {
            // Only the rows the vertical pass reads are resampled horizontally.
            let first = vertical.starts[0]
            let last = vertical.starts[outHeight - 1] + vertical.counts[outHeight - 1]
            source = horizontalPass(rows: first..<last, kernel: Kernel(inSize: width, outSize: outWidth, filter: filter))
            vertical.shift(by: -first)
        }
        return outHeight == height ? source : source.verticalPass(vertical, outHeight: outHeight)
    }

    private func horizontalPass(rows: Range<Int>, kernel: Kernel) -> RGBImage {
        let outWidth = kernel.starts.count
        var out = [UInt8](repeating: 0, count: rows.count * outWidth * 3)
        pixels.withUnsafeBufferPointer { src in
            for (row, y) in rows.enumerated() {
                for x in 0..<outWidth {
                    let start = kernel.starts[x], k = x * kernel.size
                    for c in 0..<3 {
                        var sum = Kernel.half
                        for i in 0..<kernel.counts[x] {
                            sum += Int(src[(y * width + start + i) * 3 + c]) * kernel.coefficients[k + i]
                        }
                        out[(row * outWidth + x) * 3 + c] = Kernel.clip(sum)
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: rows.count, pixels: out)
    }

    private func verticalPass(_ kernel: Kernel, outHeight: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: outHeight * width * 3)
        pixels.withUnsafeBufferPointer { src in
            for y in 0..<outHeight {
                let start = kernel.starts[y], k = y * kernel.size
                for x in 0..<(width * 3) {
                    var sum = Kernel.half
                    for i in 0..<kernel.counts[y] {
                        sum += Int(src[(start + i) * width * 3 + x]) * kernel.coefficients[k + i]
                    }
                    out[y * width * 3 + x] = Kernel.clip(sum)
                }
            }
        }
        return RGBImage(width: width, height: outHeight, pixels: out)
    }
}

/// One pass's coefficients, as Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` make
/// them: for each output pixel, the first source pixel, how many follow, and their weights.
private final class Kernel {
    static let precisionBits = 32 - 8 - 2
    static let half = 1 << (precisionBits - 1)

    let size: Int
    var starts: [Int]
    let counts: [Int]
    let coefficients: [Int]

    init(inSize: Int, outSize: Int, filter: ResamplingFilter) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        size = Int(support.rounded(.up)) * 2 + 1
        var starts = [Int](), counts = [Int](), coefficients = [Int](repeating: 0, count: outSize * size)
        for o in 0..<outSize {
            let center = (Double(o) + 0.5) * scale
            // C's (int) cast truncates towards zero, which the bounds rely on.
            let lo = max(Int(center - support + 0.5), 0)
            let n = min(Int(center + support + 0.5), inSize) - lo
            let weights = (0..<n).map { filter.weight((Double($0 + lo) - center + 0.5) / filterScale) }
            let total = weights.reduce(0, +)
            for (i, w) in weights.enumerated() {
                let normalised = total != 0 ? w / total : w
                let fixed = normalised * Double(1 << Kernel.precisionBits)
                coefficients[o * size + i] = Int(normalised < 0 ? fixed - 0.5 : fixed + 0.5)
            }
            starts.append(lo)
            counts.append(n)
        }
        self.starts = starts
        self.counts = counts
        self.coefficients = coefficients
    }

    func shift(by offset: Int) { starts = starts.map { $0 + offset } }

    static func clip(_ sum: Int) -> UInt8 { UInt8(min(max(sum >> precisionBits, 0), 255)) }
}
