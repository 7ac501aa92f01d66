import Synchronization

/// The router's path patterns (`/a/{id}/b`), filled once the routes are registered.
final class KnownPaths: Sendable {
    private let patterns = Mutex<[[Substring]]>([])

    func set(_ paths: [String]) {
        patterns.withLock { $0 = paths.map { $0.split(separator: "/") } }
    }

    func contains(_ path: String) -> Bool {
        let components = path.split(separator: "/")
        return patterns.withLock { patterns in
            patterns.contains { pattern in
                pattern.count == components.count
                    && zip(pattern, components).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
            }
        }
    }
}
