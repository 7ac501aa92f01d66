import BillingCore
import Foundation
import Testing

@Suite("Local days and day ranges for daily statistics")
struct DailyStatsTests {
    @Test("YYYY-MM-DD only, and only days that exist", arguments: [
        "2026-02-29", "2025-02-29", "1900-01-01", "2026-13-01", "2026-00-10", "2026-04-31", "2026-1-01", "2026-01-1",
        "20260101", "2026/01/01", "", "2026-01-01T00:00", " 2026-01-01", "٢٠٢٦-٠١-٠١", "+026-01-01",
    ])
    func refused(text: String) {
        #expect(throws: BillingError.self) { try LocalDay(text: text, field: "from") }
    }

    @Test("leap days, month and year ends")
    func calendar() throws {
        #expect(try LocalDay(text: "2028-02-29", field: "from").next.description == "2028-03-01")
        #expect(try LocalDay(text: "2000-02-28", field: "from").next.description == "2000-02-29")
        #expect(try LocalDay(text: "2026-12-31", field: "from").next.description == "2027-01-01")
        #expect(try LocalDay(text: "2027-01-01", field: "from").previous.description == "2026-12-31")
        #expect(try LocalDay(text: "2026-03-01", field: "from").previous.description == "2026-02-28")
        // Every day of four years, forth and back.
        var day = try LocalDay(text: "2024-01-01", field: "from")
        var seen = 0
        while day.year < 2028 {
            #expect(day.next.previous == day)
            #expect(try LocalDay(text: day.description, field: "from") == day)
            day = day.next
            seen += 1
        }
        #expect(seen == 366 + 365 * 3)
    }

    @Test("a range: both ends included, never backwards, at most 366 days")
    func ranges() throws {
        let from = try LocalDay(text: "2026-11-01", field: "from")
        let to = try LocalDay(text: "2026-11-30", field: "to")
        #expect(try DayRange(from: from, to: to).days.count == 30)
        #expect(try DayRange(from: to, to: to).days == [to])
        #expect(throws: BillingError.self) { try DayRange(from: to, to: from) }
        let yearLater = try LocalDay(text: "2027-11-01", field: "to")
        #expect(try DayRange(from: from, to: yearLater).days.count == 366)
        #expect(throws: BillingError.self) { try DayRange(from: from, to: yearLater.next) }
    }

    @Test("a day's bounds in a zone: midnight to midnight, 23 or 25 hours across DST")
    func bounds() throws {
        let shanghai = BillingCalendar.platformDefault
        let day = try LocalDay(text: "2026-11-29", field: "from")
        let bounds = shanghai.bounds(of: day)
        #expect(bounds.lowerBound == Date(timeIntervalSince1970: 1_795_881_600))  // 2026-11-28T16:00:00Z
        #expect(bounds.upperBound.timeIntervalSince(bounds.lowerBound) == 86_400)
        #expect(shanghai.day(containing: bounds.lowerBound) == day)
        #expect(shanghai.day(containing: bounds.upperBound.addingTimeInterval(-1)) == day)
        let berlin = try BillingCalendar(timeZoneIdentifier: "Europe/Berlin")
        let spring = berlin.bounds(of: try LocalDay(text: "2026-03-29", field: "from"))
        #expect(spring.upperBound.timeIntervalSince(spring.lowerBound) == 23 * 3_600)
    }
}
