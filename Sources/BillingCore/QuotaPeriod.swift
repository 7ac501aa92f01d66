import Foundation

/// A calendar month "YYYY-MM": the period a free quota belongs to.
public struct QuotaPeriod: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    /// Years 1 … 9999, months 1 … 12; anything else is INVALID_ARGUMENT.
    public init(year: Int, month: Int) throws(BillingError) {
        guard (1...9999).contains(year), (1...12).contains(month) else {
            throw .invalidArgument(field: "period", reason: "a period is YYYY-MM with a month from 01 to 12")
        }
        self.year = year
        self.month = month
    }

    /// Parses "YYYY-MM" exactly (four digits, a dash, two digits).
    public init(text: String) throws(BillingError) {
        let bytes = Array(text.utf8)
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-"),
            bytes[0..<4].allSatisfy(isDigit), bytes[5..<7].allSatisfy(isDigit),
            let year = Int(String(text.prefix(4))), let month = Int(String(text.suffix(2)))
        else {
            throw .invalidArgument(field: "period", reason: "a period is written YYYY-MM, e.g. 2026-01")
        }
        try self.init(year: year, month: month)
    }

    /// "YYYY-MM". Written from its digits: the lanes write it for every record and quota row,
    /// and formatting through string interpolation was a visible share of a batch's CPU.
    public var text: String {
        guard (0...9999).contains(year), (1...12).contains(month) else {
            // Only `next`/`previous` at the ends of the range get here.
            let yearText = String(year)
            return String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText + "-"
                + (month < 10 ? "0" : "") + String(month)
        }
        let digits: [UInt8] = [
            UInt8(year / 1000), UInt8(year / 100 % 10), UInt8(year / 10 % 10), UInt8(year % 10),
            0, UInt8(month / 10), UInt8(month % 10),
        ]
        return String(unsafeUninitializedCapacity: 7) { buffer in
            for (index, digit) in digits.enumerated() {
                buffer[index] = index == 4 ? UInt8(ascii: "-") : UInt8(ascii: "0") + digit
            }
            return 7
        }
    }

    public var description: String { text }

    public var next: QuotaPeriod {
        month == 12 ? Self(unchecked: year + 1, 1) : Self(unchecked: year, month + 1)
    }

    public var previous: QuotaPeriod {
        month == 1 ? Self(unchecked: year - 1, 12) : Self(unchecked: year, month - 1)
    }

    public static func < (lhs: QuotaPeriod, rhs: QuotaPeriod) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }

    private init(unchecked year: Int, _ month: Int) {
        self.year = year
        self.month = month
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(text: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// Periods and day bounds in the configured time zone. Every "today" and "this month"
/// of the service is computed here, so a zone with a half-hour offset or a DST change
/// is handled in one place.
public struct BillingCalendar: Sendable {
    public let timeZone: TimeZone
    let calendar: Calendar

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
        calendar = CalendarGuard.run {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            return calendar
        }
    }

    /// An IANA zone such as `Asia/Shanghai`; an unknown one is INVALID_CONFIGURATION naming
    /// `configKey`.
    public init(timeZoneIdentifier: String, configKey: String = "billing.time_zone") throws(BillingError) {
        guard let zone = CalendarGuard.run({ TimeZone(identifier: timeZoneIdentifier) }) else {
            throw .invalidConfiguration(key: configKey, reason: "unknown time zone '\(timeZoneIdentifier)'")
        }
        self.init(timeZone: zone)
    }

    public static let platformDefault = BillingCalendar(timeZone: TimeZone(identifier: "Asia/Shanghai") ?? .gmt)

    /// The calendar month, in this zone, that `instant` falls in.
    public func period(containing instant: Date) -> QuotaPeriod {
        let parts = CalendarGuard.run { calendar.dateComponents([.year, .month], from: instant) }
        // Gregorian components of a real Date are always in range.
        return (try? QuotaPeriod(year: parts.year ?? 1970, month: parts.month ?? 1))
            ?? QuotaPeriod.epoch
    }

    /// [first instant of the month, first instant of the next month).
    public func bounds(of period: QuotaPeriod) -> Range<Date> {
        start(of: period)..<start(of: period.next)
    }

    /// [local midnight, next local midnight) of the day containing `instant`;
    /// 23 or 25 hours long on a DST change.
    public func dayBounds(containing instant: Date) -> Range<Date> {
        CalendarGuard.run {
            let start = calendar.startOfDay(for: instant)
            let end = calendar.date(byAdding: .day, value: 1, to: start) ?? start.addingTimeInterval(86_400)
            return start..<end
        }
    }

    private func start(of period: QuotaPeriod) -> Date {
        let parts = DateComponents(year: period.year, month: period.month, day: 1)
        return CalendarGuard.run { calendar.date(from: parts) } ?? Date(timeIntervalSince1970: 0)
    }
}

extension QuotaPeriod {
    static let epoch = QuotaPeriod(unchecked: 1970, 1)
    /// January 1970: a placeholder before a period is known.
    public static let epochPeriod = epoch
}
