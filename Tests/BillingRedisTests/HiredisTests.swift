import BillingRedis
import Foundation
import Testing

@Suite("hiredis through CHiredis, against the real Redis", .timeLimit(.minutes(1)))
struct HiredisTests {
    let config: RedisConfig = {
        let environment = ProcessInfo.processInfo.environment
        return RedisConfig(
            host: environment["REDIS_HOST"] ?? "127.0.0.1", port: environment["REDIS_PORT"].flatMap(Int.init) ?? 63799)
    }()

    let key = "test:{hiredis}:\(UUID().uuidString)"

    @Test("SET and GET round-trip a value with spaces, quotes and non-ASCII text")
    func setGet() throws {
        let redis = try RedisConnection.connect(config)
        defer { redis.close() }
        let value = "余额 \"12.34\"\r\n end"
        #expect(try redis.command(["SET", key, value, "EX", "60"]) == .status("OK"))
        #expect(try redis.command(["GET", key]) == .string(value))
        #expect(try redis.command(["DEL", key]) == .integer(1))
        #expect(try redis.command(["GET", key]) == .null)
    }

    @Test("EVAL runs a script with keys and arguments")
    func eval() throws {
        let redis = try RedisConnection.connect(config)
        defer { redis.close() }
        let script = "redis.call('SET', KEYS[1], ARGV[1], 'EX', 60); return redis.call('INCRBY', KEYS[1], ARGV[2])"
        #expect(try redis.command(["EVAL", script, "1", key, "40", "2"]) == .integer(42))
        _ = try redis.command(["DEL", key])
    }

    @Test("a pipeline returns every reply in order")
    func pipeline() throws {
        let redis = try RedisConnection.connect(config)
        defer { redis.close() }
        let replies = try redis.pipeline([["SET", key, "1", "EX", "60"], ["INCR", key], ["GET", key], ["DEL", key]])
        #expect(replies == [.status("OK"), .integer(2), .string("2"), .integer(1)])
    }

    @Test("an error reply is a reply error and leaves the connection usable")
    func errorReply() throws {
        let redis = try RedisConnection.connect(config)
        defer { redis.close() }
        _ = try redis.command(["SET", key, "text", "EX", "60"])
        do {
            _ = try redis.command(["INCR", key])
            Issue.record("expected an error reply")
        } catch {
            #expect(error.kind == .reply)
        }
        #expect(try redis.command(["PING"]) == .status("PONG"))
        _ = try redis.command(["DEL", key])
    }

    @Test("an empty command is refused before anything is sent; the connection stays in step")
    func emptyCommand() throws {
        let redis = try RedisConnection.connect(config)
        defer { redis.close() }
        #expect(throws: RedisError.self) { _ = try redis.command([]) }
        #expect(throws: RedisError.self) { _ = try redis.pipeline([["SET", key, "1", "EX", "60"], []]) }
        do {
            _ = try redis.command([])
        } catch {
            #expect(error.kind == .reply, "a refusal, not a broken connection")
        }
        // Nothing of the refused pipeline was sent, so the next reply is the next command's.
        #expect(try redis.command(["GET", key]) == .null)
        #expect(try redis.command(["PING"]) == .status("PONG"))
    }

    @Test("a host that is a path is the server's Unix socket; a path with no server is a connection error")
    func unixSocket() throws {
        let path = try #require(ProcessInfo.processInfo.environment["REDIS_SOCKET"], "scripts/services.sh env sets it")
        var config = config
        config.host = path
        let redis = try RedisConnection.connect(config)
        defer { redis.close() }
        #expect(try redis.command(["SET", key, "over the socket"]) == .status("OK"))
        #expect(try redis.command(["GET", key]) == .string("over the socket"))
        _ = try redis.command(["DEL", key])

        config.host = path + ".missing"
        do {
            _ = try RedisConnection.connect(config)
            Issue.record("expected a connection failure")
        } catch {
            #expect(error.kind == .connection)
        }
    }

    @Test("a port with no server is a connection error")
    func refused() {
        var config = config
        config.port = 1
        do {
            _ = try RedisConnection.connect(config)
            Issue.record("expected a connection failure")
        } catch {
            #expect(error.kind == .connection)
        }
    }
}
