import AsyncHTTPClient
import BillingCore
import BillingPostgres
import CallbackSigning
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Delivers outbox events to the registered endpoints (ledger-features.md §3): every
/// `interval` it fans new events out into deliveries, claims the due ones (shared with other
/// servers by SKIP LOCKED and a lease), POSTs each signed with its endpoint's secret
/// (`X-Billing-Signature: t=…,v1=…`, the callback scheme), and records the attempt. A
/// connection error, a timeout or a non-2xx answer is retried on `schedule`; then failed.
/// At least once: a receiver tells duplicates by the event `id`.
public struct WebhookDispatcher: Service {
    public static let defaultInterval: Duration = .seconds(1)
    static let batchLimit = 100
    /// Long enough for one attempt (the timeout) with room: a dispatcher killed mid-attempt
    /// leaves the delivery to the others after this.
    static let lease: Duration = .seconds(60)

    let store: PostgresWebhooks
    let client: HTTPClient
    let schedule: RetrySchedule
    let timeout: Duration
    let interval: Duration
    let metrics: BillingMetrics?
    let logger: Logger

    public init(
        store: PostgresWebhooks, client: HTTPClient = .shared, schedule: RetrySchedule = .standard,
        timeout: Duration = .seconds(10), interval: Duration = Self.defaultInterval, metrics: BillingMetrics? = nil,
        logger: Logger
    ) {
        self.store = store
        self.client = client
        self.schedule = schedule
        self.timeout = timeout
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await passOnce()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass: fan out, claim, deliver; returns how many attempts it made.
    @discardableResult
    public func passOnce() async -> Int {
        do {
            _ = try await store.fanOut()
            let jobs = try await store.claim(limit: Self.batchLimit, lease: Self.lease)
            await withTaskGroup(of: Void.self) { group in
                for job in jobs { group.addTask { await deliver(job) } }
            }
            metrics?.outboxAge(try await store.oldestPendingAge())
            return jobs.count
        } catch {
            logger.warning("webhook pass failed", metadata: ["error": "\(error)"])
            return 0
        }
    }

    private func deliver(_ job: PostgresWebhooks.Job) async {
        var request = HTTPClientRequest(url: job.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = Array(job.body.utf8)
        let signer = CallbackSignature(secret: job.secret)
        request.headers.add(
            name: CallbackSignature.headerName,
            value: signer.header(timestamp: Int64(Date().timeIntervalSince1970), body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        let started = ContinuousClock.now
        var status: Int?
        var failure: String?
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
            status = Int(response.status.code)
            _ = try? await response.body.collect(upTo: 64 * 1_024)
        } catch {
            failure = "\(error)"
        }
        let delivered = status.map { (200..<300).contains($0) } ?? false
        let retryAfter = delivered ? nil : schedule.delay(afterAttempts: job.attempt)
        metrics?.webhookAttempt(delivered ? "delivered" : (retryAfter == nil ? "failed" : "retry"))
        do {
            try await store.record(
                job, status: status, error: failure ?? (delivered ? nil : "HTTP \(status ?? 0)"),
                latency: ContinuousClock.now - started, delivered: delivered, retryAfter: retryAfter)
        } catch {
            // The lease runs out and the delivery is tried again: at least once, never lost.
            logger.warning("webhook attempt not recorded", metadata: ["delivery": "\(job.deliveryId)", "error": "\(error)"])
        }
    }
}
