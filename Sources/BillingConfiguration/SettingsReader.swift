import Foundation
import BillingCore
import Configuration

/// Reads configuration values as text and parses them here, so every bad value is
/// reported with its full key (`billing.http.port`) instead of silently falling back.
public struct SettingsReader: Sendable {
    let reader: ConfigReader
    let prefix: String

    public init(reader: ConfigReader, prefix: String = "billing") {
        self.reader = reader.scoped(to: ConfigKey(prefix))
        self.prefix = prefix
    }

    private init(scoped reader: ConfigReader, prefix: String) {
        self.reader = reader
        self.prefix = prefix
    }

    public func scoped(_ name: String) -> SettingsReader {
        SettingsReader(scoped: reader.scoped(to: ConfigKey(name)), prefix: "\(prefix).\(name)")
    }

    public func fullKey(_ key: String) -> String { "\(prefix).\(key)" }

    /// This scope's own key (`billing.catalog`).
    public var key: String { prefix }

    public func string(_ key: String, isSecret: Bool = false) -> String? {
        reader.string(forKey: ConfigKey(key), isSecret: isSecret).flatMap { $0.isEmpty ? nil : $0 }
    }

    public func string(_ key: String, default value: String) -> String { string(key) ?? value }

    /// An absolute http(s) URL, as the Payment Service and browsers will be handed it.
    public func httpURL(_ key: String) throws(BillingError) -> String? {
        guard let value = string(key), !value.isEmpty else { return nil }
        guard value.hasPrefix("http://") || value.hasPrefix("https://"), value.utf8.count <= 2_048,
            !value.contains(where: \.isWhitespace)
        else {
            throw .invalidConfiguration(key: fullKey(key), reason: "'\(value)' is not an http(s) URL")
        }
        return value
    }

    public func int(_ key: String, default value: Int, in range: ClosedRange<Int>) throws(BillingError) -> Int {
        guard let text = string(key) else { return value }
        guard let parsed = Int(text), range.contains(parsed) else {
            throw .invalidConfiguration(
                key: fullKey(key), reason: "'\(text)' is not an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return parsed
    }

    public func int64(_ key: String, in range: ClosedRange<Int64>) throws(BillingError) -> Int64? {
        guard let text = string(key) else { return nil }
        guard let parsed = Int64(text), range.contains(parsed) else {
            throw .invalidConfiguration(
                key: fullKey(key), reason: "'\(text)' is not an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return parsed
    }

    public func bool(_ key: String, default value: Bool) throws(BillingError) -> Bool {
        guard let text = string(key) else { return value }
        switch text.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw .invalidConfiguration(key: fullKey(key), reason: "'\(text)' is not true or false")
        }
    }

    /// A list: a YAML sequence, or a comma-separated environment variable.
    public func list(_ key: String, isSecret: Bool = false) -> [String] {
        if let values = reader.stringArray(forKey: ConfigKey(key), isSecret: isSecret) {
            return values.filter { !$0.isEmpty }
        }
        guard let text = string(key, isSecret: isSecret) else { return [] }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
