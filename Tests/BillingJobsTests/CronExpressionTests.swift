import BillingCore
@testable import BillingJobs
import Foundation
import Testing
import TestSupport

func at(_ text: String, _ zone: String = "Asia/Shanghai") -> Date { testDate(text, in: zone) }

@Suite("Six-field cron expressions")
struct CronExpressionTests {
    @Test(
        "next fire times",
        arguments: [
            // expression, after, expected, zone
            ("0 0 0 1 * *", "2026-11-26 10:00:00", "2026-12-01 00:00:00", "Asia/Shanghai"),
            ("0 0 0 1 * *", "2026-12-15 00:00:00", "2027-01-01 00:00:00", "Asia/Shanghai"),
            ("0 0 0 1 * *", "2026-12-01 00:00:00", "2027-01-01 00:00:00", "Asia/Shanghai"),
            ("0 */5 * * * *", "2026-11-26 10:03:17", "2026-11-26 10:05:00", "Asia/Shanghai"),
            ("0 */5 * * * *", "2026-11-26 23:59:00", "2026-11-27 00:00:00", "Asia/Shanghai"),
            ("*/15 * * * * *", "2026-11-26 10:00:14", "2026-11-26 10:00:15", "Asia/Shanghai"),
            ("0 30 3 * * *", "2026-11-26 03:30:00", "2026-11-27 03:30:00", "Asia/Shanghai"),
            ("0 0 12 29 2 *", "2026-03-01 00:00:00", "2028-02-29 12:00:00", "Asia/Shanghai"),
            ("0 0 0 * * MON", "2026-11-26 10:00:00", "2026-11-30 00:00:00", "Asia/Shanghai"),
            ("0 0 9 * * 1-5", "2026-11-28 10:00:00", "2026-11-30 09:00:00", "Asia/Shanghai"),
            ("0 0 0 * * 7", "2026-11-26 10:00:00", "2026-11-29 00:00:00", "Asia/Shanghai"),
            ("0 0 8 1,15 JAN,JUL *", "2026-11-26 10:00:00", "2027-01-01 08:00:00", "Asia/Shanghai"),
            ("0 0 0 13 * FRI", "2026-11-26 10:00:00", "2026-11-27 00:00:00", "Asia/Shanghai"),
            ("0 0 0 31 * *", "2026-11-26 10:00:00", "2026-12-31 00:00:00", "Asia/Shanghai"),
            ("0 0 0 1 * *", "2026-11-30 18:29:59", "2026-12-01 00:00:00", "Asia/Kolkata"),
            // DST in New York: 2026-03-08 02:00 jumps to 03:00; 2026-11-01 02:00 falls back to 01:00.
            ("0 30 2 * * *", "2026-03-08 00:00:00", "2026-03-08 03:30:00", "America/New_York"),
            ("0 30 2 * * *", "2026-03-08 04:00:00", "2026-03-09 02:30:00", "America/New_York"),
            ("0 0 0 * * *", "2026-03-07 12:00:00", "2026-03-08 00:00:00", "America/New_York"),
        ])
    func nextFire(expression: String, after: String, expected: String, zone: String) throws {
        let cron = try CronExpression(expression)
        let next = cron.nextFire(after: at(after, zone), in: try #require(TimeZone(identifier: zone)))
        #expect(next == at(expected, zone))
    }

    @Test("a wall time that happens twice on a fall-back day fires once")
    func fallBackOnce() throws {
        let zone = try #require(TimeZone(identifier: "America/New_York"))
        let cron = try CronExpression("0 30 1 * * *")
        let first = try #require(cron.nextFire(after: at("2026-11-01 00:00:00", "America/New_York"), in: zone))
        #expect(first == at("2026-11-01 05:30:00", "UTC"), "01:30 EDT, the first of the two 01:30s")
        let second = try #require(cron.nextFire(after: first, in: zone))
        #expect(second.timeIntervalSince(first) > 86_000)
    }

    @Test(
        "malformed expressions are rejected",
        arguments: ["", "* * * * *", "60 * * * * *", "* * 24 * * *", "* * * 0 * *", "* * * * 13 *", "* * * * * 8",
                    "*/0 * * * * *", "5-1 * * * * *", "* * * * FOO *", "1,,2 * * * * *", "a * * * * *"])
    func malformed(text: String) {
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(text) }
    }

    @Test("an expression that can never match has no next fire time")
    func never() throws {
        #expect(try CronExpression("0 0 0 30 2 *").nextFire(after: Date(), in: .gmt) == nil)
    }

    @Test("weekday arithmetic agrees with Foundation over years of days")
    func weekdays() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        var day = at("2024-01-01 00:00:00", "GMT")
        for _ in 0..<1_500 {
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            let clock = WallClock(
                year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0, hour: 0, minute: 0, second: 0)
            #expect(clock.weekday == (parts.weekday ?? 0) - 1)
            day = day.addingTimeInterval(86_400)
        }
    }
}
