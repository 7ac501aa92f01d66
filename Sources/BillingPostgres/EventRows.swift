import BillingCore

/// Events as rows of the `billing_event` outbox: `data` as a JSON object text.
enum EventRows {
    /// `{"key": value, …}` with keys sorted; text escaped for JSON.
    static func json(_ data: [String: EventValue]) -> String {
        let fields = data.keys.sorted().map { key -> String in
            let value: String =
                switch data[key] {
                case .int(let number): String(number)
                case .text(let text): quoted(text)
                case nil: "null"
                }
            return "\(quoted(key)):\(value)"
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `insertEvents`' parameters, in the order the batch emitted them.
    static func insertParameters(_ events: [BillingEvent]) -> [String?] {
        [
            PostgresText.textArray(events.map(\.userId)), PostgresText.textArray(events.map(\.type.rawValue)),
            PostgresText.textArray(events.map { json($0.data) }),
        ]
    }
}
