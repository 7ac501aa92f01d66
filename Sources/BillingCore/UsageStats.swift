/// "today" or "this month", in the configured time zone.
public enum StatsWindow: String, Sendable, Hashable {
    case today, month
}

/// One user's usage in a window, for one service or all.
public struct UsageStats: Sendable, Hashable {
    public let userId: String
    public let serviceName: String?
    public let window: StatsWindow
    public let usage: ServiceUsage
}

/// One user's usage over all time, in total and per service.
public struct UsageSummary: Sendable, Hashable {
    public let userId: String
    public let total: ServiceUsage
    /// Every catalog service (zero when unused), then any retired service that has records.
    public let services: [ServiceUsage]
}
