@testable import BillingPostgres
import Foundation
import Testing
import TestSupport

@Suite("Citus shard routing: PostgreSQL's hashtext in Swift, hash ranges to shards")
struct CitusShardsTests {
    @Test("hashText equals PostgreSQL's hashtext for 3,000 texts of every length up to 60 bytes, ASCII and not")
    func hashMatchesPostgres() throws {
        var texts = ["", "a", "u1", "abcdefghijkl", "abcdefghijklm", "余额用户-42"]
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("abcXYZ019-_:.é余额🙂")
        for length in 0..<3_000 {
            texts.append(String((0..<(length % 40)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }))
        }
        let connection = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { connection.close() }
        let rows = try connection.query(
            "SELECT hashtext(t) FROM unnest($1::text[]) WITH ORDINALITY AS k(t, n) ORDER BY n",
            [PostgresText.textArray(texts)])
        #expect(rows.rows.count == texts.count)
        for (text, row) in zip(texts, rows.all) {
            #expect(CitusShards.hashText(text) == Int32(try row.int64(0)), "\(text)")
        }
    }

    @Test("a hash goes to the shard whose range holds it, at both ends of every range")
    func ranges() {
        let shards = CitusShards(lowerBounds: [Int32.min, -1_000, 0, 1_000], shardIds: [11, 12, 13, 14])
        func shard(ofHash hash: Int32) -> Int64 {
            // Through the same search as shard(of:), by a user whose hash is known.
            shards.shard(forHash: hash)
        }
        #expect(shard(ofHash: Int32.min) == 11 && shard(ofHash: -1_001) == 11)
        #expect(shard(ofHash: -1_000) == 12 && shard(ofHash: -1) == 12)
        #expect(shard(ofHash: 0) == 13 && shard(ofHash: 999) == 13)
        #expect(shard(ofHash: 1_000) == 14 && shard(ofHash: Int32.max) == 14)
        #expect(shards.shard(of: "u1") == shard(ofHash: CitusShards.hashText("u1")))
    }

    @Test("plain PostgreSQL has no shards (the lanes keep whole batches); a distributed schema's tile the hash space", .freshSchema())
    func shardsOfTheDatabase() throws {
        let connection = try PostgresConnection.connect(try #require(TestSchema.current).config)
        defer { connection.close() }
        let shards = try CitusShards.load(on: connection)
        if TestEnvironment.citus {
            // `make test-scale`: load() refuses ranges with gaps, so these cover Int32 whole.
            #expect((shards?.shardIds.count ?? 0) >= 2 && shards?.lowerBounds.first == Int32.min)
        } else {
            #expect(shards == nil)
        }
    }
}
