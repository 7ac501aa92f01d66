import BillingCore

/// The cached form of an account: `<version>|<balance fen>|<service>:<used>:<total>,…`.
/// Anything that does not parse exactly (a value written by hand, another format) reads
/// as a miss.
enum AccountCodec {
    static func encode(_ state: AccountState) -> String {
        let quotas = state.quotas.keys.sorted().compactMap { name in
            state.quotas[name].map { "\(name):\($0.used):\($0.total)" }
        }
        return "\(state.version)|\(state.balanceFen.value)|\(quotas.joined(separator: ","))"
    }

    static func decode(_ text: String) -> AccountState? {
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3, let version = Int64(parts[0]), version >= 0, let balance = Int64(parts[1]),
            balance >= 0
        else { return nil }
        var quotas: [String: QuotaUsage] = [:]
        if !parts[2].isEmpty {
            for entry in parts[2].split(separator: ",", omittingEmptySubsequences: false) {
                let fields = entry.split(separator: ":", omittingEmptySubsequences: false)
                guard fields.count == 3, !fields[0].isEmpty, let used = Int64(fields[1]), let total = Int64(fields[2]),
                    used >= 0, total >= 0, used <= total
                else { return nil }
                quotas[String(fields[0])] = QuotaUsage(total: total, used: used)
            }
        }
        return AccountState(balanceFen: Fen(balance), quotas: quotas, version: version)
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
