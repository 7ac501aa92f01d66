import BillingCore
import Foundation

/// A six-field cron expression — seconds, minutes, hours, day of month, month, day of
/// week — with `*`, `?`, lists, ranges, steps and month/day names, evaluated on the wall
/// clock of a time zone.
///
/// Day of month and day of week follow classic cron: when both are restricted, a day
/// matching either fires. Across DST: a wall time that does not exist (skipped by a
/// spring-forward) fires at the instant the same amount after the jump, as Foundation
/// maps it (02:30 → 03:30); a wall time that happens twice (fall-back) fires once, on its
/// first occurrence.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public let description: String
    let seconds: Set<Int>
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    let daysOfWeek: Set<Int>
    let daysOfMonthRestricted: Bool
    let daysOfWeekRestricted: Bool

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    public init(_ text: String) throws(ParseError) {
        let fields = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 6 else {
            throw ParseError(description: "'\(text)': expected 6 fields (sec min hour day-of-month month day-of-week)")
        }
        description = text
        seconds = try Self.field(fields[0], 0...59, name: "seconds")
        minutes = try Self.field(fields[1], 0...59, name: "minutes")
        hours = try Self.field(fields[2], 0...23, name: "hours")
        daysOfMonth = try Self.field(fields[3], 1...31, name: "day of month")
        months = try Self.field(fields[4], 1...12, name: "month", names: Self.monthNames, firstNameValue: 1)
        // 7 is Sunday too.
        daysOfWeek = Set(
            try Self.field(fields[5], 0...7, name: "day of week", names: Self.dayNames, firstNameValue: 0).map { $0 % 7 })
        daysOfMonthRestricted = !Self.isUnrestricted(fields[3])
        daysOfWeekRestricted = !Self.isUnrestricted(fields[5])
    }

    private static func isUnrestricted(_ field: String) -> Bool { field == "*" || field == "?" }

    private static func field(
        _ text: String, _ bounds: ClosedRange<Int>, name: String, names: [String] = [], firstNameValue: Int = 0
    ) throws(ParseError) -> Set<Int> {
        func value(_ token: Substring) throws(ParseError) -> Int {
            if let number = Int(token), bounds.contains(number) { return number }
            if let index = names.firstIndex(of: token.uppercased()) { return index + firstNameValue }
            throw ParseError(description: "\(name): '\(token)' is not in \(bounds.lowerBound)-\(bounds.upperBound)")
        }
        var result = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, let rangeText = pieces.first, !rangeText.isEmpty else {
                throw ParseError(description: "\(name): '\(part)' is malformed")
            }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw ParseError(description: "\(name): step '\(pieces[1])' must be a positive number")
                }
                step = parsed
            }
            let range: ClosedRange<Int>
            if rangeText == "*" || rangeText == "?" {
                range = bounds
            } else if let dash = rangeText.firstIndex(of: "-") {
                let low = try value(rangeText[..<dash])
                let high = try value(rangeText[rangeText.index(after: dash)...])
                guard low <= high else { throw ParseError(description: "\(name): range '\(rangeText)' runs backwards") }
                range = low...high
            } else {
                let start = try value(rangeText)
                // "a/n" means from a to the end, every n.
                range = pieces.count == 2 ? start...bounds.upperBound : start...start
            }
            result.formUnion(stride(from: range.lowerBound, through: range.upperBound, by: step))
        }
        return result
    }

    /// The first instant strictly after `instant` that matches, or nil within 8 years
    /// (an expression such as Feb 30 never matches).
    public func nextFire(after instant: Date, in timeZone: TimeZone) -> Date? {
        CalendarGuard.run { nextFireUnguarded(after: instant, in: timeZone) }
    }

    private func nextFireUnguarded(after instant: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = instant.addingTimeInterval(1 - instant.timeIntervalSince1970.truncatingRemainder(dividingBy: 1))
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: start)
        var clock = WallClock(
            year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1, hour: parts.hour ?? 0,
            minute: parts.minute ?? 0, second: parts.second ?? 0)
        let limitYear = clock.year + 8
        while clock.year <= limitYear {
            guard months.contains(clock.month) else {
                clock.advanceMonth()
                continue
            }
            guard dayMatches(clock) else {
                clock.advanceDay()
                continue
            }
            guard hours.contains(clock.hour) else {
                clock.advanceHour()
                continue
            }
            guard minutes.contains(clock.minute) else {
                clock.advanceMinute()
                continue
            }
            guard seconds.contains(clock.second) else {
                clock.advanceSecond()
                continue
            }
            if let date = calendar.date(from: clock.components), date > instant {
                return date
            }
            clock.advanceSecond()
        }
        return nil
    }

    private func dayMatches(_ clock: WallClock) -> Bool {
        let dayOfMonth = daysOfMonth.contains(clock.day)
        let dayOfWeek = daysOfWeek.contains(clock.weekday)
        switch (daysOfMonthRestricted, daysOfWeekRestricted) {
        case (true, true): return dayOfMonth || dayOfWeek
        case (true, false): return dayOfMonth
        case (false, true): return dayOfWeek
        case (false, false): return true
        }
    }
}

/// Gregorian wall-clock arithmetic, independent of any time zone.
struct WallClock {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int

    var components: DateComponents {
        DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// 0 = Sunday, by Zeller-style arithmetic (Sakamoto's method).
    var weekday: Int {
        let offsets = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4]
        let y = month < 3 ? year - 1 : year
        return (y + y / 4 - y / 100 + y / 400 + offsets[month - 1] + day) % 7
    }

    mutating func advanceMonth() {
        month += 1
        if month > 12 {
            month = 1
            year += 1
        }
        day = 1
        hour = 0
        minute = 0
        second = 0
    }

    mutating func advanceDay() {
        day += 1
        if day > Self.days(inMonth: month, of: year) {
            advanceMonth()
            return
        }
        hour = 0
        minute = 0
        second = 0
    }

    mutating func advanceHour() {
        hour += 1
        if hour > 23 {
            advanceDay()
            return
        }
        minute = 0
        second = 0
    }

    mutating func advanceMinute() {
        minute += 1
        if minute > 59 {
            advanceHour()
            return
        }
        second = 0
    }

    mutating func advanceSecond() {
        second += 1
        if second > 59 { advanceMinute() }
    }
}
