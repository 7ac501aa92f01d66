import Foundation

// The ports (this folder) are the seams between the use cases and the outside world.
// Adapters (PostgreSQL, Redis, gRPC) implement them; tests and embedders implement them in
// memory. Every port reports failure as a BillingError, so the use cases and transports
// handle one error type.

/// The time the use cases run at: every period, order id and timestamp comes from it, so
/// tests and embedders can fix it.
public protocol BillingClock: Sendable {
    /// The current instant.
    func now() -> Date
}

/// The machine's clock.
public struct SystemClock: BillingClock {
    public init() {}
    public func now() -> Date { Date() }
}
