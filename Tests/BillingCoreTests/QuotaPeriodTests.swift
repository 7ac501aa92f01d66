import BillingCore
import Foundation
import Testing

@Suite("Quota periods and day bounds in the configured time zone")
struct QuotaPeriodTests {
    let shanghai = BillingCalendar.platformDefault

    @Test("the period is the calendar month in Asia/Shanghai, not in UTC")
    func shanghaiMonth() {
        // 2026-12-31 16:30 UTC is already 2027-01-01 00:30 in Shanghai.
        let instant = date("2026-12-31 16:30:00", in: "UTC")
        #expect(shanghai.period(containing: instant) == period("2027-01"))
        #expect(BillingCalendar(timeZone: .gmt).period(containing: instant) == period("2026-12"))
    }

    @Test("next and previous cross the year boundary")
    func yearBoundary() {
        #expect(period("2026-12").next == period("2027-01"))
        #expect(period("2027-01").previous == period("2026-12"))
        #expect(period("2026-05").next.text == "2026-06")
    }

    @Test("the text is YYYY-MM for every year, parses back, and sorts as the periods do")
    func textRoundTrip() throws {
        let years = [1, 9, 10, 99, 100, 999, 1000, 2026, 9999]
        let periods = try years.flatMap { year in try (1...12).map { try QuotaPeriod(year: year, month: $0) } }
        for value in periods {
            #expect(value.text.utf8.count == 7)
            #expect(try QuotaPeriod(text: value.text) == value)
        }
        #expect(periods.map(\.text) == periods.sorted().map(\.text).sorted())
        #expect(period("0001-01").text == "0001-01")
        #expect(period("9999-12").next.text == "10000-01")
        #expect(period("0001-01").previous.text == "0000-12")
    }

    @Test("a leap February has 29 days and Feb 29 belongs to February")
    func leapDay() {
        let bounds = shanghai.bounds(of: period("2028-02"))
        #expect(bounds.upperBound.timeIntervalSince(bounds.lowerBound) == 29 * 86_400)
        #expect(shanghai.period(containing: date("2028-02-29 23:59:59")) == period("2028-02"))
        #expect(shanghai.period(containing: date("2028-03-01 00:00:00")) == period("2028-03"))
    }

    @Test("Asia/Kolkata's half-hour offset moves the month boundary by 5:30")
    func kolkata() throws {
        let kolkata = try BillingCalendar(timeZoneIdentifier: "Asia/Kolkata")
        #expect(kolkata.period(containing: date("2026-01-31 18:29:59", in: "UTC")) == period("2026-01"))
        #expect(kolkata.period(containing: date("2026-01-31 18:30:00", in: "UTC")) == period("2026-02"))
        #expect(kolkata.bounds(of: period("2026-02")).lowerBound == date("2026-01-31 18:30:00", in: "UTC"))
    }

    @Test("a DST day in America/New_York is 23 hours long, its month still whole")
    func newYorkDST() throws {
        let newYork = try BillingCalendar(timeZoneIdentifier: "America/New_York")
        let day = newYork.dayBounds(containing: date("2026-03-08 12:00:00", in: "America/New_York"))
        #expect(day.upperBound.timeIntervalSince(day.lowerBound) == 23 * 3600)
        #expect(day.lowerBound == date("2026-03-08 05:00:00", in: "UTC"))
        let march = newYork.bounds(of: period("2026-03"))
        #expect(march.upperBound.timeIntervalSince(march.lowerBound) == 31 * 86_400 - 3600)
        let fallBack = newYork.dayBounds(containing: date("2026-11-01 12:00:00", in: "America/New_York"))
        #expect(fallBack.upperBound.timeIntervalSince(fallBack.lowerBound) == 25 * 3600)
    }

    @Test("today is local midnight to local midnight")
    func shanghaiDay() {
        let day = shanghai.dayBounds(containing: date("2026-11-26 00:10:00"))
        #expect(day.lowerBound == date("2026-11-25 16:00:00", in: "UTC"))
        #expect(day.upperBound == date("2026-11-26 16:00:00", in: "UTC"))
    }

    @Test("periods parse exactly YYYY-MM", arguments: ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "", "abcd-ef"])
    func rejectsBadPeriods(text: String) {
        #expect(throws: BillingError.self) { try QuotaPeriod(text: text) }
    }

    @Test("periods order by year then month")
    func ordering() {
        #expect(period("2026-12") < period("2027-01"))
        #expect(period("2026-02") < period("2026-10"))
    }

    @Test("an unknown time zone is a configuration error naming the key")
    func unknownZone() {
        #expect(throws: BillingError.invalidConfiguration(key: "billing.time_zone", reason: "unknown time zone 'Mars/Olympus'")) {
            try BillingCalendar(timeZoneIdentifier: "Mars/Olympus")
        }
    }
}
