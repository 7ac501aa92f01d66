import CHiredis

#if canImport(Glibc)
import Glibc
#endif

/// One hiredis connection, owning its `redisContext*` alone and freeing it exactly once.
///
/// `@unchecked Sendable` because it moves between threads: it is used by one caller at a
/// time (the holder of a pool lease) and its blocking calls never run on an event loop.
public final class RedisConnection: RedisCommands, @unchecked Sendable {
    private var context: UnsafeMutablePointer<redisContext>?

    private init(context: UnsafeMutablePointer<redisContext>) { self.context = context }

    deinit {
        if let context { redisFree(context) }
    }

    public static func connect(_ config: RedisConfig) throws(RedisError) -> RedisConnection {
        try connect(host: config.host, port: config.port, config: config)
    }

    /// A connection to `host:port` with `config`'s timeouts (a cluster's nodes). A `host`
    /// starting with `/` is the path of the server's Unix socket (`port` unused): a Redis on
    /// the same machine answers without the TCP/IP stack on either side.
    public static func connect(host: String, port: Int, config: RedisConfig) throws(RedisError) -> RedisConnection {
        let connectTimeout = timeval(milliseconds: config.connectTimeoutMilliseconds)
        let connected =
            host.hasPrefix("/")
            ? redisConnectUnixWithTimeout(host, connectTimeout) : redisConnectWithTimeout(host, Int32(port), connectTimeout)
        guard let context = connected else {
            throw RedisError(kind: .connection, message: "out of memory")
        }
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            redisFree(context)
            throw RedisError(kind: .connection, message: message)
        }
        _ = redisSetTimeout(context, timeval(milliseconds: config.commandTimeoutMilliseconds))
        return RedisConnection(context: context)
    }

    public var isUsable: Bool { context.map { $0.pointee.err == 0 } ?? false }

    public var routesBySlot: Bool { false }

    public func close() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Sends one command with binary-safe arguments and waits for its reply.
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try Self.checkArguments([arguments])
        try append(arguments)
        return try readReply()
    }

    /// Sends several commands in one write and reads their replies in order.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for result in try results(commands) { replies.append(try result.get()) }
        return replies
    }

    /// Like `pipeline`, with each command's error reply as its own result (a cluster client
    /// follows each MOVED or ASK on its own); a broken connection is thrown.
    public func results(_ commands: [[String]]) throws(RedisError) -> [Result<RedisReply, RedisError>] {
        // Checked before any is appended: a refused command leaves nothing half sent behind it.
        try Self.checkArguments(commands)
        for arguments in commands { try append(arguments) }
        var results: [Result<RedisReply, RedisError>] = []
        results.reserveCapacity(commands.count)
        for _ in commands {
            // Every reply is read even after an error reply, so the connection stays in step.
            do { results.append(.success(try readReply())) } catch {
                if error.kind == .connection { throw error }
                results.append(.failure(error))
            }
        }
        return results
    }

    private func append(_ arguments: [String]) throws(RedisError) {
        guard let context else { throw RedisError(kind: .connection, message: "connection closed") }
        let status: Int32 = withArgumentPointers(arguments) { pointers, lengths in
            redisAppendCommandArgv(context, Int32(arguments.count), pointers, lengths)
        }
        guard status == REDIS_OK else { throw RedisError(kind: .connection, message: Self.errorText(context)) }
    }

    /// A command has a name and at most `Int32.max` arguments (hiredis's count): an empty one
    /// is refused, not handed to hiredis as no pointers.
    private static func checkArguments(_ commands: [[String]]) throws(RedisError) {
        for arguments in commands where arguments.isEmpty || arguments.count > Int(Int32.max) {
            throw RedisError(kind: .reply, message: "a command needs 1 to \(Int32.max) arguments")
        }
    }

    private func readReply() throws(RedisError) -> RedisReply {
        guard let context else { throw RedisError(kind: .connection, message: "connection closed") }
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw RedisError(kind: .connection, message: Self.errorText(context))
        }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        if reply.pointee.type == REDIS_REPLY_ERROR {
            throw RedisError(kind: .reply, message: Self.text(of: reply))
        }
        return Self.copy(reply)
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        switch reply.pointee.type {
        case REDIS_REPLY_STRING: .string(text(of: reply))
        case REDIS_REPLY_STATUS: .status(text(of: reply))
        case REDIS_REPLY_INTEGER: .integer(Int64(reply.pointee.integer))
        case REDIS_REPLY_ARRAY:
            .array((0..<Int(reply.pointee.elements)).compactMap { index in
                reply.pointee.element[index].map { copy($0) }
            })
        default: .null
        }
    }

    private static func text(of reply: UnsafeMutablePointer<redisReply>) -> String {
        guard let pointer = reply.pointee.str else { return "" }
        let buffer = UnsafeRawBufferPointer(start: pointer, count: Int(reply.pointee.len))
        return String(decoding: buffer, as: UTF8.self)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// The arguments as hiredis takes them: pointers and lengths into one buffer holding every
/// argument's bytes one after another (hiredis copies them into its output buffer at once).
private func withArgumentPointers<R>(
    _ arguments: [String],
    _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafeMutablePointer<Int>) -> R
) -> R {
    var lengths: [Int] = []
    lengths.reserveCapacity(arguments.count)
    var bytes: [UInt8] = []
    // One byte more than the arguments need, so the buffer has an address even when they are all empty.
    bytes.reserveCapacity(arguments.reduce(1) { $0 + $1.utf8.count })
    for argument in arguments {
        bytes.append(contentsOf: argument.utf8)
        lengths.append(argument.utf8.count)
    }
    bytes.append(0)
    return bytes.withUnsafeBytes { buffer in
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(arguments.count)
        var offset = 0
        for length in lengths {
            pointers.append(buffer.baseAddress.map { ($0 + offset).assumingMemoryBound(to: CChar.self) })
            offset += length
        }
        return pointers.withUnsafeMutableBufferPointer { pointerBuffer in
            lengths.withUnsafeMutableBufferPointer { lengthBuffer in
                body(pointerBuffer.baseAddress!, lengthBuffer.baseAddress!)
            }
        }
    }
}

extension timeval {
    init(milliseconds: Int) {
        self.init(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
    }
}
