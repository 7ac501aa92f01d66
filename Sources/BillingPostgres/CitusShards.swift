/// Which Citus shard holds a user: the hash ranges of `user_balance`'s shards, read from
/// `pg_dist_shard` (every user table is co-located with it, so one user's rows of every
/// table live on the same shard). The lanes group a batch by shard, so each transaction
/// is routed to one worker and commits without two-phase commit.
struct CitusShards: Sendable, Equatable {
    /// Shards by the low end of their hash range, ascending; ranges cover Int32 whole.
    let lowerBounds: [Int32]
    let shardIds: [Int64]

    /// The shard holding `userId`: Citus hashes a text distribution column with
    /// PostgreSQL's `hashtext` (the column's collation is deterministic).
    func shard(of userId: String) -> Int64 { shardIds[position(forHash: Self.hashText(userId))] }

    func shard(forHash hash: Int32) -> Int64 { shardIds[position(forHash: hash)] }

    /// The shard's index in the ranges' order (lanes are picked by it).
    func position(of userId: String) -> Int { position(forHash: Self.hashText(userId)) }

    func position(forHash hash: Int32) -> Int {
        // The last range whose low end is ≤ hash.
        var low = 0
        var high = lowerBounds.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lowerBounds[middle] <= hash { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// The shards of the distributed `user_balance` in the connection's search path, or nil
    /// when the database is plain PostgreSQL (no Citus, or the table is not distributed).
    static func load(on connection: PostgresConnection) throws -> CitusShards? {
        let catalog = try connection.query("SELECT to_regclass('pg_catalog.pg_dist_shard') IS NOT NULL")
        guard try catalog.all.first?.bool(0) == true else { return nil }
        let rows = try connection.query(
            """
            SELECT shardid, shardminvalue::int, shardmaxvalue::int FROM pg_dist_shard
            WHERE logicalrelid = to_regclass('user_balance') AND shardminvalue IS NOT NULL
            ORDER BY shardminvalue::int
            """)
        var bounds: [Int32] = []
        var ids: [Int64] = []
        var expected = Int64(Int32.min)
        for row in rows.all {
            let low = try row.int64(1)
            let high = try row.int64(2)
            // Gaps or overlaps would send a user to the wrong group: refuse such a map.
            guard low == expected, high >= low, high <= Int64(Int32.max) else {
                throw PostgresError(.protocolViolation, detail: "pg_dist_shard ranges of user_balance do not tile the hash space")
            }
            bounds.append(Int32(low))
            ids.append(try row.int64(0))
            expected = high + 1
        }
        guard !ids.isEmpty else { return nil }
        guard expected == Int64(Int32.max) + 1 else {
            throw PostgresError(.protocolViolation, detail: "pg_dist_shard ranges of user_balance do not reach the top")
        }
        return CitusShards(lowerBounds: bounds, shardIds: ids)
    }

    /// PostgreSQL's `hashtext` for a deterministic collation: `hash_bytes` (Bob Jenkins'
    /// lookup3, little-endian word order) of the UTF-8 bytes, as a signed 32-bit value.
    static func hashText(_ text: String) -> Int32 {
        var bytes = Array(text.utf8)
        let length = bytes.count
        var a: UInt32 = 0x9e37_79b9 &+ UInt32(truncatingIfNeeded: length) &+ 3_923_095
        var b = a
        var c = a
        func word(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        var offset = 0
        while length - offset >= 12 {
            a = a &+ word(offset)
            b = b &+ word(offset + 4)
            c = c &+ word(offset + 8)
            mix(&a, &b, &c)
            offset += 12
        }
        // The tail: bytes 0–3 into a, 4–7 into b, 8–10 into c's upper three bytes (its lowest
        // byte is the length's in lookup3).
        let left = length - offset
        bytes.append(contentsOf: [UInt8](repeating: 0, count: 12))
        if left > 8 {
            c = c &+ (UInt32(bytes[offset + 8]) << 8 | UInt32(bytes[offset + 9]) << 16 | UInt32(bytes[offset + 10]) << 24)
        }
        if left > 4 { b = b &+ word(offset + 4) }
        if left > 0 { a = a &+ word(offset) }
        final(&a, &b, &c)
        return Int32(bitPattern: c)
    }

    private static func rotate(_ x: UInt32, _ k: UInt32) -> UInt32 { (x << k) | (x >> (32 - k)) }

    private static func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        a = a &- c; a ^= rotate(c, 4); c = c &+ b
        b = b &- a; b ^= rotate(a, 6); a = a &+ c
        c = c &- b; c ^= rotate(b, 8); b = b &+ a
        a = a &- c; a ^= rotate(c, 16); c = c &+ b
        b = b &- a; b ^= rotate(a, 19); a = a &+ c
        c = c &- b; c ^= rotate(b, 4); b = b &+ a
    }

    private static func final(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        c ^= b; c = c &- rotate(b, 14)
        a ^= c; a = a &- rotate(c, 11)
        b ^= a; b = b &- rotate(a, 25)
        c ^= b; c = c &- rotate(b, 16)
        a ^= c; a = a &- rotate(c, 4)
        b ^= a; b = b &- rotate(a, 14)
        c ^= b; c = c &- rotate(b, 24)
    }
}
