import Synchronization

/// The messages of one stream, handed out in groups: everything that arrived while the
/// previous group was being taken (at most `maxGroup`).
///
/// A gateway keeping hundreds of deductions in flight on a stream delivers them in bursts
/// (several per HTTP/2 read); sent to the lanes as one group and answered with one write,
/// they cost a continuation, a task and a flush per group instead of per message.
final class StreamInbox<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    let maxGroup: Int

    init(maxGroup: Int) { self.maxGroup = maxGroup }

    func push(_ element: Element) {
        let waiter = state.withLock { state in
            state.items.append(element)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// No more messages: `nextGroup` answers what is left, then nil.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The next group (never empty), waiting for its first message; nil once finished and drained.
    /// One taker at a time.
    func nextGroup() async -> [Element]? {
        while true {
            if let group = take() { return group.isEmpty ? nil : group }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state in
                    guard state.items.isEmpty, !state.finished else { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// A group, an empty array when finished and drained, nil when there is nothing yet.
    private func take() -> [Element]? {
        state.withLock { state in
            if state.items.isEmpty { return state.finished ? [] : nil }
            let count = min(state.items.count, maxGroup)
            let group = Array(state.items.prefix(count))
            state.items.removeFirst(count)
            return group
        }
    }
}
