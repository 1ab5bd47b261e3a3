import Foundation

public struct TokenizerError: Error, CustomStringConvertible {
    public let source: String
    public let message: String
    public var description: String { "\(source): \(message)" }
}

/// Byte-level BPE as GPT-2, Llama 3, Qwen2 and SmolLM2 use it: added tokens are cut out
/// first and kept whole, the rest is pre-tokenised, mapped to byte-level scalars and merged
/// pair by pair in rank order.
public final class BPETokenizer {
    public let vocabulary: [String: Int]
    public let tokens: [String]
    public let preTokenizer: PreTokenizer
    /// Tokens matched literally before pre-tokenisation, longest first.
    public let addedTokens: [String]
    private let addedTokenIDs: Set<Int>
    private let addedTokenBytes: [[UInt8]]
    private let addedTokenFirstBytes: Set<UInt8>
    public let specialTokenIDs: Set<Int>
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let padTokenID: Int?
    /// Whether `encode` puts BOS in front (the tokenizer's own setting).
    public let addsBOS: Bool
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// The token id of each byte's byte-level scalar, -1 where the vocabulary has none.
    private let byteIDs: [Int32]
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()

    /// Checks that every merge result and added token is in the vocabulary (`source` names the
    /// file in errors).
    public init(tokens: [String], merges: [String], addedTokens: [String], specialTokenIDs: Set<Int>,
                preTokenizer: PreTokenizer, bos: Int?, eos: Int?, pad: Int?, addsBOS: Bool, source: String) throws {
        self.tokens = tokens
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where vocabulary[t] == nil { vocabulary[t] = i }
        self.vocabulary = vocabulary
        var merged: [UInt64: UInt64] = [:]
        merged.reserveCapacity(merges.count)
        for (rank, m) in merges.enumerated() {
            let parts = m.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, let left = vocabulary[parts[0]], let right = vocabulary[parts[1]],
                  let result = vocabulary[parts[0] + parts[1]] else {
                throw TokenizerError(source: source, message: "merge \(rank) '\(m)' is not two tokens of the vocabulary joining into a third")
            }
            let key = UInt64(left) << 32 | UInt64(right)
            if merged[key] == nil { merged[key] = UInt64(rank) << 32 | UInt64(result) }
        }
        self.merges = merged
        byteIDs = ByteLevel.byteToScalar.map { vocabulary[String($0)].map(Int32.init) ?? -1 }
        for t in addedTokens where vocabulary[t] == nil {
            throw TokenizerError(source: source, message: "added token '\(t)' is not in the vocabulary")
        }
        for (name, id) in [("bos", bos), ("eos", eos), ("pad", pad)] {
            if let id, !(0..<tokens.count).contains(id) {
                throw TokenizerError(source: source, message: "\(name) token id \(id) is outside the vocabulary of \(tokens.count)")
            }
        }
        self.addedTokens = addedTokens.sorted { $0.count > $1.count }
        addedTokenBytes = addedTokens.map { Array($0.utf8) }.filter { !$0.isEmpty }.sorted { $0.count > $1.count }
        addedTokenFirstBytes = Set(addedTokenBytes.map { $0[0] })
        addedTokenIDs = Set(addedTokens.compactMap { vocabulary[$0] })
        self.specialTokenIDs = specialTokenIDs
        self.preTokenizer = preTokenizer
        bosTokenID = bos
        eosTokenID = eos
        padTokenID = pad
        self.addsBOS = addsBOS
    }

    public var vocabularySize: Int { tokens.count }

    public func id(of token: String) -> Int? { vocabulary[token] }

    /// Token ids of `text`. `addBOS` overrides the tokenizer's own setting.
    public func encode(_ text: String, addBOS: Bool? = nil) -> [Int] {
        var ids: [Int] = []
        if addBOS ?? addsBOS, let bos = bosTokenID { ids.append(bos) }
        for (piece, isAdded) in splitOnAddedTokens(text) {
            if isAdded {
                ids.append(vocabulary[piece]!)
                continue
            }
            for word in preTokenizer.split(piece) { ids += bpe(word) }
        }
        return ids
    }

    /// The text of `ids`; special tokens are dropped when `skipSpecial`.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            if skipSpecial && specialTokenIDs.contains(id) { continue }
            if addedTokenIDs.contains(id) || specialTokenIDs.contains(id) {
                bytes.append(contentsOf: tokens[id].utf8)
            } else {
                ByteLevel.decode(tokens[id], into: &bytes)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The text cut into plain runs and added tokens (matched longest first), in one pass
    /// over its UTF-8 bytes.
    private func splitOnAddedTokens(_ text: String) -> [(String, Bool)] {
        let bytes = Array(text.utf8)
        var out: [(String, Bool)] = []
        var plainStart = 0, i = 0
        while i < bytes.count {
            guard addedTokenFirstBytes.contains(bytes[i]),
                  let token = addedTokenBytes.first(where: { bytes.count - i >= $0.count && bytes[i..<(i + $0.count)].elementsEqual($0) }) else {
                i += 1
                continue
            }
            if plainStart < i { out.append((String(decoding: bytes[plainStart..<i], as: UTF8.self), false)) }
            out.append((String(decoding: token, as: UTF8.self), true))
            i += token.count
            plainStart = i
        }
        if plainStart < bytes.count { out.append((plainStart == 0 ? text : String(decoding: bytes[plainStart...], as: UTF8.self), false)) }
        return out
    }

    /// Merges one pre-token: repeatedly joins the adjacent pair of lowest merge rank
    /// (leftmost first among equals), as the reference BPE does. The pairs wait in a heap and
    /// the symbols form a linked list, so a word of n bytes takes O(n log n), not O(n²).
    private func bpe(_ word: String) -> [Int] {
        let cacheable = word.utf8.count <= 256
        if cacheable {
            lock.lock()
            if let hit = cache[word] { lock.unlock(); return hit }
            lock.unlock()
        }
        var ids = word.utf8.map { byteIDs[Int($0)] }
        guard !ids.isEmpty else { return [] }
        var next = Array(1...ids.count), previous = Array(-1..<(ids.count - 1))
        next[ids.count - 1] = -1
        // rank << 32 | left position: the heap's minimum is the lowest rank, leftmost.
        var heap = MinHeap()
        func mergeAt(_ i: Int) -> UInt64? {
            let j = next[i]
            guard j >= 0, ids[i] >= 0, ids[j] >= 0 else { return nil }
            return merges[UInt64(ids[i]) << 32 | UInt64(ids[j])]
        }
        func entry(_ merge: UInt64, _ i: Int) -> UInt64 { merge & 0xFFFF_FFFF_0000_0000 | UInt64(i) }
        for i in ids.indices { if let m = mergeAt(i) { heap.push(entry(m, i)) } }
        while let top = heap.pop() {
            let i = Int(top & 0xFFFF_FFFF)
            // Entries of merged-away symbols or of pairs that changed since are stale.
            guard ids[i] >= 0, let m = mergeAt(i), m >> 32 == top >> 32 else { continue }
            let j = next[i]
            ids[i] = Int32(m & 0xFFFF_FFFF)
            ids[j] = -2
            next[i] = next[j]
            if next[j] >= 0 { previous[next[j]] = i }
            if previous[i] >= 0, let p = mergeAt(previous[i]) { heap.push(entry(p, previous[i])) }
            if let n = mergeAt(i) { heap.push(entry(n, i)) }
        }
        // A byte without a token of its own (SmolLM2 lacks a few control bytes) is dropped, as
        // Hugging Face's BPE does when there is no unk token.
        var out: [Int] = []
        var i = 0
        while i >= 0 {
            if ids[i] >= 0 { out.append(Int(ids[i])) }
            i = next[i]
        }
        if cacheable {
            lock.lock()
            if cache.count > 50_000 { cache.removeAll(keepingCapacity: true) }
            cache[word] = out
            lock.unlock()
        }
        return out
    }
}

/// A binary min-heap of packed keys.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ x: UInt64) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l] < items[m] { m = l }
                if r < items.count && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
