import BillingCore

/// One payment as the sandbox keeps it: what billing asked for, where it stands, and
/// every callback delivery made for it.
public struct SandboxPayment: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case pending, succeeded, failed
    }

    /// One HTTP attempt to deliver a callback: billing's status code, or nil when the
    /// request got no answer (refused, timed out).
    public struct Delivery: Sendable, Hashable {
        public let outcome: String
        public let statusCode: Int?
        public let billingAnswer: String
    }

    public let id: String
    public let orderId: String
    public let uid: String
    /// The numeric user id billing sent, 0 when the user's id is not a number.
    public let userId: UInt64
    public let amountFen: Int64
    public let currency: String
    public let method: String
    public let subject: String
    public let returnURL: String
    public let notifyURL: String
    public let clientIP: String
    public internal(set) var status: Status = .pending
    public internal(set) var deliveries: [Delivery] = []

    public var amountText: String { Fen(amountFen).yuanText }
}
