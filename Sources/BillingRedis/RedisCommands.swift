/// What the cache sends to Redis: one server's connection, or a cluster client that routes
/// each command to the node holding its key. Used by one thread at a time (a pool worker's).
public protocol RedisCommands: AnyObject, Sendable {
    func command(_ arguments: [String]) throws(RedisError) -> RedisReply
    func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply]
    /// False once the connection must be replaced.
    var isUsable: Bool { get }
    /// Whether keys live on nodes by their slot (a cluster): a command's keys must then
    /// share one.
    var routesBySlot: Bool { get }
    func close()
}
