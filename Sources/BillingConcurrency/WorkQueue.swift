import Foundation
import Synchronization

/// A bounded FIFO between async callers and the blocking threads that own the database
/// connections. Callers never block: a full queue refuses at once.
///
/// `@unchecked Sendable`: every field is read and written only under `condition`.
public final class WorkQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var head = 0
    private var stopping = false
    public let capacity: Int
    static var compactionThreshold: Int { 1_024 }

    public init(capacity: Int) { self.capacity = capacity }

    public enum Refusal: Sendable { case full, stopped }

    /// Adds an item, or says why it cannot.
    public func push(_ item: Item) -> Refusal? {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return .stopped }
        guard items.count - head < capacity else { return .full }
        items.append(item)
        condition.signal()
        return nil
    }

    /// Waits for work and takes up to `max` items in arrival order; returns an empty
    /// array only once the queue is stopped and drained.
    public func take(max: Int) -> [Item] {
        condition.lock()
        defer { condition.unlock() }
        while items.count == head, !stopping { condition.wait() }
        let end = Swift.min(items.count, head + max)
        let taken = Array(items[head..<end])
        head = end
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= Self.compactionThreshold, head * 2 >= items.count {
            // Under sustained load the queue may never run empty: drop the consumed slots
            // once they are at least half of the storage (amortised O(1) per item), so the
            // storage stays within twice what is waiting.
            items.removeFirst(head)
            head = 0
        }
        return taken
    }

    /// Slots held, consumed or not (for tests of the storage bound).
    public var storageCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count
    }

    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count - head
    }

    /// Refuses new items; the consumers drain what is queued, then see an empty take.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Threads started by an owner that waits for them to finish.
public final class WorkerThreads: Sendable {
    private let done = DispatchGroup()
    private let began = Mutex(false)

    public init() {}

    /// True the first time only, so an owner starts its threads once.
    public func beginOnce() -> Bool {
        began.withLock { began in
            defer { began = true }
            return !began
        }
    }

    public func start(name: String, _ body: @escaping @Sendable () -> Void) {
        done.enter()
        let group = done
        let thread = Thread {
            body()
            group.leave()
        }
        thread.name = name
        thread.start()
    }

    public func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            done.notify(queue: .global()) { continuation.resume() }
        }
    }
}
