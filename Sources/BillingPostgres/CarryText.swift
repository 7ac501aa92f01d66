import BillingCore

/// A user's carries as `user_balance.carries` keeps them: `service:µfen,…`, sorted by
/// service, zero carries left out (the column's CHECK enforces the shape and 0 … 999,999).
enum CarryText {
    static func encode(_ carries: [(service: String, microFen: Int64)]) -> String {
        carries.filter { $0.microFen != 0 }.sorted { $0.service < $1.service }
            .map { "\($0.service):\($0.microFen)" }.joined(separator: ",")
    }

    /// Anything but the stored shape is corruption: the batch stops rather than guess.
    static func decode(_ text: String) throws(BillingError) -> [(service: String, microFen: Int64)] {
        guard !text.isEmpty else { return [] }
        var carries: [(service: String, microFen: Int64)] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let carry = Int64(parts[1]),
                (0..<UnitPrice.microFenPerFen).contains(carry)
            else { throw .internalFailure("user_balance.carries is not 'service:µfen,…': \(text)") }
            carries.append((String(parts[0]), carry))
        }
        return carries
    }
}
