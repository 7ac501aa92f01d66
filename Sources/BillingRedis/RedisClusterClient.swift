/// A Redis Cluster client over hiredis connections: learns which master serves each of the
/// 16,384 slots (`CLUSTER SLOTS`), sends each command to the node of its key's slot,
/// follows `MOVED` (the slot has a new owner: the map is read again) and `ASK` (the key is
/// being migrated: `ASKING` and the command on the target, the map unchanged). A node that
/// cannot be reached fails its commands at once for a second — for the cache, a miss —
/// while the other nodes' keys are served.
///
/// `@unchecked Sendable`: like `RedisConnection`, it belongs to one pool thread at a time.
public final class RedisClusterClient: RedisCommands, @unchecked Sendable {
    static let slotCount = 16_384
    static let maxRedirections = 5

    private let config: RedisConfig
    private let scripts: [String]
    private var slots: [RedisNode?]
    private var connections: [RedisNode: RedisConnection] = [:]
    private var downUntil: [RedisNode: ContinuousClock.Instant] = [:]
    private var closed = false

    private init(config: RedisConfig, scripts: [String]) {
        self.config = config
        self.scripts = scripts
        slots = Array(repeating: nil, count: Self.slotCount)
    }

    /// A client that has read the slot map from one of `config.clusterNodes`; every node it
    /// connects to gets `scripts` loaded.
    public static func connect(_ config: RedisConfig, scripts: [String] = []) throws(RedisError) -> RedisClusterClient {
        let client = RedisClusterClient(config: config, scripts: scripts)
        try client.refreshSlots()
        return client
    }

    public var isUsable: Bool { !closed }

    public var routesBySlot: Bool { true }

    public func close() {
        for connection in connections.values { connection.close() }
        connections = [:]
        closed = true
    }

    /// The masters serving slots now, for tests and the broadcast of scripts.
    public var masters: Set<RedisNode> { Set(slots.compactMap { $0 }) }

    /// The node the map sends `slot` to (nil: no node serves it).
    public func node(serving slot: Int) -> RedisNode? { slots.indices.contains(slot) ? slots[slot] : nil }

    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        guard let key = RedisHashSlot.key(of: arguments) else { return try keyless(arguments) }
        return try routed(arguments, slot: RedisHashSlot.slot(of: key))
    }

    /// Each node's commands go in one pipeline; a redirected command is then followed alone.
    /// Every command is tried, then the first failure (if any) is thrown, as one server's
    /// pipeline does.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        var results = [Result<RedisReply, RedisError>?](repeating: nil, count: commands.count)
        var byNode: [RedisNode: [Int]] = [:]
        for (index, arguments) in commands.enumerated() {
            guard let key = RedisHashSlot.key(of: arguments), let node = slots[RedisHashSlot.slot(of: key)] else {
                results[index] = Result { () throws(RedisError) in try command(arguments) }
                continue
            }
            byNode[node, default: []].append(index)
        }
        for (node, indices) in byNode {
            do {
                let replies = try connection(to: node).results(indices.map { commands[$0] })
                for (index, reply) in zip(indices, replies) { results[index] = reply }
            } catch {
                drop(node)
                for index in indices { results[index] = .failure(error) }
            }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        var firstError: RedisError?
        for (index, result) in results.enumerated() {
            var outcome = result ?? .failure(RedisError(kind: .connection, message: "not sent"))
            if case .failure(let error) = outcome, Redirection(error) != nil {
                outcome = Result { () throws(RedisError) in try command(commands[index]) }
            }
            switch outcome {
            case .success(let reply): replies.append(reply)
            case .failure(let error):
                firstError = firstError ?? error
                replies.append(.null)
            }
        }
        if let firstError { throw firstError }
        return replies
    }

    private func routed(_ arguments: [String], slot: Int) throws(RedisError) -> RedisReply {
        if slots[slot] == nil { try? refreshSlots() }
        guard var target = slots[slot] else {
            throw RedisError(kind: .connection, message: "no cluster node serves slot \(slot)")
        }
        var asking = false
        for _ in 0...Self.maxRedirections {
            let connection = try self.connection(to: target)
            do {
                if asking { return try connection.results([["ASKING"], arguments])[1].get() }
                return try connection.command(arguments)
            } catch where error.kind == .connection {
                drop(target)
                throw error
            } catch {
                switch Redirection(error) {
                case .moved(let movedSlot, let node):
                    slots[movedSlot] = node
                    // A move is rarely alone (a reshard moves ranges): read the whole map again.
                    try? refreshSlots(preferring: node)
                    target = node
                    asking = false
                case .ask(_, let node):
                    target = node
                    asking = true
                case nil:
                    throw error
                }
            }
        }
        throw RedisError(kind: .reply, message: "more than \(Self.maxRedirections) cluster redirections")
    }

    /// Commands without a key: `SCRIPT …` goes to every reachable master (each keeps its own
    /// scripts; one that is down gets them when it is connected to again), anything else
    /// (PING) to the first master that answers.
    private func keyless(_ arguments: [String]) throws(RedisError) -> RedisReply {
        let broadcast = arguments.first?.uppercased() == "SCRIPT"
        var answer: RedisReply?
        var lastError = RedisError(kind: .connection, message: "no cluster node reachable")
        for node in masters.sorted(by: { $0.description < $1.description }) {
            do {
                answer = try connection(to: node).command(arguments)
                if !broadcast, let answer { return answer }
            } catch {
                if error.kind == .connection { drop(node) } else if broadcast { throw error }
                lastError = error
            }
        }
        if let answer { return answer }
        throw lastError
    }

    /// Reads the slot map from `preferring`, else a known master, else a configured node.
    func refreshSlots(preferring: RedisNode? = nil) throws(RedisError) {
        var candidates = [preferring].compactMap { $0 } + masters.sorted { $0.description < $1.description }
        candidates += config.clusterNodes
        var lastError = RedisError(kind: .connection, message: "no cluster node answered CLUSTER SLOTS")
        var tried: Set<RedisNode> = []
        for node in candidates where tried.insert(node).inserted {
            do {
                let reply = try connection(to: node).command(["CLUSTER", "SLOTS"])
                slots = try Self.slotMap(reply, answeredBy: node)
                return
            } catch {
                if error.kind == .connection { drop(node) }
                lastError = error
            }
        }
        throw lastError
    }

    /// `CLUSTER SLOTS`: ranges `[low, high, [host, port, …], replicas…]`. An empty host
    /// means the answering node's own.
    static func slotMap(_ reply: RedisReply, answeredBy answering: RedisNode) throws(RedisError) -> [RedisNode?] {
        guard case .array(let ranges) = reply else {
            throw RedisError(kind: .reply, message: "CLUSTER SLOTS: not an array")
        }
        var map = [RedisNode?](repeating: nil, count: slotCount)
        for range in ranges {
            guard case .array(let parts) = range, parts.count >= 3, case .integer(let low) = parts[0],
                case .integer(let high) = parts[1], low >= 0, low <= high, high < Int64(slotCount),
                case .array(let master) = parts[2], master.count >= 2, let host = master[0].string,
                case .integer(let port) = master[1], (1...65_535).contains(port)
            else { throw RedisError(kind: .reply, message: "CLUSTER SLOTS: malformed range") }
            let node = RedisNode(host: host.isEmpty ? answering.host : host, port: Int(port))
            for slot in Int(low)...Int(high) { map[slot] = node }
        }
        return map
    }

    private func connection(to node: RedisNode) throws(RedisError) -> RedisConnection {
        if let connection = connections[node], connection.isUsable { return connection }
        drop(node)
        if let until = downUntil[node], ContinuousClock.now < until {
            throw RedisError(kind: .connection, message: "cluster node \(node) unreachable")
        }
        do {
            let connection = try RedisConnection.connect(host: node.host, port: node.port, config: config)
            for script in scripts { _ = try connection.command(["SCRIPT", "LOAD", script]) }
            connections[node] = connection
            downUntil[node] = nil
            return connection
        } catch {
            downUntil[node] = ContinuousClock.now + .seconds(1)
            throw error
        }
    }

    private func drop(_ node: RedisNode) {
        connections.removeValue(forKey: node)?.close()
    }
}

/// A cluster's answer that a key lives elsewhere: `MOVED <slot> <host:port>` (for good) or
/// `ASK <slot> <host:port>` (this once, while the slot migrates).
enum Redirection: Equatable {
    case moved(slot: Int, node: RedisNode)
    case ask(slot: Int, node: RedisNode)

    init?(_ error: RedisError) {
        guard error.kind == .reply else { return nil }
        let parts = error.message.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), (0..<RedisClusterClient.slotCount).contains(slot),
            let node = RedisNode(parts[2])
        else { return nil }
        switch parts[0] {
        case "MOVED": self = .moved(slot: slot, node: node)
        case "ASK": self = .ask(slot: slot, node: node)
        default: return nil
        }
    }
}
