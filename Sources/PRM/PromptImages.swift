import Foundation
import Imaging
import Models
import Torch

/// The images in the token sequences a PRM reads. Where an image sits, a sequence holds one
/// negative key per image token, −(1 + image × stride + offset), instead of the image-token id:
/// sequences stay `[Int]`, so tries, batches and caches treat them as any other; the prefixes of
/// one chain share their image's trie nodes, and two images never merge even when their token
/// counts agree. The vision tower is frozen: an image's features are computed once, without a
/// graph (its activations are gone once the projector has run), and kept for the last
/// `capacity` images used; an image dropped from there is read and encoded again when needed.
public final class PromptImages {
    public let backbone: VisionLanguageBackbone
    /// DreamPRM v1's policy (METHOD.md §2): images shrink so that their longest side is at most
    /// this before the processor, at train, meta and test time alike; nil keeps them.
    public let longestSide: Int?
    public let capacity: Int
    /// The longest image side of DreamPRM v1's scalar-head PRM.
    public static let v1LongestSide = 512
    static let stride = 1 << 24

    private var files: [URL] = [], serials: [URL: Int] = [:], layouts: [ImageLayout] = []
    private var features: [Int: Tensor] = [:], recent: [Int] = []

    public init(backbone: VisionLanguageBackbone, longestSide: Int?, capacity: Int = 256) {
        self.backbone = backbone
        self.longestSide = longestSide
        self.capacity = capacity
    }

    /// Reads `file`, checking that it decodes (an `ImageError` names it), and gives its keys.
    public func keys(of file: URL) throws -> [Int] {
        let serial = try register(file)
        return (0..<layouts[serial].tokens).map { -(1 + serial * Self.stride + $0) }
    }

    /// The tokens of a rendered prompt whose image placeholders stand, in order, for `images`.
    public func encode(_ text: String, images: [URL]) throws -> [Int] {
        let serials = try images.map(register)
        let ids = try backbone.expandImages(text, tokens: serials.map { layouts[$0].tokens })
        var out: [Int] = [], image = 0, offset = 0
        out.reserveCapacity(ids.count)
        for id in ids {
            guard id == backbone.imageTokenId else { out.append(id); continue }
            guard image < serials.count else { throw ConfigError(source: "prompt", message: "holds image tokens of its own: \(text.prefix(80))") }
            out.append(-(1 + serials[image] * Self.stride + offset))
            offset += 1
            if offset == layouts[serials[image]].tokens { (image, offset) = (image + 1, 0) }
        }
        return out
    }

    /// Decoder input embeddings [1, n, H] of keyed tokens: token embeddings, image features on the keys.
    func embeddings(_ keys: [Int]) throws -> Tensor {
        let language = backbone.language
        let ids = try Tensor(keys.map { Int64($0 < 0 ? backbone.imageTokenId : $0) }, shape: [1, keys.count]).to(language.device)
        let embedded = try language.embed(ids)
        let slots = keys.indices.filter { keys[$0] < 0 }
        guard !slots.isEmpty else { return embedded }
        // One gather over the features of the images present, in key order.
        var rows: [Int64] = [], present: [Int: Int] = [:], blocks: [Tensor] = []
        for slot in slots {
            let (serial, offset) = Self.split(keys[slot])
            if present[serial] == nil {
                present[serial] = blocks.reduce(0) { $0 + $1.size(0) }
                blocks.append(try imageFeatures(serial))
            }
            rows.append(Int64(present[serial]! + offset))
        }
        let hidden = embedded.size(2)
        let source = try Tensor.cat(blocks).to(embedded.dtype).indexSelect(dim: 0, index: Tensor(rows).to(language.device))
        let index = try Tensor(slots.map(Int64.init), shape: [slots.count, 1]).to(language.device).expand([slots.count, hidden])
        return try embedded.reshape([keys.count, hidden]).scatter(dim: 0, index: index, source: source).unsqueeze(0)
    }

    /// The decoder's positions of one keyed sequence: M-RoPE's (t, h, w) rows, or nil for 1-D.
    func ropePositions(_ keys: [Int]) throws -> [[Int]]? {
        var seen: [Int] = []
        for k in keys where k < 0 {
            let serial = Self.split(k).serial
            if seen.last != serial { seen.append(serial) }
        }
        return try backbone.ropePositions(keys.map { $0 < 0 ? backbone.imageTokenId : $0 }, layouts: seen.map { layouts[$0] })
    }

    private static func split(_ key: Int) -> (serial: Int, offset: Int) {
        let k = -key - 1
        return (k / stride, k % stride)
    }

    private func register(_ file: URL) throws -> Int {
        if let serial = serials[file] { return serial }
        let layout = try backbone.imageLayout(read(file))
        files.append(file)
        layouts.append(layout)
        serials[file] = files.count - 1
        return files.count - 1
    }

    private func read(_ file: URL) throws -> RGBImage {
        let image = try ImageFile.read(file)
        return longestSide.map { image.limitingLongestSide(to: $0) } ?? image
    }

    private func imageFeatures(_ serial: Int) throws -> Tensor {
        recent.removeAll { $0 == serial }
        recent.append(serial)
        if let cached = features[serial] { return cached }
        let computed = try Autograd.noGrad { try backbone.imageFeatures(read(files[serial])).detach() }
        guard computed.size(0) == layouts[serial].tokens else {
            throw ConfigError(source: files[serial].path, message: "gives \(computed.size(0)) image features for \(layouts[serial].tokens) image tokens")
        }
        features[serial] = computed
        while recent.count > capacity { features[recent.removeFirst()] = nil }
        return computed
    }
}

extension PromptImages {
    /// Where a record's image path points: absolute as given, relative from the data file's folder.
    public static func location(of path: String, inDataFile dataFile: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: dataFile).deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL
    }

    /// Runs `body`, an image that cannot be used becoming a `DataError` naming the record too.
    public static func reading<T>(file: String, record: Int, field: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as ImageError {
            throw DataError(file: file, record: record, field: field, message: "the image \(error)")
        }
    }
}

extension PromptEncoder {
    /// `encode(_:image:)` for record `record` of `file`, whose `field` holds the image path.
    public func encode(_ userText: String, image: String?, file: String, record: Int, field: String) throws -> [Int] {
        try PromptImages.reading(file: file, record: record, field: field) {
            try encode(userText, image: image.map { PromptImages.location(of: $0, inDataFile: file) })
        }
    }
}
