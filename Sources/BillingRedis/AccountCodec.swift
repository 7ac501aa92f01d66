import Foundation
import BillingCore

/// The cached form of an account:
/// `<version>|<balance fen>|<held fen>|<service>:<used>:<total>:<held>,…|<service>:<carry µfen>,…|<override>,…|<spent fen>:<cap fen or empty>`
/// with each override `<id>:<service>:<price µfen>:<from µs>:<to µs or empty>`. Anything
/// that does not parse exactly (a value written by hand, an older format) reads as a miss.
enum AccountCodec {
    static func encode(_ state: AccountState) -> String {
        let quotas = state.quotas.keys.sorted().compactMap { name in
            state.quotas[name].map { "\(name):\($0.used):\($0.total):\($0.held)" }
        }
        let carries = state.carries.keys.sorted().compactMap { name in state.carries[name].map { "\(name):\($0)" } }
        let overrides = state.overrides.map { override in
            "\(override.id):\(override.serviceName):\(override.price.microFen):\(micros(override.from)):"
                + (override.to.map { String(micros($0)) } ?? "")
        }
        return "\(state.version)|\(state.balanceFen.value)|\(state.heldFen.value)|\(quotas.joined(separator: ","))|"
            + "\(carries.joined(separator: ","))|\(overrides.joined(separator: ","))|"
            + "\(state.spentFen.value):\(state.spendCapFen.map { String($0.value) } ?? "")"
    }

    /// `userId` names the owner of the overrides read back.
    static func decode(_ text: String, userId: String = "") -> AccountState? {
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 7, let version = Int64(parts[0]), version >= 0, let balance = Int64(parts[1]),
            balance >= 0, let held = Int64(parts[2]), held >= 0, held <= balance
        else { return nil }
        var quotas: [String: QuotaUsage] = [:]
        for entry in items(parts[3]) {
            let fields = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 4, !fields[0].isEmpty, let used = Int64(fields[1]), let total = Int64(fields[2]),
                let heldCalls = Int64(fields[3]), used >= 0, total >= 0, heldCalls >= 0, used <= total,
                heldCalls <= total - used
            else { return nil }
            quotas[String(fields[0])] = QuotaUsage(total: total, used: used, held: heldCalls)
        }
        var carries: [String: Int64] = [:]
        for entry in items(parts[4]) {
            let fields = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, let carry = Int64(fields[1]),
                (0..<UnitPrice.microFenPerFen).contains(carry)
            else { return nil }
            carries[String(fields[0])] = carry
        }
        var overrides: [PriceOverride] = []
        for entry in items(parts[5]) {
            let fields = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 5, let id = Int64(fields[0]), !fields[1].isEmpty, let microFen = Int64(fields[2]),
                let price = try? UnitPrice(microFen: microFen), let from = date(fields[3])
            else { return nil }
            let to = fields[4].isEmpty ? nil : date(fields[4])
            guard fields[4].isEmpty || to != nil else { return nil }
            overrides.append(
                PriceOverride(id: id, userId: userId, serviceName: String(fields[1]), price: price, from: from, to: to))
        }
        let spend = parts[6].split(separator: ":", omittingEmptySubsequences: false)
        guard spend.count == 2, let spent = Int64(spend[0]), spent >= 0 else { return nil }
        let cap = spend[1].isEmpty ? nil : Int64(spend[1])
        guard spend[1].isEmpty || (cap.map { $0 >= 0 } ?? false) else { return nil }
        return AccountState(
            balanceFen: Fen(balance), quotas: quotas, version: version, carries: carries, overrides: overrides,
            heldFen: Fen(held), spentFen: Fen(spent), spendCapFen: cap.map(Fen.init))
    }

    private static func items(_ part: Substring) -> [Substring] {
        part.isEmpty ? [] : part.split(separator: ",", omittingEmptySubsequences: false)
    }

    /// Instants as whole microseconds since the epoch, the database's precision.
    private static func micros(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard value.isFinite, abs(value) < 9.0e18 else { return 0 }
        return Int64(value)
    }

    private static func date(_ text: Substring) -> Date? {
        guard let micros = Int64(text), abs(micros) < 1 << 62 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(micros) / 1_000_000)
    }

    /// A marker that the account may have moved to `version` in a way this process could
    /// not see: a miss for readers, and (being versioned) a bar to any older value.
    static func tombstone(version: Int64) -> String { "\(version)|tombstone" }

    static func isTombstone(_ text: String) -> Bool {
        guard text.hasSuffix("|tombstone") else { return false }
        return Int64(text.dropLast("|tombstone".count)).map { $0 >= 0 } ?? false
    }

    /// One key per user and period under a namespace (one per deployment sharing a Redis);
    /// the user id is the hash tag, so on Redis Cluster all of a user's keys live on one node.
    static func key(namespace: String, userId: String, period: QuotaPeriod) -> String {
        "\(namespace):{\(userId)}:account:\(period.text)"
    }
}
