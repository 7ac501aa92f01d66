import Foundation
import BillingCore

/// The inputs of one request: a JSON body object and query parameters, each field
/// accepted in snake_case (`user_id`) or lowerCamelCase (`userId`). Wrong types are
/// INVALID_ARGUMENT naming the field; unknown fields are ignored.
struct RequestFields: Sendable {
    let body: [(String, JSONValue)]
    let query: [String: String]

    init(body: JSONValue?, query: [String: String]) throws(BillingError) {
        switch body {
        case .none: self.body = []
        case .object(let members): self.body = members
        case .some(let other):
            throw .invalidArgument(field: "body", reason: "must be a JSON object, not \(other.typeName)")
        }
        self.query = query
    }

    /// The field names are the code's own ASCII literals: `user_id` → `userId`.
    static func camelCase(_ snake: String) -> String {
        guard snake.utf8.contains(UInt8(ascii: "_")) else { return snake }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(snake.utf8.count)
        var upperNext = false
        for byte in snake.utf8 {
            if byte == UInt8(ascii: "_") {
                upperNext = true
                continue
            }
            bytes.append(upperNext && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 0x20 : byte)
            upperNext = false
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private enum Found {
        case json(JSONValue)
        case text(String)
    }

    private func find(_ name: String) -> Found? {
        let camel = Self.camelCase(name)
        if let value = body.last(where: { $0.0 == name || $0.0 == camel })?.1 {
            if case .null = value { return nil }
            return .json(value)
        }
        if let text = query[name] ?? query[camel] { return .text(text) }
        return nil
    }

    func has(_ name: String) -> Bool { find(name) != nil }

    /// Fields the platform's older clients send as JSON integers (numeric user ids).
    static let numericIdentifiers: Set<String> = ["user_id"]

    /// A string field; a numeric identifier written as a JSON integer is taken as its digits.
    func string(_ name: String) throws(BillingError) -> String? {
        switch find(name) {
        case .none: return nil
        case .text(let text): return text
        case .json(.string(let text)): return text
        case .json(.number(let text)) where Self.numericIdentifiers.contains(name) && text.allSatisfy(\.isNumber):
            return text
        case .json(let other):
            throw .invalidArgument(field: name, reason: "must be a string, not \(other.typeName)")
        }
    }

    func requiredString(_ name: String) throws(BillingError) -> String {
        guard let value = try string(name), !value.isEmpty else {
            throw .invalidArgument(field: name, reason: "is required")
        }
        return value
    }

    /// An integer field: a JSON integer in a body, decimal digits in a query.
    func int64(_ name: String) throws(BillingError) -> Int64? {
        let text: String
        switch find(name) {
        case .none: return nil
        case .text(let value): text = value
        case .json(.number(let value)): text = value
        case .json(let other):
            throw .invalidArgument(field: name, reason: "must be an integer, not \(other.typeName)")
        }
        guard let value = Int64(text) else {
            throw .invalidArgument(field: name, reason: "must be an integer within range")
        }
        return value
    }

    func int(_ name: String) throws(BillingError) -> Int? {
        guard let value = try int64(name) else { return nil }
        guard let narrowed = Int(exactly: value) else { throw .invalidArgument(field: name, reason: "out of range") }
        return narrowed
    }

    /// Money: `amount` in yuan (a JSON number or string, two decimals at most, read from
    /// its text) or `amount_fen` as an integer. Both given and disagreeing is an error.
    func amount() throws(BillingError) -> Fen? {
        let yuan: Fen? =
            switch find("amount") {
            case .none: nil
            case .text(let text), .json(.string(let text)), .json(.number(let text)):
                try Fen(yuanText: text, field: "amount")
            case .json(let other):
                throw .invalidArgument(field: "amount", reason: "must be a number or a string, not \(other.typeName)")
            }
        let fen: Fen? =
            switch find("amount_fen") {
            case .none: nil
            case .text(let text), .json(.number(let text)): try Fen(fenText: text, field: "amount_fen")
            case .json(let other):
                throw .invalidArgument(field: "amount_fen", reason: "must be an integer, not \(other.typeName)")
            }
        if let yuan, let fen, yuan != fen {
            throw .invalidArgument(field: "amount_fen", reason: "disagrees with amount")
        }
        return yuan ?? fen
    }

    static let dateRange = Date(timeIntervalSince1970: 0)...Date(timeIntervalSince1970: 253_402_300_799)

    /// RFC 3339 timestamps, with or without fractional seconds.
    func date(_ name: String) throws(BillingError) -> Date? {
        guard let text = try string(name) else { return nil }
        return try Self.date(text, field: name)
    }

    /// Parses `text` as an RFC 3339 timestamp between 1970 and 9999.
    static func date(_ text: String, field name: String) throws(BillingError) -> Date {
        let parsed = CalendarGuard.run {
            (try? Date(text, strategy: .iso8601))
                ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
        }
        // Bounded, so the microseconds sent to PostgreSQL always fit an Int64.
        if let parsed, Self.dateRange.contains(parsed) { return parsed }
        throw .invalidArgument(
            field: name, reason: "must be an RFC 3339 timestamp from 1970 to 9999 such as 2026-11-26T08:00:00Z")
    }

    private static func microFenPrice(_ text: String) throws(BillingError) -> UnitPrice {
        guard let value = Int64(text) else { throw .amountMalformed(field: "price_micro_fen") }
        return try UnitPrice(microFen: value, field: "price_micro_fen")
    }

    /// A unit price: `price` in yuan (text or number, up to 8 decimals) or `price_micro_fen`
    /// as an integer. Both given and disagreeing is an error; neither is "required".
    func unitPrice() throws(BillingError) -> UnitPrice {
        let yuan: UnitPrice? =
            switch find("price") {
            case .none: nil
            case .text(let text), .json(.string(let text)), .json(.number(let text)):
                try UnitPrice(yuanText: text, field: "price")
            case .json(let other):
                throw .invalidArgument(field: "price", reason: "must be a string such as \"0.0003\", not \(other.typeName)")
            }
        let micro: UnitPrice? =
            switch find("price_micro_fen") {
            case .none: nil
            case .text(let text), .json(.number(let text)): try Self.microFenPrice(text)
            case .json(let other):
                throw .invalidArgument(field: "price_micro_fen", reason: "must be an integer, not \(other.typeName)")
            }
        if let yuan, let micro, yuan != micro {
            throw .invalidArgument(field: "price_micro_fen", reason: "disagrees with price")
        }
        guard let price = yuan ?? micro else {
            throw .invalidArgument(field: "price", reason: "price (yuan text) or price_micro_fen is required")
        }
        return price
    }

    /// A body field of a PUT: absent keeps it, `null` clears it, an integer sets it.
    func integerChange(_ name: String) throws(BillingError) -> SettingChange<Int64> {
        let camel = Self.camelCase(name)
        guard let value = body.last(where: { $0.0 == name || $0.0 == camel })?.1 else { return .keep }
        switch value {
        case .null: return .clear
        case .number(let text):
            guard let number = Int64(text) else {
                throw .invalidArgument(field: name, reason: "must be an integer within range")
            }
            return .set(number)
        default: throw .invalidArgument(field: name, reason: "must be an integer or null, not \(value.typeName)")
        }
    }

    /// A body array of integers in a PUT: absent keeps it, `null` clears it (the defaults).
    func integersChange(_ name: String) throws(BillingError) -> SettingChange<[Int]> {
        let camel = Self.camelCase(name)
        guard let value = body.last(where: { $0.0 == name || $0.0 == camel })?.1 else { return .keep }
        switch value {
        case .null: return .clear
        case .array(let items):
            guard items.count <= 100 else { throw .invalidArgument(field: name, reason: "too many values") }
            var numbers: [Int] = []
            for item in items {
                guard case .number(let text) = item, let number = Int(text) else {
                    throw .invalidArgument(field: name, reason: "must be an array of integers")
                }
                numbers.append(number)
            }
            return .set(numbers)
        default: throw .invalidArgument(field: name, reason: "must be an array of integers or null")
        }
    }

    /// An array of strings (at most 100).
    func strings(_ name: String) throws(BillingError) -> [String] {
        let camel = Self.camelCase(name)
        guard let value = body.last(where: { $0.0 == name || $0.0 == camel })?.1 else {
            throw .invalidArgument(field: name, reason: "is required")
        }
        guard case .array(let items) = value, items.count <= 100 else {
            throw .invalidArgument(field: name, reason: "must be an array of strings")
        }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item else {
                throw .invalidArgument(field: name, reason: "must be an array of strings")
            }
            strings.append(text)
        }
        return strings
    }
}
