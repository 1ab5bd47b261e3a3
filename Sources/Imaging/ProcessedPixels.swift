/// Normalised pixels for a vision tower: row-major float32 `values` of `shape`.
public struct ProcessedPixels: Equatable, Sendable {
    public let values: [Float]
    public let shape: [Int]

    public init(values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.values = values
        self.shape = shape
    }
}

/// Per-channel normalisation as the Hugging Face processors do it: bytes times the rescale
/// factor in double precision, rounded to float, then (x − mean) / std in float.
struct ChannelNormalisation: Sendable {
    let rescaleFactor: Double
    let mean: [Float]
    let std: [Float]

    init(rescaleFactor: Double, mean: [Double], std: [Double]) {
        self.rescaleFactor = rescaleFactor
        self.mean = mean.map(Float.init)
        self.std = std.map(Float.init)
    }

    /// Channel-first [3, H, W] floats of an image.
    func channelFirst(_ image: RGBImage) -> [Float] {
        let plane = image.width * image.height
        var out = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 {
                let x = Float(Double(image.pixels[i * 3 + c]) * rescaleFactor)
                out[c * plane + i] = (x - mean[c]) / std[c]
            }
        }
        return out
    }
}

public enum ImageStatistics {
    public static let clipMean = [0.48145466, 0.4578275, 0.40821073]
    public static let clipStd = [0.26862954, 0.26130258, 0.27577711]
    public static let imageNetMean = [0.485, 0.456, 0.406]
    public static let imageNetStd = [0.229, 0.224, 0.225]
}
