/// A developer's own limits (ledger-features.md §3): a monthly spend cap, a low-balance
/// threshold, and the percents of the cap at which to be told.
public struct UserSettings: Sendable, Hashable, Codable {
    public static let defaultCapAlertPercents = [50, 80, 100]
    /// Caps and thresholds are bounded like adjustments: at most 10¹³ fen.
    public static let maxFen: Int64 = 10_000_000_000_000
    public static let maxAlertPercents = 10

    public let monthlySpendCapFen: Fen?
    public let lowBalanceThresholdFen: Fen?
    /// Sorted, unique, each 1…100.
    public let capAlertPercents: [Int]

    public init(
        monthlySpendCapFen: Int64? = nil, lowBalanceThresholdFen: Int64? = nil,
        capAlertPercents: [Int] = UserSettings.defaultCapAlertPercents
    ) throws(BillingError) {
        self.monthlySpendCapFen = try Self.fen(monthlySpendCapFen, field: "monthly_spend_cap_fen")
        self.lowBalanceThresholdFen = try Self.fen(lowBalanceThresholdFen, field: "low_balance_threshold_fen")
        guard capAlertPercents.count <= Self.maxAlertPercents else {
            throw .invalidArgument(field: "cap_alert_percents", reason: "at most \(Self.maxAlertPercents) percents")
        }
        guard capAlertPercents.allSatisfy({ (1...100).contains($0) }) else {
            throw .invalidArgument(field: "cap_alert_percents", reason: "each percent is 1…100")
        }
        guard Set(capAlertPercents).count == capAlertPercents.count else {
            throw .invalidArgument(field: "cap_alert_percents", reason: "percents must be unique")
        }
        self.capAlertPercents = capAlertPercents.sorted()
    }

    /// No cap, no threshold, the default percents.
    public static let none = UserSettings(unchecked: ())

    private init(unchecked: Void) {
        monthlySpendCapFen = nil
        lowBalanceThresholdFen = nil
        capAlertPercents = Self.defaultCapAlertPercents
    }

    private static func fen(_ value: Int64?, field: String) throws(BillingError) -> Fen? {
        guard let value else { return nil }
        guard value >= 0 else { throw .invalidArgument(field: field, reason: "must not be negative") }
        guard value <= maxFen else { throw .amountOutOfRange(field: field) }
        return Fen(value)
    }
}

/// One field of a settings PUT: absent keeps it, an explicit null clears it.
public enum SettingChange<Value: Sendable & Hashable>: Sendable, Hashable {
    case keep
    case clear
    case set(Value)

    func applied(to current: Value?) -> Value? {
        switch self {
        case .keep: current
        case .clear: nil
        case .set(let value): value
        }
    }
}

/// A settings PUT.
public struct SettingsUpdate: Sendable, Hashable {
    public var monthlySpendCapFen: SettingChange<Int64> = .keep
    public var lowBalanceThresholdFen: SettingChange<Int64> = .keep
    /// Cleared means the defaults.
    public var capAlertPercents: SettingChange<[Int]> = .keep

    public init(
        monthlySpendCapFen: SettingChange<Int64> = .keep, lowBalanceThresholdFen: SettingChange<Int64> = .keep,
        capAlertPercents: SettingChange<[Int]> = .keep
    ) {
        self.monthlySpendCapFen = monthlySpendCapFen
        self.lowBalanceThresholdFen = lowBalanceThresholdFen
        self.capAlertPercents = capAlertPercents
    }

    /// The settings after this update, validated whole.
    public func applied(to settings: UserSettings) throws(BillingError) -> UserSettings {
        try UserSettings(
            monthlySpendCapFen: monthlySpendCapFen.applied(to: settings.monthlySpendCapFen?.value),
            lowBalanceThresholdFen: lowBalanceThresholdFen.applied(to: settings.lowBalanceThresholdFen?.value),
            capAlertPercents: capAlertPercents.applied(to: settings.capAlertPercents)
                ?? UserSettings.defaultCapAlertPercents)
    }
}
