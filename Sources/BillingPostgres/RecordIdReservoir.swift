import Synchronization

/// Record ids a lane took from the sequence ahead of need, handed out in the order taken,
/// so one lane's records (and so one user's) keep ascending ids. A batch applied without
/// reading first (`BatchApplier.applyKnown`) has no read to take its ids in.
final class RecordIdReservoir: Sendable {
    private let ids = Mutex<(stock: [Int64], head: Int)>(([], 0))

    /// How many a lane keeps at hand: a batch of 1,024 deductions needs up to 2,048.
    static let target = 4_096
    /// Below this many a batch applied without reading first takes the lane back to `target`;
    /// at or above it, the next such batch (2,048 ids at most) still finds its ids at hand.
    static let lowWater = 2_048

    var count: Int { ids.withLock { $0.stock.count - $0.head } }

    func add(_ taken: [Int64]) {
        ids.withLock { ids in
            // Handed-out ids are dropped once they are half the storage (amortised O(1) an id).
            if ids.head > 0, ids.head * 2 >= ids.stock.count {
                ids.stock.removeFirst(ids.head)
                ids.head = 0
            }
            ids.stock.append(contentsOf: taken)
        }
    }

    /// The next `count` ids, or nil (nothing taken) when fewer are at hand.
    func take(_ count: Int) -> [Int64]? {
        ids.withLock { ids in
            guard ids.stock.count - ids.head >= count else { return nil }
            let taken = Array(ids.stock[ids.head..<(ids.head + count)])
            ids.head += count
            return taken
        }
    }

    /// How many to take to be back at `target` after handing out `needed`.
    func shortfall(after needed: Int) -> Int { max(0, Self.target + needed - count) }

    /// How many a batch that reads nothing should take for later ones: none while at least
    /// `lowWater` are at hand, else back to `target`.
    func refill() -> Int { count < Self.lowWater ? shortfall(after: 0) : 0 }
}
