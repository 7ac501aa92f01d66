import BillingCore

/// Events as rows of the `billing_event` outbox: `data` as a JSON object text.
enum EventRows {
    /// `{"key": value, …}` with keys sorted; text escaped for JSON.
    static func json(_ data: [String: EventValue]) -> String {
        let fields = data.keys.sorted().map { key -> String in
            let value: String =
                switch data[key] {
                case .int(let number): String(number)
                case .text(let text): JSONString.literal(text)
                case nil: "null"
                }
            return "\(JSONString.literal(key)):\(value)"
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// `insertEvents`' parameters, in the order the batch emitted them.
    static func insertParameters(_ events: [BillingEvent]) -> [String?] {
        [
            PostgresText.textArray(events.map(\.userId)), PostgresText.textArray(events.map(\.type.rawValue)),
            PostgresText.textArray(events.map { json($0.data) }),
        ]
    }
}
