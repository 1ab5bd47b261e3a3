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
    public let specialTokenIDs: Set<Int>
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let padTokenID: Int?
    /// Whether `encode` puts BOS in front (the tokenizer's own setting).
    public let addsBOS: Bool
    private let mergeRanks: [String: Int]
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
        var ranks: [String: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (i, m) in merges.enumerated() where ranks[m] == nil { ranks[m] = i }
        mergeRanks = ranks
        for (i, m) in merges.enumerated() {
            let parts = m.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, vocabulary[String(parts[0]) + String(parts[1])] != nil else {
                throw TokenizerError(source: source, message: "merge \(i) '\(m)' does not produce a token of the vocabulary")
            }
        }
        for t in addedTokens where vocabulary[t] == nil {
            throw TokenizerError(source: source, message: "added token '\(t)' is not in the vocabulary")
        }
        for (name, id) in [("bos", bos), ("eos", eos), ("pad", pad)] {
            if let id, !(0..<tokens.count).contains(id) {
                throw TokenizerError(source: source, message: "\(name) token id \(id) is outside the vocabulary of \(tokens.count)")
            }
        }
        self.addedTokens = addedTokens.sorted { $0.count > $1.count }
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

    private func splitOnAddedTokens(_ text: String) -> [(String, Bool)] {
        guard addedTokens.contains(where: { text.contains($0) }) else {
            return [(text, false)]
        }
        var out: [(String, Bool)] = []
        var rest = Substring(text)
        var plain = ""
        outer: while !rest.isEmpty {
            for token in addedTokens where rest.hasPrefix(token) {
                if !plain.isEmpty { out.append((plain, false)); plain = "" }
                out.append((token, true))
                rest = rest.dropFirst(token.count)
                continue outer
            }
            plain.append(rest.removeFirst())
        }
        if !plain.isEmpty { out.append((plain, false)) }
        return out
    }

    /// Merges one pre-token: repeatedly joins the adjacent pair of lowest merge rank
    /// (leftmost first among equals), as the reference BPE does.
    private func bpe(_ word: String) -> [Int] {
        lock.lock()
        if let hit = cache[word] { lock.unlock(); return hit }
        lock.unlock()
        var symbols = ByteLevel.encode(word).unicodeScalars.map { String($0) }
        while symbols.count > 1 {
            var best = Int.max, at = -1
            for i in 0..<(symbols.count - 1) {
                if let r = mergeRanks[symbols[i] + " " + symbols[i + 1]], r < best { best = r; at = i }
            }
            if at < 0 { break }
            symbols[at] += symbols[at + 1]
            symbols.remove(at: at + 1)
        }
        // Merge results are checked in init. A byte without a token of its own (SmolLM2 lacks a
        // few control bytes) is dropped, as Hugging Face's BPE does when there is no unk token.
        let ids = symbols.compactMap { vocabulary[$0] }
        lock.lock()
        if cache.count > 50_000 { cache.removeAll(keepingCapacity: true) }
        cache[word] = ids
        lock.unlock()
        return ids
    }
}
