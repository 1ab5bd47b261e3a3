/// An 8-bit RGB image, rows top to bottom.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// width × height × 3 bytes.
    public let pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "\(pixels.count) bytes for \(width) x \(height) RGB")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The image as a camera's EXIF orientation (1–8) says to show it, as Pillow's
    /// `ImageOps.exif_transpose`; other values leave it as it is.
    public func oriented(_ orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let (w, h) = (width, height)
        let swaps = orientation >= 5
        let (ow, oh) = swaps ? (h, w) : (w, h)
        // For each output pixel, the source pixel it shows.
        let source: (Int, Int) -> (Int, Int) = switch orientation {
        case 2: { x, y in (w - 1 - x, y) }          // mirrored
        case 3: { x, y in (w - 1 - x, h - 1 - y) }  // upside down
        case 4: { x, y in (x, h - 1 - y) }          // flipped
        case 5: { x, y in (y, x) }                  // transposed
        case 6: { x, y in (y, h - 1 - x) }          // turned a quarter clockwise
        case 7: { x, y in (w - 1 - y, h - 1 - x) }  // transversed
        default: { x, y in (w - 1 - y, x) }         // 8: a quarter counter-clockwise
        }
        var out = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<oh {
            for x in 0..<ow {
                let (sx, sy) = source(x, y)
                let (s, t) = ((sy * w + sx) * 3, (y * ow + x) * 3)
                out[t] = pixels[s]
                out[t + 1] = pixels[s + 1]
                out[t + 2] = pixels[s + 2]
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}
