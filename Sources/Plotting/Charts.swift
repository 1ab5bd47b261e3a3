import Foundation

/// The plot area and axes shared by the charts: margins, ticks at "nice" values, grid lines.
struct Axes {
    let left = 78.0, top = 44.0, right: Double, bottom: Double
    let xRange: ClosedRange<Double>, yRange: ClosedRange<Double>

    init(canvas: Canvas, x: ClosedRange<Double>, y: ClosedRange<Double>, rightMargin: Double = 24) {
        right = Double(canvas.width) - rightMargin
        bottom = Double(canvas.height) - 56
        xRange = x
        yRange = y
    }

    func px(_ x: Double) -> Double { left + (x - xRange.lowerBound) / Swift.max(xRange.upperBound - xRange.lowerBound, 1e-12) * (right - left) }
    func py(_ y: Double) -> Double { bottom - (y - yRange.lowerBound) / Swift.max(yRange.upperBound - yRange.lowerBound, 1e-12) * (bottom - top) }

    /// Frame, title, axis labels, y grid with ticks; x ticks as given (value, label).
    func draw(on c: inout Canvas, title: String, xLabel: String, yLabel: String, xTicks: [(Double, String)]) {
        for t in Self.ticks(yRange) {
            c.line(left, py(t), right, py(t), .grid, thickness: 1)
            c.text(Self.label(t), x: left - 8, y: py(t) - 8, anchor: .right)
        }
        for (v, s) in xTicks {
            c.line(px(v), bottom, px(v), bottom + 5, .text, thickness: 1)
            c.text(s, x: px(v), y: bottom + 8, anchor: .center)
        }
        c.line(left, top, left, bottom, .text, thickness: 1)
        c.line(left, bottom, right, bottom, .text, thickness: 1)
        c.text(title, x: (left + right) / 2, y: 12, anchor: .center)
        c.text(xLabel, x: (left + right) / 2, y: bottom + 30, anchor: .center)
        c.verticalText(yLabel, x: 18, y: (top + bottom) / 2)
    }

    /// About five ticks at 1, 2 or 5 × 10^k steps.
    static func ticks(_ r: ClosedRange<Double>) -> [Double] {
        let span = r.upperBound - r.lowerBound
        guard span > 0 else { return [r.lowerBound] }
        let raw = span / 5, magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw }!
        var out: [Double] = [], t = (r.lowerBound / step).rounded(.up) * step
        while t <= r.upperBound + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e6 { return String(Int(v)) }
        return String(format: abs(v) >= 0.1 ? "%.2g" : "%.1e", v).replacingOccurrences(of: "e-0", with: "e-")
    }

    /// A range with some headroom around the data.
    static func padded(_ values: [Double], includeZero: Bool = false) -> ClosedRange<Double> {
        var lo = values.min() ?? 0, hi = values.max() ?? 1
        if includeZero { lo = Swift.min(lo, 0) }
        if hi - lo < 1e-9 { hi += 0.5; lo -= includeZero ? 0 : 0.5 }
        let pad = (hi - lo) * 0.08
        return (includeZero && lo >= 0 ? 0 : lo - pad)...(hi + pad)
    }
}

/// A bar chart with value labels and an optional dashed reference line (weights: 1 = unweighted).
public struct BarChart {
    public var title: String, xLabel: String, yLabel: String
    public var bars: [(label: String, value: Double)]
    public var reference: Double?
    public var highlight: Set<String> = []

    public init(title: String, xLabel: String, yLabel: String, bars: [(label: String, value: Double)], reference: Double? = nil, highlight: Set<String> = []) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.bars = bars; self.reference = reference; self.highlight = highlight
    }

    public func render(width: Int = 760, height: Int = 440) -> Canvas {
        var c = Canvas(width: width, height: height)
        let y = Axes.padded(bars.map(\.value) + (reference.map { [$0] } ?? []), includeZero: true)
        let n = Double(bars.count)
        let axes = Axes(canvas: c, x: 0...n, y: y)
        let ticks = bars.enumerated().map { (Double($0.offset) + 0.5, $0.element.label) }
        axes.draw(on: &c, title: title, xLabel: xLabel, yLabel: yLabel, xTicks: ticks)
        let slot = (axes.right - axes.left) / n
        for (i, bar) in bars.enumerated() {
            let x0 = axes.left + slot * (Double(i) + 0.15), top = axes.py(bar.value)
            let color = highlight.contains(bar.label) ? Color.palette[3] : Color.palette[0]
            c.fill(x: Int(x0), y: Int(top), width: Int(slot * 0.7), height: Int(axes.bottom - top), color)
            c.text(String(format: "%.2f", bar.value), x: x0 + slot * 0.35, y: top - 18, anchor: .center)
        }
        if let reference { c.line(axes.left, axes.py(reference), axes.right, axes.py(reference), .text, thickness: 1, dash: 6) }
        return c
    }
}

/// Lines through (x, y) points with markers and a legend; x can be drawn on a log₂ scale.
public struct LineChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var markers: Bool
        public var dashed: Bool
        /// Without lines, a series with markers is a scatter plot.
        public var lines: Bool
        public init(name: String, points: [(x: Double, y: Double)], markers: Bool = false, dashed: Bool = false, lines: Bool = true) {
            self.name = name; self.points = points; self.markers = markers; self.dashed = dashed; self.lines = lines
        }
    }

    public var title: String, xLabel: String, yLabel: String
    public var series: [Series]
    public var logX = false
    public var xTicks: [Double]?

    public init(title: String, xLabel: String, yLabel: String, series: [Series], logX: Bool = false, xTicks: [Double]? = nil) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.logX = logX; self.xTicks = xTicks
    }

    public func render(width: Int = 760, height: Int = 440) -> Canvas {
        var c = Canvas(width: width, height: height)
        let legendWidth = Double(series.map { Font.width(of: $0.name) }.max() ?? 0) + 48
        func tx(_ x: Double) -> Double { logX ? log2(x) : x }
        let xs = series.flatMap { $0.points.map { tx($0.x) } }, ys = series.flatMap { $0.points.map(\.y) }
        let axes = Axes(canvas: c, x: (xs.min() ?? 0)...Swift.max(xs.max() ?? 1, (xs.min() ?? 0) + 1e-9), y: Axes.padded(ys),
                        rightMargin: legendWidth + 16)
        let ticks = (xTicks ?? Axes.ticks(axes.xRange).map { logX ? pow(2, $0) : $0 }).map { (tx($0), Axes.label($0)) }
        axes.draw(on: &c, title: title, xLabel: xLabel, yLabel: yLabel, xTicks: ticks)
        for (i, s) in series.enumerated() {
            let color = Color.palette[i % Color.palette.count]
            let p = s.points.map { (axes.px(tx($0.x)), axes.py($0.y)) }
            // Earlier series are drawn wider, so a later one lying on top of them leaves them visible.
            let width = 2 + Double(series.count - 1 - i) * 0.75
            if s.lines { for (a, b) in zip(p, p.dropFirst()) { c.line(a.0, a.1, b.0, b.1, color, thickness: width, dash: s.dashed ? 5 : nil) } }
            if s.markers { for q in p { c.disc(q.0, q.1, radius: 2 + width, color) } }
            let ly = axes.top + 4 + Double(i) * 20
            c.line(axes.right + 16, ly + 9, axes.right + 40, ly + 9, color, thickness: 2, dash: s.dashed ? 5 : nil)
            c.text(s.name, x: axes.right + 46, y: ly)
        }
        return c
    }
}
