import BillingCore
import BillingLogging
import Logging

/// `billing.log.format` (key_value or json, default key_value) and `billing.log.level`
/// (trace … critical, default info), for every executable.
public struct LogSettings: Sendable {
    public var format: LogFormat
    public var level: Logger.Level

    public init(format: LogFormat = .keyValue, level: Logger.Level = .info) {
        self.format = format
        self.level = level
    }

    public init(_ log: SettingsReader) throws(BillingError) {
        let formatText = log.string("format", default: LogFormat.keyValue.rawValue)
        guard let format = LogFormat(rawValue: formatText) else {
            throw .invalidConfiguration(key: log.fullKey("format"), reason: "must be key_value or json, not '\(formatText)'")
        }
        let levelText = log.string("level", default: Logger.Level.info.rawValue)
        guard let level = Logger.Level(rawValue: levelText) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidConfiguration(key: log.fullKey("level"), reason: "must be one of \(names), not '\(levelText)'")
        }
        self.init(format: format, level: level)
    }
}
