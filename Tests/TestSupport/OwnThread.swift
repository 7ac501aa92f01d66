import Foundation

/// Blocking work — a child process waited for, a blocking socket — on a thread of its own.
/// On the cooperative pool (two threads on this machine) it stalls every other test of the
/// parallel run: two cron processes waited for there (~20 s under load) kept the scheduler
/// tests' timers from firing at all.
public enum OwnThread {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
