import Foundation

/// A calendar day "YYYY-MM-DD" in the configured zone, checked to exist (no 2026-02-30).
public struct LocalDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Parses exactly `YYYY-MM-DD` (years 1970…9999); anything else is INVALID_ARGUMENT on `field`.
    public init(text: String, field: String) throws(BillingError) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1970...9999).contains(year), (1...12).contains(month),
            (1...Self.length(ofMonth: month, in: year)).contains(day)
        else { throw .invalidArgument(field: field, reason: "must be a date YYYY-MM-DD, not '\(text.prefix(32))'") }
        self.init(unchecked: year, month, day)
    }

    init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public var description: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }

    /// The next calendar day.
    public var next: LocalDay {
        if day < Self.length(ofMonth: month, in: year) { return LocalDay(unchecked: year, month, day + 1) }
        return month < 12 ? LocalDay(unchecked: year, month + 1, 1) : LocalDay(unchecked: year + 1, 1, 1)
    }

    /// The previous calendar day (1970-01-01 stays: no day before the epoch is kept).
    public var previous: LocalDay {
        if day > 1 { return LocalDay(unchecked: year, month, day - 1) }
        if month > 1 { return LocalDay(unchecked: year, month - 1, Self.length(ofMonth: month - 1, in: year)) }
        return year > 1970 ? LocalDay(unchecked: year - 1, 12, 31) : self
    }

    public static func < (lhs: LocalDay, rhs: LocalDay) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    static func length(ofMonth month: Int, in year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// `from` through `to`, both included, at most `Limits.maxStatsDays` days.
public struct DayRange: Sendable, Hashable {
    public let days: [LocalDay]

    public var from: LocalDay { days[0] }
    public var to: LocalDay { days[days.count - 1] }

    public init(from: LocalDay, to: LocalDay) throws(BillingError) {
        guard from <= to else { throw .invalidArgument(field: "to", reason: "is before from (\(from))") }
        var days = [from]
        while let last = days.last, last < to {
            guard days.count < Limits.maxStatsDays else {
                throw .invalidArgument(field: "to", reason: "a range covers at most \(Limits.maxStatsDays) days")
            }
            days.append(last.next)
        }
        self.days = days
    }
}

/// One day's usage: the total and each service used that day (net of refunds).
public struct DailyUsage: Sendable, Hashable {
    public let day: LocalDay
    public let total: ServiceUsage
    public let services: [ServiceUsage]
}

/// A user's usage per day over a range of days in `timeZone`, every day listed (zero when
/// nothing was used), with the range's total.
public struct DailyStats: Sendable, Hashable {
    public let userId: String
    public let timeZone: String
    public let days: [DailyUsage]
    public let total: ServiceUsage
}

extension BillingCalendar {
    /// [local midnight of `day`, local midnight of the next day).
    public func bounds(of day: LocalDay) -> Range<Date> {
        func start(_ day: LocalDay) -> Date {
            let parts = DateComponents(year: day.year, month: day.month, day: day.day)
            return CalendarGuard.run { calendar.date(from: parts) } ?? Date(timeIntervalSince1970: 0)
        }
        return start(day)..<start(day.next)
    }

    /// The local day `instant` falls in.
    public func day(containing instant: Date) -> LocalDay {
        let parts = CalendarGuard.run { calendar.dateComponents([.year, .month, .day], from: instant) }
        return LocalDay(unchecked: parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }
}
