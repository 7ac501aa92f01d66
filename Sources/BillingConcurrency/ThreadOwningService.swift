import ServiceLifecycle

/// A component that owns threads (and the connections on them): `init` only stores its
/// settings, `start()` begins the work, `shutdown()` lets queued work finish and stops.
/// As a `Service`, `run()` is start, wait for graceful shutdown (or cancellation), drain:
/// a ServiceGroup starts such services in its list's order and stops them in reverse.
/// Owners outside a ServiceGroup (tests, one-shot commands) call `start()` and
/// `shutdown()` themselves.
public protocol ThreadOwningService: Service {
    /// Starts the threads; calling it again does nothing.
    func start()
    /// Refuses new work, finishes what is queued, stops the threads. Starts them first if
    /// they never were, so nothing queued is left unanswered.
    func shutdown() async
}

extension ThreadOwningService {
    /// `start()`, then the component itself: for owners outside a ServiceGroup.
    public func started() -> Self {
        start()
        return self
    }

    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await shutdown()
    }
}
