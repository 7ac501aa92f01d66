import Synchronization

/// Whether a lane's next batch reads the stored answers of its request ids before applying.
///
/// The read (`readIdempotency`) almost never finds anything, yet cost about a sixth of a
/// deduction's database time. Without it, a replayed request id that is accepted again makes
/// the insert of its idempotency row fail on the primary key, and one that is refused now
/// (the money spent since) might be a replay: either way nothing is committed and the batch
/// runs again with the read (`BatchApplier.apply`). A replay or a refusal costs its batch a
/// second attempt, never a wrong answer or a double charge. They come in runs (a gateway
/// retrying after a timeout, a user out of money), so after one the next `afterReplay`
/// batches read first.
final class ReplayWatch: Sendable {
    private let readsLeft = Mutex(0)
    let afterReplay: Int

    init(afterReplay: Int = 100) { self.afterReplay = afterReplay }

    /// Whether this batch reads first (counts it).
    func shouldRead() -> Bool {
        readsLeft.withLock { left in
            guard left > 0 else { return false }
            left -= 1
            return true
        }
    }

    func replaySeen() { readsLeft.withLock { $0 = afterReplay } }
}
