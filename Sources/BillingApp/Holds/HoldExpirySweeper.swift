import BillingCore
import BillingPostgres
import Foundation
import Logging
import ServiceLifecycle

/// Runs `HoldExpiry` every `interval` (1 s: holds expire within 5 s of `expiresAt`), and
/// reports the expiry lag and the fen pending holds keep.
public struct HoldExpirySweeper: Service {
    public static let defaultInterval: Duration = .seconds(1)

    let expiry: HoldExpiry
    let holds: PostgresHolds
    let metrics: BillingMetrics?
    let logger: Logger
    var interval: Duration = Self.defaultInterval

    init(holds: PostgresHolds, ledger: any OperationLedger, clock: any BillingClock, metrics: BillingMetrics?, logger: Logger) {
        self.expiry = HoldExpiry(holds: holds, ledger: ledger, clock: clock)
        self.holds = holds
        self.metrics = metrics
        self.logger = logger
    }

    /// Sweeps until graceful shutdown; a pass in flight finishes (its expiries go through
    /// the lanes, which stop after it).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweepOnce()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass; returns how many holds it expired.
    @discardableResult
    public func sweepOnce() async -> Int {
        do {
            let expired = try await expiry.sweepOnce()
            for hold in expired {
                metrics?.holdExpired(lag: (hold.resolvedAt ?? hold.expiresAt).timeIntervalSince(hold.expiresAt))
            }
            metrics?.heldFen(try await holds.heldFen())
            return expired.count
        } catch {
            logger.warning("hold sweep failed", metadata: ["error": "\(error)"])
            return 0
        }
    }
}
