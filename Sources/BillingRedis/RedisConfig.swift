/// Where the cache's Redis is and how long to wait for it.
public struct RedisConfig: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Redis Cluster: the nodes to learn the slot map from (any of them will do; empty: one
    /// plain Redis at `host:port`).
    public var clusterNodes: [RedisNode]
    public var connectTimeoutMilliseconds: Int
    public var commandTimeoutMilliseconds: Int

    public init(
        host: String = "127.0.0.1", port: Int = 63799, clusterNodes: [RedisNode] = [],
        connectTimeoutMilliseconds: Int = 500, commandTimeoutMilliseconds: Int = 500
    ) {
        self.host = host
        self.port = port
        self.clusterNodes = clusterNodes
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.commandTimeoutMilliseconds = commandTimeoutMilliseconds
    }
}

/// One Redis server's address.
public struct RedisNode: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port` (the form of CLUSTER SLOTS' answers, MOVED and ASK redirections, and the
    /// configuration); nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65_535).contains(port), colon > text.startIndex
        else { return nil }
        self.init(host: String(text[..<colon]), port: port)
    }

    public var description: String { "\(host):\(port)" }
}
