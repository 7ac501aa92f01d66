import BillingCore
import Foundation

/// `"2026-11-30 23:59:59"` in a zone, for tests that read like the calendar.
public func testDate(_ text: String, in zone: String = "Asia/Shanghai") -> Date {
    CalendarGuard.run {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: zone)
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        guard let date = formatter.date(from: text) else { preconditionFailure("bad test date \(text)") }
        return date
    }
}
