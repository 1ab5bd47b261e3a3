import Foundation

/// InternVL's dynamic tiling (transformers' `GotOcr2ImageProcessor` with `crop_to_patches`, as
/// the InternVL3 HF checkpoints configure it): resize to the tile grid whose aspect ratio is
/// closest to the image's, cut into square tiles, add a thumbnail of the whole image when there
/// is more than one tile, normalise with ImageNet statistics.
public struct InternVLImageProcessor: Sendable, Decodable {
    public var tileSize = 448
    public var minTiles = 1
    public var maxTiles = 12
    public var cropToTiles = true
    public var imageMean = ImageStatistics.imageNetMean
    public var imageStd = ImageStatistics.imageNetStd
    public var rescaleFactor = 1.0 / 255

    public init(maxTiles: Int = 12) { self.maxTiles = maxTiles }

    /// (columns, rows) of tiles: the closest aspect ratio; on a tie the larger grid, while the
    /// image covers more than half of it.
    public static func tileGrid(height: Int, width: Int, tileSize: Int, minTiles: Int, maxTiles: Int) -> (columns: Int, rows: Int) {
        var grids: [(Int, Int)] = []
        for w in 1...maxTiles {
            for h in 1...maxTiles where (minTiles...maxTiles).contains(w * h) { grids.append((w, h)) }
        }
        grids = grids.enumerated().sorted { ($0.element.0 * $0.element.1, $0.offset) < ($1.element.0 * $1.element.1, $1.offset) }.map(\.element)
        let aspect = Double(width) / Double(height), area = Double(width * height)
        var best = (1, 1), bestDiff = Double.infinity
        for g in grids {
            let diff = abs(aspect - Double(g.0) / Double(g.1))
            if diff < bestDiff {
                bestDiff = diff
                best = g
            } else if diff == bestDiff && area > 0.5 * Double(tileSize * tileSize * g.0 * g.1) {
                best = g
            }
        }
        return best
    }

    /// The tiles [n, 3, tileSize, tileSize], in reading order, then the thumbnail.
    public func callAsFunction(_ image: RGBImage) -> ProcessedPixels {
        var tiles: [RGBImage]
        if cropToTiles && maxTiles > 1 {
            let (columns, rows) = Self.tileGrid(height: image.height, width: image.width, tileSize: tileSize, minTiles: minTiles, maxTiles: maxTiles)
            let canvas = image.resized(width: columns * tileSize, height: rows * tileSize, filter: .bicubic)
            tiles = (0..<(columns * rows)).map { canvas.cropped(x: ($0 % columns) * tileSize, y: ($0 / columns) * tileSize, width: tileSize, height: tileSize) }
            if tiles.count > 1 { tiles.append(image.resized(width: tileSize, height: tileSize, filter: .bicubic)) }
        } else {
            tiles = [image.resized(width: tileSize, height: tileSize, filter: .bicubic)]
        }
        let normalisation = ChannelNormalisation(rescaleFactor: rescaleFactor, mean: imageMean, std: imageStd)
        return ProcessedPixels(values: tiles.flatMap(normalisation.channelFirst), shape: [tiles.count, 3, tileSize, tileSize])
    }

    enum CodingKeys: String, CodingKey {
        case size, minPatches = "min_patches", maxPatches = "max_patches", cropToPatches = "crop_to_patches"
        case imageMean = "image_mean", imageStd = "image_std", rescaleFactor = "rescale_factor"
    }

    struct Size: Decodable { let height: Int?, width: Int? }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let size = try c.decodeIfPresent(Size.self, forKey: .size) {
            guard let h = size.height, h == size.width ?? h else {
                throw DecodingError.dataCorruptedError(forKey: .size, in: c, debugDescription: "tiles must be square with a height")
            }
            tileSize = h
        }
        minTiles = try c.decodeIfPresent(Int.self, forKey: .minPatches) ?? minTiles
        maxTiles = try c.decodeIfPresent(Int.self, forKey: .maxPatches) ?? maxTiles
        cropToTiles = try c.decodeIfPresent(Bool.self, forKey: .cropToPatches) ?? cropToTiles
        imageMean = try c.decodeIfPresent([Double].self, forKey: .imageMean) ?? imageMean
        imageStd = try c.decodeIfPresent([Double].self, forKey: .imageStd) ?? imageStd
        rescaleFactor = try c.decodeIfPresent(Double.self, forKey: .rescaleFactor) ?? rescaleFactor
    }
}

extension RGBImage {
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> RGBImage {
        precondition(x >= 0 && y >= 0 && x + w <= width && y + h <= height, "crop outside the image")
        var out = [UInt8]()
        out.reserveCapacity(w * h * 3)
        for row in y..<(y + h) { out += pixels[((row * width + x) * 3)..<((row * width + x + w) * 3)] }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// The v1 DreamPRM policy: shrink (Lanczos) so the longest side is at most `longestSide`,
    /// each side truncated as the reference's `int(side * ratio)` does; smaller images are kept.
    public func limitingLongestSide(to longestSide: Int) -> RGBImage {
        let longest = max(width, height)
        guard longest > longestSide else { return self }
        let ratio = Double(longestSide) / Double(longest)
        return resized(width: max(1, Int(Double(width) * ratio)), height: max(1, Int(Double(height) * ratio)), filter: .lanczos)
    }
}
