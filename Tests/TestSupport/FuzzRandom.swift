import Foundation

/// A seeded generator (SplitMix64) for fuzz suites: a failure names its seed, and
/// `BILLING_FUZZ_SEED=<seed>` replays the same inputs. `BILLING_FUZZ_SCALE` multiplies the
/// number of cases (the bounded default is what `make test` runs).
public struct FuzzRandom: RandomNumberGenerator, Sendable {
    public let seed: UInt64
    private var state: UInt64

    public init(seed: UInt64? = nil) {
        let environment = ProcessInfo.processInfo.environment
        let chosen = seed ?? environment["BILLING_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        self.seed = chosen
        state = chosen
    }

    /// `base` cases, times `BILLING_FUZZ_SCALE` (1 to 1,000).
    public static func cases(_ base: Int) -> Int {
        let scale = ProcessInfo.processInfo.environment["BILLING_FUZZ_SCALE"].flatMap(Int.init) ?? 1
        return base * min(max(scale, 1), 1_000)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }

    public mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &self)] }

    public mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }

    /// Hostile text that is still a legal header value (visible ASCII and spaces): what
    /// survives the transport's own checks and reaches the service.
    public mutating func hostileHeaderValue() -> String {
        let text = String(hostileText().unicodeScalars.filter { (0x20...0x7E).contains($0.value) })
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// Text that tends to break parsers: edges of integer types, odd characters, bad escapes.
    public mutating func hostileText() -> String {
        switch Int.random(in: 0..<12, using: &self) {
        case 0: return pick(["", " ", "\t", "\u{0}", "\u{7f}", "\u{202e}", "😀", "\u{FEFF}"])
        case 1: return pick(["-9223372036854775808", "9223372036854775807", "9223372036854775808", "-1", "0", "1e308",
                             "99999999999999999999999999", "0x10", "+1", "1.5", "NaN", "-0", "00001", "1_000"])
        case 2: return String(repeating: pick(["a", "9", "{", "[", "\\", "%", "/", "."]), count: Int.random(in: 1...300, using: &self))
        case 3: return pick(["../../etc/passwd", "%00", "%ff%fe", "%", "a%2Fb", "?x=1", "#frag", "a b", "a\nb", "a\r\nX-Evil: 1"])
        case 4: return pick(["'; DROP TABLE user_balance; --", "\" OR 1=1 --", "{{7*7}}", "${jndi:ldap://x}", "<script>"])
        case 5: return String(repeating: "x", count: Int.random(in: 129...4_000, using: &self))
        case 6: return pick(["true", "null", "[]", "{}", "\"\"", "1,2", "t=1,v1=", "Bearer", "Bearer  x y"])
        case 7: return pick(["payment", "passport", "asset", "PAYMENT", "payment ", "pay\u{0}ment", "unknown-service"])
        case 8: return String(Int64.random(in: .min ... .max, using: &self))
        case 9: return String(decoding: bytes(Int.random(in: 1...40, using: &self)), as: UTF8.self)
        case 10: return pick(["2026-13-45T99:99:99Z", "2026-11-29", "yesterday", "9999999-01-01T00:00:00Z", "r", "r-1",
                              "r0", "r99999999999999999999", "rabc"])
        default: return String((0..<Int.random(in: 1...20, using: &self)).map { _ in
            Character(Unicode.Scalar(UInt8.random(in: 0x21...0x7e, using: &self)))
        })
        }
    }
}
