import Foundation

/// Serialises every use of Foundation's ICU-backed calendars. On Linux, `Calendar`
/// instances used (or created) on several threads at once crash the process
/// (swiftlang/swift-foundation#1100 and relatives); a deduction lane and an HTTP
/// handler computing a period at the same moment did exactly that.
public enum CalendarGuard {
    private static let lock = NSLock()

    /// Runs `body` under the one lock every use of Foundation's `Calendar` takes.
    public static func run<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
