/// How the upper level's batches are drawn (`--batch_strata`).
public enum BatchStrata: String, Codable, CaseIterable, Sendable {
    /// As the reference: a shuffled order over all records (chains).
    case none
    /// Half labelled right and half wrong, each weighted by its label's share.
    case label
}

/// Draws batches from a population split into strata (e.g. steps labelled right and wrong): an
/// equal share of each batch from every stratum, through one seeded shuffled order per stratum,
/// each item weighted n_s·k / (n·k_s) (n_s of the n items in its stratum, k_s of the batch's k).
/// The weighted batch mean is then an unbiased estimate of the population mean, with no more
/// variance than a simple random sample's and much less where the strata differ: a batch of
/// steps labelled half right and half wrong no longer pushes every score one way.
public struct StratifiedSampler {
    /// Item indices of each non-empty stratum.
    public let strata: [[Int]]
    public var orders: [ShuffledOrder]

    public init(strata: [[Int]], seed: UInt64) {
        self.strata = strata.filter { !$0.isEmpty }
        orders = self.strata.enumerated().map { s, members in
            ShuffledOrder(count: members.count, seed: seed &+ UInt64(s) &* 0x9E37_79B9)
        }
    }

    /// The smallest batch that holds an item of every stratum.
    public var minimumBatch: Int { strata.count }

    /// k items, k/S from each of the S strata (the remainder to the first ones), and their weights.
    public mutating func take(_ k: Int) -> (items: [Int], weights: [Double]) {
        precondition(k >= minimumBatch, "a stratified batch needs an item of every stratum")
        let n = Double(strata.reduce(0) { $0 + $1.count })
        var items: [Int] = [], weights: [Double] = []
        for s in strata.indices {
            let share = k / strata.count + (s < k % strata.count ? 1 : 0)
            items += orders[s].take(share).map { strata[s][$0] }
            weights += Array(repeating: Double(strata[s].count) * Double(k) / (n * Double(share)), count: share)
        }
        return (items, weights)
    }
}
