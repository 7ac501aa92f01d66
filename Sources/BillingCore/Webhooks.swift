import Foundation

/// An operator-registered receiver of events.
public struct WebhookEndpoint: Sendable, Hashable {
    public let id: Int64
    public let url: String
    public let events: [BillingEventType]
    public let createdAt: Date

    public init(id: Int64, url: String, events: [BillingEventType], createdAt: Date) {
        self.id = id
        self.url = url
        self.events = events
        self.createdAt = createdAt
    }

    /// Validates a registration: an absolute http(s) URL, a secret of 16+ characters, known
    /// event types (at least one).
    public static func validate(url: String, secret: String, events: [String]) throws(BillingError)
        -> [BillingEventType]
    {
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.utf8.count <= 2_048,
            !url.contains(where: \.isWhitespace), URL(string: url)?.host != nil
        else { throw .invalidArgument(field: "url", reason: "must be an absolute http(s) URL") }
        guard secret.utf8.count >= 16, secret.utf8.count <= 256 else {
            throw .invalidArgument(field: "secret", reason: "must be 16 to 256 characters")
        }
        guard !events.isEmpty else { throw .invalidArgument(field: "events", reason: "name at least one event type") }
        var types: [BillingEventType] = []
        for name in events {
            guard let type = BillingEventType(rawValue: name) else {
                throw .invalidArgument(
                    field: "events",
                    reason: "unknown event type '\(name)'; one of \(BillingEventType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !types.contains(type) { types.append(type) }
        }
        return types
    }
}

/// When a failed delivery is tried again: after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h;
/// then it is `failed`.
public struct RetrySchedule: Sendable, Hashable {
    public static let standard = RetrySchedule(delays: [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000])

    /// Seconds to wait after the 1st, 2nd, … failed attempt.
    public let delays: [TimeInterval]

    public init(delays: [TimeInterval]) { self.delays = delays }

    /// The wait after `attempts` failed attempts, or nil when the delivery has failed for good.
    public func delay(afterAttempts attempts: Int) -> TimeInterval? {
        guard attempts >= 1, attempts <= delays.count else { return nil }
        return delays[attempts - 1]
    }
}
