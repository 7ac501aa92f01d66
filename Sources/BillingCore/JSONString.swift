/// A JSON string literal: `"`, `\` and control characters (and DEL) escaped, everything else
/// kept. One writer for the small hand-built JSON texts (event data, log lines, the payment
/// sandbox's answers); the server's responses go through BillingApp's `JSONValue`.
public enum JSONString {
    public static func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
