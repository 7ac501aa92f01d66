/// Redis Cluster's key → slot rule: CRC16 (XMODEM) of the key's hash tag — the text
/// between the first `{` and the next `}`, when not empty — or of the whole key, modulo
/// 16,384. The cache's keys carry `{user_id}`, so one account's keys share a slot.
enum RedisHashSlot {
    static func slot(of key: String) -> Int {
        let bytes = Array(key.utf8)
        var hashed = bytes[...]
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            hashed = bytes[(open + 1)..<close]
        }
        return Int(crc16(hashed) % 16_384)
    }

    /// CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection.
    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }

    /// Commands about the server, not a key.
    static let keyless: Set<String> = [
        "PING", "SCRIPT", "CLUSTER", "INFO", "DBSIZE", "FLUSHALL", "FLUSHDB", "ASKING", "TIME", "CONFIG",
    ]

    /// The key a command acts on: its first argument, except for scripts (`EVALSHA sha
    /// numkeys key…`: the first key routes; on a cluster the cache sends a call's keys of one
    /// slot only) and keyless commands.
    static func key(of arguments: [String]) -> String? {
        guard let name = arguments.first?.uppercased(), !keyless.contains(name) else { return nil }
        if name == "EVAL" || name == "EVALSHA" {
            guard arguments.count > 3, let keys = Int(arguments[2]), keys >= 1 else { return nil }
            return arguments[3]
        }
        return arguments.count > 1 ? arguments[1] : nil
    }
}
