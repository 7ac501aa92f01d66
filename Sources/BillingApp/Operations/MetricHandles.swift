import Synchronization

/// Metric handles by their labels, made once. The registry's own lookup (a lock, label
/// checks, the key built from the label strings) on every request cost ~2.5 % of the
/// server's CPU under load (issue 19's profile); a handle for the same labels is the same
/// object, so keeping it changes nothing else. The label sets are bounded (route patterns,
/// methods, status codes, modes), as they are in the registry.
final class MetricHandles<Key: Hashable & Sendable, Handle: Sendable>: Sendable {
    private let handles = Mutex<[Key: Handle]>([:])

    func handle(_ key: Key, make: () -> Handle) -> Handle {
        if let known = handles.withLock({ $0[key] }) { return known }
        let made = make()
        return handles.withLock { handles in
            if let known = handles[key] { return known }
            handles[key] = made
            return made
        }
    }
}
