/// A failure talking to Redis: the connection (replace it) or a reply the server refused.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The connection is unusable and must be replaced.
        case connection
        /// Redis answered with an error reply (e.g. NOSCRIPT, WRONGTYPE).
        case reply
    }

    public let kind: Kind
    public let message: String

    public var description: String { "Redis \(kind == .connection ? "connection" : "reply") error: \(message)" }
}
