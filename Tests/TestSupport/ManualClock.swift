import BillingCore
import Foundation
import Synchronization

/// A clock the test sets by hand (and that stays where it was set).
public final class ManualClock: BillingClock {
    private let instant: Mutex<Date>

    public init(_ instant: Date) { self.instant = Mutex(instant) }

    public func now() -> Date { instant.withLock { $0 } }

    public func set(_ date: Date) { instant.withLock { $0 = date } }

    /// Moves the clock on by `seconds`.
    public func advance(seconds: TimeInterval) { instant.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
