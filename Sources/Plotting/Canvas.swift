import Foundation

public struct Color: Equatable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    public static let white = Color(255, 255, 255), black = Color(0, 0, 0), grid = Color(225, 225, 225), text = Color(40, 40, 40)
    /// Tableau 10, the matplotlib default cycle.
    public static let palette = [Color(31, 119, 180), Color(255, 127, 14), Color(44, 160, 44), Color(214, 39, 40), Color(148, 103, 189),
                                 Color(140, 86, 75), Color(227, 119, 194), Color(127, 127, 127), Color(188, 189, 34), Color(23, 190, 207)]
}

/// An RGB raster with the few drawing operations charts need; anti-aliased text.
public struct Canvas {
    public let width: Int, height: Int
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: Color = .white) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    public func pixel(_ x: Int, _ y: Int) -> Color {
        let i = (y * width + x) * 3
        return Color(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Blends `color` over the pixel with coverage `alpha` in [0, 1].
    public mutating func blend(_ x: Int, _ y: Int, _ color: Color, alpha: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let i = (y * width + x) * 3, a = Swift.min(alpha, 1)
        for (k, c) in [color.r, color.g, color.b].enumerated() {
            pixels[i + k] = UInt8((Double(pixels[i + k]) * (1 - a) + Double(c) * a).rounded())
        }
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ color: Color) {
        for yy in Swift.max(0, y)..<Swift.min(height, y + h) where w > 0 {
            for xx in Swift.max(0, x)..<Swift.min(width, x + w) { blend(xx, yy, color) }
        }
    }

    /// A line of the given thickness, drawn as overlapping discs along its length.
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ color: Color, thickness: Double = 1.5, dash: Double? = nil) {
        let length = hypot(x1 - x0, y1 - y0), steps = Swift.max(1, Int(length * 2))
        let r = thickness / 2
        for s in 0...steps {
            let t = Double(s) / Double(steps)
            if let dash, Int(t * length / dash) % 2 == 1 { continue }
            let cx = x0 + (x1 - x0) * t, cy = y0 + (y1 - y0) * t
            for yy in Int((cy - r).rounded(.down))...Int((cy + r).rounded(.up)) {
                for xx in Int((cx - r).rounded(.down))...Int((cx + r).rounded(.up)) {
                    let d = hypot(Double(xx) + 0.5 - cx, Double(yy) + 0.5 - cy)
                    if d <= r { blend(xx, yy, color) }
                }
            }
        }
    }

    public mutating func disc(_ cx: Double, _ cy: Double, radius: Double, _ color: Color) {
        for yy in Int(cy - radius - 1)...Int(cy + radius + 1) {
            for xx in Int(cx - radius - 1)...Int(cx + radius + 1) {
                let d = hypot(Double(xx) + 0.5 - cx, Double(yy) + 0.5 - cy)
                blend(xx, yy, color, alpha: Swift.max(0, Swift.min(1, radius + 0.5 - d)))
            }
        }
    }

    public enum Anchor { case left, center, right }

    /// Text whose top edge is at `y`; `anchor` says where `x` is.
    public mutating func text(_ s: String, x: Double, y: Double, _ color: Color = .text, anchor: Anchor = .left) {
        let w = Font.width(of: s)
        var pen = Int(anchor == .left ? x : anchor == .center ? x - Double(w) / 2 : x - Double(w))
        for ch in s {
            guard let g = Font.glyph(ch) else { pen += 4; continue }
            for row in 0..<Font.height {
                for col in 0..<g.width {
                    let a = g.alpha[row * g.width + col]
                    if a > 0 { blend(pen + col, Int(y) + row, color, alpha: Double(a) / 255) }
                }
            }
            pen += g.advance
        }
    }

    /// Text rotated a quarter turn anticlockwise (a y-axis label), centred on (x, y).
    public mutating func verticalText(_ s: String, x: Double, y: Double, _ color: Color = .text) {
        var strip = Canvas(width: Font.width(of: s) + 2, height: Font.height)
        strip.text(s, x: 1, y: 0, .black)
        for sy in 0..<strip.height {
            for sx in 0..<strip.width {
                let coverage = 1 - Double(strip.pixels[(sy * strip.width + sx) * 3]) / 255
                blend(Int(x) - strip.height / 2 + sy, Int(y) + strip.width / 2 - sx, color, alpha: coverage)
            }
        }
    }

    public func png() -> Data { PNG.encode(width: width, height: height, rgb: pixels) }
}

/// The embedded glyph table (see FontData.swift).
enum Font {
    struct Glyph { let advance: Int, width: Int, alpha: [UInt8] }
    static let height = FontData.height
    static let glyphs: [Glyph] = {
        let bytes = [UInt8](Data(base64Encoded: FontData.base64, options: .ignoreUnknownCharacters)!)
        var out: [Glyph] = [], i = 0
        while i < bytes.count {
            let advance = Int(bytes[i]), width = Int(bytes[i + 1])
            out.append(Glyph(advance: advance, width: width, alpha: Array(bytes[(i + 2)..<(i + 2 + width * height)])))
            i += 2 + width * height
        }
        return out
    }()

    static func glyph(_ ch: Character) -> Glyph? {
        guard let v = ch.asciiValue, v >= 32, v < 127 else { return nil }
        return glyphs[Int(v) - 32]
    }

    static func width(of s: String) -> Int { s.reduce(0) { $0 + (glyph($1)?.advance ?? 4) } }
}
