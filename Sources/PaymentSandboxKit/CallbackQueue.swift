import ServiceLifecycle

/// Delayed callbacks (`callbackDelay`): sent in the background, each in a child task of
/// this service, so they end with the sandbox instead of outliving it.
final class CallbackQueue: Service, Sendable {
    private struct Job: Sendable {
        let payment: SandboxPayment
        let tampering: CallbackSender.Tampering
    }

    private let sender: CallbackSender
    private let delay: Duration
    private let jobs: AsyncStream<Job>
    private let submit: AsyncStream<Job>.Continuation

    init(sender: CallbackSender, delay: Duration) {
        self.sender = sender
        self.delay = delay
        (jobs, submit) = AsyncStream.makeStream(of: Job.self)
    }

    func enqueue(_ payment: SandboxPayment, tampering: CallbackSender.Tampering) {
        submit.yield(Job(payment: payment, tampering: tampering))
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs.cancelOnGracefulShutdown() {
                group.addTask { [sender, delay] in
                    // Cancelled at shutdown: a callback still waiting is dropped, like a
                    // Payment Service restarting before its retry.
                    guard (try? await Task.sleep(for: delay)) != nil else { return }
                    _ = await sender.deliver(job.payment, tampering: job.tampering)
                }
            }
            group.cancelAll()
        }
    }
}
