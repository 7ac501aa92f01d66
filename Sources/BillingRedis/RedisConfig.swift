/// Where the cache's Redis is and how long to wait for it.
public struct RedisConfig: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var connectTimeoutMilliseconds: Int
    public var commandTimeoutMilliseconds: Int

    public init(
        host: String = "127.0.0.1", port: Int = 63799, connectTimeoutMilliseconds: Int = 500,
        commandTimeoutMilliseconds: Int = 500
    ) {
        self.host = host
        self.port = port
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.commandTimeoutMilliseconds = commandTimeoutMilliseconds
    }
}
