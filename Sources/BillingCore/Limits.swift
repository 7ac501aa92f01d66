/// Bounds on every input the service accepts, named once so the transports,
/// the domain and the tests agree.
public enum Limits {
    public static let maxUserIdLength = 128
    public static let maxAppIdLength = 128
    public static let maxRequestIdLength = 128
    /// A gateway reports at most this many calls in one deduction.
    public static let maxCallCount = Int64(Int32.max)
    public static let minRechargeFen = Fen(1)
    /// 1,000,000.00 yuan.
    public static let maxRechargeFen = Fen(100_000_000)
    public static let maxPageSize = 100
    /// Days one daily-statistics request may cover (a year, leap day included).
    public static let maxStatsDays = 366
    public static let defaultPageSize = 20
    /// Deductions in one batch request.
    public static let maxBatchItems = 1_000

    /// Identifiers are printable ASCII without spaces: they end up in order ids, cache
    /// keys and logs, where anything else is a source of confusion or injection.
    public static func validateIdentifier(
        _ value: String, field: String, maxLength: Int
    ) throws(BillingError) -> String {
        guard !value.isEmpty else { throw .invalidArgument(field: field, reason: "must not be empty") }
        guard value.utf8.count <= maxLength else {
            throw .invalidArgument(field: field, reason: "must be at most \(maxLength) characters")
        }
        guard value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw .invalidArgument(field: field, reason: "must be printable ASCII without spaces")
        }
        return value
    }
}
