@testable import BillingRedis
import Testing

@Suite("Redis Cluster's slots, redirections and slot map, without a server")
struct RedisHashSlotTests {
    @Test("CRC16/XMODEM check value, and the slots CLUSTER KEYSLOT gives for these keys")
    func slots() {
        #expect(RedisHashSlot.crc16(Array("123456789".utf8)[...]) == 0x31C3)
        // Values read from `redis-cli cluster keyslot` of Redis 7.0.
        let known: [(String, Int)] = [
            ("foo", 12_182), ("bar", 5_061), ("{user1000}.following", 3_443), ("foo{}{bar}", 8_363),
            ("foo{{bar}}zap", 4_015), ("foo{bar}{zap}", 5_061), ("123456789", 12_739), ("余额", 8_349),
        ]
        for (key, slot) in known { #expect(RedisHashSlot.slot(of: key) == slot, "\(key)") }
    }

    @Test("one account's keys share a slot: the {user_id} hash tag decides")
    func hashTag() {
        let period = "2026-11"
        #expect(RedisHashSlot.slot(of: "billing:acct:{u42}:\(period)") == RedisHashSlot.slot(of: "u42"))
        #expect(RedisHashSlot.slot(of: "other:{u42}:x") == RedisHashSlot.slot(of: "billing:acct:{u42}:2026-12"))
    }

    @Test("the routing key: the first argument, a script's first key, none for server commands")
    func keys() {
        #expect(RedisHashSlot.key(of: ["GET", "k1"]) == "k1")
        #expect(RedisHashSlot.key(of: ["evalsha", "abc", "1", "k2", "5", "v"]) == "k2")
        #expect(RedisHashSlot.key(of: ["EVALSHA", "abc", "0"]) == nil)
        #expect(RedisHashSlot.key(of: ["EVALSHA", "abc", "x", "k"]) == nil)
        #expect(RedisHashSlot.key(of: ["PING"]) == nil)
        #expect(RedisHashSlot.key(of: ["SCRIPT", "LOAD", "return 1"]) == nil)
        #expect(RedisHashSlot.key(of: []) == nil)
    }

    @Test("MOVED and ASK are parsed; anything else is an ordinary error reply")
    func redirections() {
        func reply(_ message: String) -> RedisError { RedisError(kind: .reply, message: message) }
        let node = RedisNode(host: "127.0.0.1", port: 53_802)
        #expect(Redirection(reply("MOVED 3999 127.0.0.1:53802")) == .moved(slot: 3_999, node: node))
        #expect(Redirection(reply("ASK 0 127.0.0.1:53802")) == .ask(slot: 0, node: node))
        for bad in [
            "MOVED 16384 127.0.0.1:53802", "MOVED -1 127.0.0.1:1", "MOVED 1 127.0.0.1:0", "MOVED 1 nohost",
            "MOVED 1 :99999", "MOVED x 127.0.0.1:1", "ERR unknown", "NOSCRIPT No matching script", "",
        ] {
            #expect(Redirection(reply(bad)) == nil, "\(bad)")
        }
        #expect(Redirection(RedisError(kind: .connection, message: "MOVED 1 127.0.0.1:1")) == nil)
    }

    @Test("CLUSTER SLOTS: ranges become the slot map; an empty host is the answering node's; malformed replies refused")
    func slotMap() throws {
        let answering = RedisNode(host: "10.0.0.9", port: 7000)
        let reply = RedisReply.array([
            .array([.integer(0), .integer(5460), .array([.string("127.0.0.1"), .integer(53_801), .string("id1")])]),
            .array([.integer(5461), .integer(16_383), .array([.string(""), .integer(53_802)])]),
        ])
        let map = try RedisClusterClient.slotMap(reply, answeredBy: answering)
        #expect(map[0] == RedisNode(host: "127.0.0.1", port: 53_801))
        #expect(map[5460] == RedisNode(host: "127.0.0.1", port: 53_801))
        #expect(map[5461] == RedisNode(host: "10.0.0.9", port: 53_802))
        #expect(map[16_383] == RedisNode(host: "10.0.0.9", port: 53_802))
        let malformed: [RedisReply] = [
            .string("nope"),
            .array([.array([.integer(0), .integer(16_384), .array([.string("h"), .integer(1)])])]),
            .array([.array([.integer(10), .integer(5), .array([.string("h"), .integer(1)])])]),
            .array([.array([.integer(0), .integer(5), .array([.string("h"), .integer(70_000)])])]),
            .array([.array([.integer(0), .integer(5)])]),
            .array([.array([.integer(-1), .integer(5), .array([.string("h"), .integer(1)])])]),
        ]
        for bad in malformed {
            #expect(throws: RedisError.self) { try RedisClusterClient.slotMap(bad, answeredBy: answering) }
        }
    }

    @Test("host:port addresses, including IPv6 hosts; nothing else")
    func nodes() {
        #expect(RedisNode("127.0.0.1:6379") == RedisNode(host: "127.0.0.1", port: 6_379))
        #expect(RedisNode("::1:6379") == RedisNode(host: "::1", port: 6_379))
        for bad in ["", "6379", ":6379", "h:", "h:0", "h:65536", "h:x"] { #expect(RedisNode(bad) == nil, "\(bad)") }
    }
}
