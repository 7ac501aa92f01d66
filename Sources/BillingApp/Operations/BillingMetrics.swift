import BillingCore
import BillingPostgres
import BillingRedis
import Prometheus

/// The service's Prometheus metrics, on a registry of its own (no global state, so tests
/// can build several applications in one process).
public final class BillingMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Series moved once per lane batch or cache read, looked up once: a registry lookup
    /// builds and validates the name and takes the registry's lock.
    private let laneBatchSize: ValueHistogram
    private let laneRetries: Counter
    private let laneKnownRows: Counter
    private let laneTransaction: DurationHistogram
    private let laneCacheWrite: DurationHistogram
    private let cacheReads: (hit: Counter, miss: Counter, fallback: Counter)
    private let cacheWriteFailures: Counter

    private static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]
    private static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    private static let holdLagBuckets: [Double] = [0.25, 0.5, 1, 2, 3, 4, 5, 7.5, 10, 30, 60]

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        laneBatchSize = registry.makeValueHistogram(
            descriptor: Self.named("billing_lane_batch_size", "Deductions committed per lane transaction"),
            buckets: Self.batchBuckets)
        laneRetries = registry.makeCounter(descriptor: Self.named("billing_lane_batch_retries_total", "Lane batches retried"))
        laneKnownRows = registry.makeCounter(
            descriptor: Self.named(
                "billing_lane_known_rows_batches_total",
                "Lane batches committed in one round trip from the rows the lane's last commits left"))
        laneTransaction = registry.makeDurationHistogram(
            descriptor: Self.named(
                "billing_lane_transaction_seconds",
                "A lane batch applied: computed, sent and committed (retries included), to the COMMIT's answer"),
            buckets: Self.latencyBuckets)
        laneCacheWrite = registry.makeDurationHistogram(
            descriptor: Self.named("billing_lane_cache_write_seconds", "Writing a committed batch's accounts to the cache"),
            buckets: Self.latencyBuckets)
        func cacheRead(_ result: String) -> Counter {
            registry.makeCounter(
                descriptor: Self.named("billing_cache_reads_total", "Account cache reads by result"),
                labels: [("result", result)])
        }
        cacheReads = (cacheRead("hit"), cacheRead("miss"), cacheRead("fallback"))
        cacheWriteFailures = registry.makeCounter(
            descriptor: Self.named("billing_cache_write_failures_total", "Account cache writes that did not reach Redis"))
        initializeSeries()
    }

    /// The series that alerts and the dashboard read but that only move on trouble exist
    /// from the start at zero: an absent series makes `rate()` and `> 0` alerts silently
    /// evaluate to nothing (deploy/prometheus/alerts.yaml).
    private func initializeSeries() {
        _ = registry.makeCounter(
            descriptor: Self.named("billing_lane_batch_failures_total", "Lane batches that failed, by error code"),
            labels: [("code", "UNAVAILABLE")])
        for result in ["ok", "unavailable", "timeout", "refused"] {
            _ = registry.makeDurationHistogram(
                descriptor: Self.named(
                    "billing_payment_service_call_duration_seconds", "Payment Service CreatePayment calls by result"),
                labels: [("result", result)], buckets: Self.latencyBuckets)
        }
        for outcome in ["delivered", "retry", "failed"] {
            _ = registry.makeCounter(
                descriptor: Self.named("billing_webhook_deliveries_total", "Webhook attempts by outcome"),
                labels: [("outcome", outcome)])
        }
        outboxAge(0)
        heldFen(0)
        _ = registry.makeValueHistogram(
            descriptor: Self.named("billing_hold_expiry_lag_seconds", "Seconds from a hold's expiresAt to its expiry"),
            buckets: Self.holdLagBuckets)
    }

    fileprivate static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private struct RequestLabels: Hashable, Sendable {
        let route: String
        let method: String
        let status: Int
    }

    private let requestHandles = MetricHandles<RequestLabels, (Counter, DurationHistogram)>()
    private let deductionHandles = MetricHandles<String, Counter>()

    private struct RPCLabels: Hashable, Sendable {
        let method: String
        let code: String
    }

    private let rpcHandles = MetricHandles<RPCLabels, (Counter, DurationHistogram)>()

    func request(route: String, method: String, status: Int, duration: Duration) {
        let (counter, histogram) = requestHandles.handle(RequestLabels(route: route, method: method, status: status)) {
            (
                registry.makeCounter(
                    descriptor: Self.named("http_requests_total", "HTTP requests by route, method and status"),
                    labels: [("route", route), ("method", method), ("status", String(status))]),
                registry.makeDurationHistogram(
                    descriptor: Self.named("http_request_duration_seconds", "HTTP request latency by route"),
                    labels: [("route", route), ("method", method)], buckets: Self.latencyBuckets)
            )
        }
        counter.increment()
        histogram.record(duration)
    }

    /// One RPC by its method and final status code.
    func rpc(method: String, code: String, duration: Duration) {
        let (counter, histogram) = rpcHandles.handle(RPCLabels(method: method, code: code)) {
            (
                registry.makeCounter(
                    descriptor: Self.named("grpc_requests_total", "gRPC calls by method and status code"),
                    labels: [("method", method), ("code", code)]),
                registry.makeDurationHistogram(
                    descriptor: Self.named("grpc_request_duration_seconds", "gRPC call latency by method"),
                    labels: [("method", method)], buckets: Self.latencyBuckets)
            )
        }
        counter.increment()
        histogram.record(duration)
    }

    func deduction(mode: String) {
        deductionHandles.handle(mode) {
            registry.makeCounter(
                descriptor: Self.named("billing_deductions_total", "Deductions by mode, replay or error code"),
                labels: [("mode", mode)])
        }.increment()
    }

    func recharge(outcome: String) {
        registry.makeCounter(
            descriptor: Self.named("billing_recharges_total", "Recharge starts by outcome"), labels: [("outcome", outcome)]).increment()
    }

    /// One CreatePayment call: `ok`, `unavailable`, `timeout` or `refused`.
    func paymentServiceCall(result: String, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: Self.named("billing_payment_service_call_duration_seconds", "Payment Service CreatePayment calls by result"),
            labels: [("result", result)], buckets: Self.latencyBuckets
        ).record(duration)
    }

    func callback(credited: Bool) {
        registry.makeCounter(
            descriptor: Self.named("billing_callbacks_total", "Payment callbacks handled, by whether they credited"),
            labels: [("credited", credited ? "true" : "false")]
        ).increment()
    }

    /// A hold expired by the sweeper, `lag` seconds after its expiresAt.
    func holdExpired(lag: Double) {
        registry.makeValueHistogram(
            descriptor: Self.named("billing_hold_expiry_lag_seconds", "Seconds from a hold's expiresAt to its expiry"),
            buckets: Self.holdLagBuckets
        ).record(max(0, lag))
        registry.makeCounter(
            descriptor: Self.named("billing_holds_total", "Hold operations by operation and outcome"),
            labels: [("operation", "expire"), ("outcome", "expired")]
        ).increment()
    }

    /// One webhook attempt: delivered, retry, or failed (for good).
    func webhookAttempt(_ outcome: String) {
        registry.makeCounter(
            descriptor: Self.named("billing_webhook_deliveries_total", "Webhook attempts by outcome"),
            labels: [("outcome", outcome)]
        ).increment()
    }

    /// Seconds since the oldest event still waiting for a delivery.
    func outboxAge(_ seconds: Double) {
        registry.makeGauge(
            descriptor: Self.named("billing_outbox_oldest_pending_seconds", "Age of the oldest undelivered event")
        ).set(seconds)
    }

    /// Fen kept by every pending hold, as the sweeper last read it.
    func heldFen(_ fen: Int64) {
        // A Prometheus sample is a float; the fen stay integers everywhere else (exact up to 2⁵³).
        registry.makeGauge(descriptor: Self.named("billing_held_fen", "Fen kept by pending holds"))
            .set(Double(fen))
    }

    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension BillingMetrics: LaneObserver {
    public func batchCommitted(lane: Int, size: Int, attempts: Int) {
        laneBatchSize.record(Double(size))
        if attempts > 1 { laneRetries.increment() }
    }

    public func knownRowsCommitted(lane: Int) { laneKnownRows.increment() }

    public func batchTimed(lane: Int, transaction: Duration, cache: Duration) {
        laneTransaction.record(transaction)
        laneCacheWrite.record(cache)
    }

    public func eventsWritten(_ types: [BillingEventType]) {
        for type in types { event(type) }
    }

    /// One event written to the outbox.
    func event(_ type: BillingEventType) {
        registry.makeCounter(
            descriptor: Self.named("billing_events_total", "Events written to the outbox, by type"),
            labels: [("type", type.rawValue)]
        ).increment()
    }

    public func batchFailed(lane: Int, size: Int, error: BillingError) {
        registry.makeCounter(
            descriptor: Self.named("billing_lane_batch_failures_total", "Lane batches that failed, by error code"),
            labels: [("code", error.code)]
        ).increment()
    }
}

extension BillingMetrics: CacheObserver {
    public func cacheHit() { cacheReads.hit.increment() }
    public func cacheMiss() { cacheReads.miss.increment() }
    public func cacheFallback() { cacheReads.fallback.increment() }
    public func cacheWriteFailed() { cacheWriteFailures.increment() }
}

/// Counted below the transports: HTTP and gRPC report through BillingService alike.
extension BillingMetrics: UseCaseObserver {
    public func deducted(_ outcome: Result<DeductionReceipt, BillingError>) {
        switch outcome {
        case .success(let receipt): deduction(mode: receipt.replayed ? "replay" : receipt.mode.rawValue)
        case .failure(let error): deduction(mode: error.code.lowercased())
        }
    }

    public func rechargeStarted(_ outcome: Result<RechargeOrder, BillingError>) {
        switch outcome {
        case .success: recharge(outcome: "created")
        case .failure(let error): recharge(outcome: error.code.lowercased())
        }
    }

    public func holdOperation(_ name: String, _ outcome: Result<LedgerOutcome, BillingError>) {
        let result: String
        switch outcome {
        case .success(.held(let answer)): result = answer.replayed ? "replay" : "held"
        case .success(.settled(let receipt, _)): result = receipt.replayed ? "replay" : "settled"
        case .success(.released(let hold)): result = hold.status.rawValue
        case .success(.deducted): result = "deducted"
        case .success(.refunded(let receipt)): result = receipt.replayed ? "replay" : "refunded"
        case .success(.adjusted(let receipt)): result = receipt.replayed ? "replay" : "adjusted"
        case .failure(let error): result = error.code.lowercased()
        }
        registry.makeCounter(
            descriptor: Self.named("billing_holds_total", "Hold operations by operation and outcome"),
            labels: [("operation", name), ("outcome", result)]
        ).increment()
    }

    public func settled(_ outcome: Result<Settlement, BillingError>) {
        guard case .success(let settlement) = outcome else { return }
        callback(credited: settlement.creditedFen.isPositive)
        if settlement.creditedFen.isPositive { event(.rechargeSucceeded) }
    }
}
