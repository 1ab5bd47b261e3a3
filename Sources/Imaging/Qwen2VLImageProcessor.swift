import Foundation

/// Qwen2-VL's image processor (transformers' `Qwen2VLImageProcessor`): resize to a multiple of
/// patch × merge within a pixel budget, normalise with CLIP statistics, and cut into flattened
/// patches ordered so each 2×2 merge group is contiguous.
public struct Qwen2VLImageProcessor: Sendable, Decodable {
    public var minPixels = 56 * 56
    public var maxPixels = 28 * 28 * 1280
    public var patchSize = 14
    public var temporalPatchSize = 2
    public var mergeSize = 2
    public var imageMean = ImageStatistics.clipMean
    public var imageStd = ImageStatistics.clipStd
    public var rescaleFactor = 1.0 / 255

    public init() {}

    /// The patches [gridH·gridW, 3·temporal·patch·patch] and grid (t, h, w) of one image.
    public struct Output: Equatable, Sendable {
        public let pixels: ProcessedPixels
        public let grid: (t: Int, h: Int, w: Int)
        public static func == (a: Output, b: Output) -> Bool { a.pixels == b.pixels && a.grid == b.grid }
    }

    /// `smart_resize`: both sides multiples of `factor`, the area within [minPixels, maxPixels],
    /// the aspect ratio kept as closely as that allows (Python's half-to-even `round`).
    public static func smartResize(height: Int, width: Int, factor: Int, minPixels: Int, maxPixels: Int) throws -> (height: Int, width: Int) {
        let (h, w, f) = (Double(height), Double(width), Double(factor))
        guard max(h, w) / min(h, w) <= 200 else {
            throw ImageError(file: "", message: "aspect ratio \(max(h, w) / min(h, w)) is over 200, which Qwen2-VL refuses")
        }
        var hBar = (h / f).rounded(.toNearestOrEven) * f, wBar = (w / f).rounded(.toNearestOrEven) * f
        if hBar * wBar > Double(maxPixels) {
            let beta = ((h * w) / Double(maxPixels)).squareRoot()
            hBar = max(f, (h / beta / f).rounded(.down) * f)
            wBar = max(f, (w / beta / f).rounded(.down) * f)
        } else if hBar * wBar < Double(minPixels) {
            let beta = (Double(minPixels) / (h * w)).squareRoot()
            hBar = (h * beta / f).rounded(.up) * f
            wBar = (w * beta / f).rounded(.up) * f
        }
        return (Int(hBar), Int(wBar))
    }

    public func callAsFunction(_ image: RGBImage) throws -> Output {
        let (height, width) = try Self.smartResize(height: image.height, width: image.width, factor: patchSize * mergeSize,
                                                   minPixels: minPixels, maxPixels: maxPixels)
        let resized = image.resized(width: width, height: height, filter: .bicubic)
        let planes = ChannelNormalisation(rescaleFactor: rescaleFactor, mean: imageMean, std: imageStd).channelFirst(resized)
        let (gridH, gridW, p, m, t) = (height / patchSize, width / patchSize, patchSize, mergeSize, temporalPatchSize)
        let patchDim = 3 * t * p * p
        var out = [Float](repeating: 0, count: gridH * gridW * patchDim)
        var row = 0
        // Rows: merge block (bh, bw), then its m×m patches; columns: channel, time, py, px.
        for bh in 0..<(gridH / m) {
            for bw in 0..<(gridW / m) {
                for mh in 0..<m {
                    for mw in 0..<m {
                        let (y0, x0) = ((bh * m + mh) * p, (bw * m + mw) * p)
                        var col = row * patchDim
                        for c in 0..<3 {
                            for _ in 0..<t {  // a still image repeats along time
                                for py in 0..<p {
                                    let base = c * height * width + (y0 + py) * width + x0
                                    for px in 0..<p { out[col + px] = planes[base + px] }
                                    col += p
                                }
                            }
                        }
                        row += 1
                    }
                }
            }
        }
        return Output(pixels: ProcessedPixels(values: out, shape: [gridH * gridW, patchDim]), grid: (1, gridH, gridW))
    }

    // preprocessor_config.json: min/max pixels either flat or as size.shortest_edge/longest_edge.
    enum CodingKeys: String, CodingKey {
        case minPixels = "min_pixels", maxPixels = "max_pixels", patchSize = "patch_size", temporalPatchSize = "temporal_patch_size"
        case mergeSize = "merge_size", imageMean = "image_mean", imageStd = "image_std", rescaleFactor = "rescale_factor", size
    }

    struct Size: Decodable {
        let shortestEdge: Int?, longestEdge: Int?
        enum CodingKeys: String, CodingKey { case shortestEdge = "shortest_edge", longestEdge = "longest_edge" }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let size = try c.decodeIfPresent(Size.self, forKey: .size)
        minPixels = try c.decodeIfPresent(Int.self, forKey: .minPixels) ?? size?.shortestEdge ?? minPixels
        maxPixels = try c.decodeIfPresent(Int.self, forKey: .maxPixels) ?? size?.longestEdge ?? maxPixels
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? patchSize
        temporalPatchSize = try c.decodeIfPresent(Int.self, forKey: .temporalPatchSize) ?? temporalPatchSize
        mergeSize = try c.decodeIfPresent(Int.self, forKey: .mergeSize) ?? mergeSize
        imageMean = try c.decodeIfPresent([Double].self, forKey: .imageMean) ?? imageMean
        imageStd = try c.decodeIfPresent([Double].self, forKey: .imageStd) ?? imageStd
        rescaleFactor = try c.decodeIfPresent(Double.self, forKey: .rescaleFactor) ?? rescaleFactor
    }
}
