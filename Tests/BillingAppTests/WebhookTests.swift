@testable import BillingApp
import BillingCore
import BillingPostgres
import Foundation
import PaymentSandboxKit
import Testing

/// Webhooks end to end: events from the outbox to the payment sandbox's receiver, signed,
/// retried, never lost, never sent twice by two dispatchers (ledger-features.md §3).
@Suite("Webhooks: signed, retried, delivered once per event", .timeLimit(.minutes(2)))
struct WebhookTests {
    static let adminToken = "test-admin-token-0123456789"
    static let admin = ["Authorization": "Bearer \(adminToken)", "X-Operator": "ops erin"]
    static let environment = [
        "BILLING_AUTH_ADMIN_TOKENS": adminToken, "BILLING_WEBHOOKS_INTERVAL_MS": "50",
        "BILLING_WEBHOOKS_RETRY_DELAYS_MS": "100,100,100",
    ]

    func register(_ sandboxed: SandboxedApp, secret: String = SandboxOptions().webhookSecret) async throws -> TestApp.Reply {
        try await sandboxed.app.send(
            .post, "/admin/v1/billing/webhooks/endpoints",
            json: #"{"url": "http://127.0.0.1:\#(sandboxed.sandbox.httpPort)/webhooks", "secret": "\#(secret)", "events": ["adjustment.created"]}"#,
            headers: Self.admin)
    }

    func adjust(_ sandboxed: SandboxedApp, _ id: String) async throws {
        let reply = try await sandboxed.app.send(
            .post, "/admin/v1/billing/adjustments",
            json: #"{"adjustment_id": "\#(id)", "user_id": "wh", "amount_fen": 5, "reason": "webhook test"}"#,
            headers: Self.admin)
        #expect(reply.status == 200, "\(reply.text)")
    }

    func waitFor(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<200 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out")
    }

    @Test("a receiver that answers 500 twice then 200 gets the event three times with the same id, each signed")
    func retries() async throws {
        try await SandboxedApp.with(environment: Self.environment) { sandboxed in
            let inbox = sandboxed.sandbox.webhooks
            let registered = try await register(sandboxed)
            #expect(registered.status == 200 && registered.data?["secret"] == nil, "the secret is never shown")
            inbox.fail(next: 2)
            try await adjust(sandboxed, "a1")
            try await waitFor { inbox.received.contains { $0.answered == 200 } }
            let received = inbox.received
            #expect(received.map(\.answered) == [500, 500, 200])
            #expect(Set(received.map(\.eventId)).count == 1 && received.allSatisfy(\.signatureValid))
            #expect(received.first?.type == "adjustment.created")
            try await waitFor {
                let list = try await sandboxed.app.send(.get, "/admin/v1/billing/webhooks/deliveries", headers: Self.admin)
                return list.data?["deliveries"]?[0]?["status"] == .string("delivered")
            }
            let list = try await sandboxed.app.send(.get, "/admin/v1/billing/webhooks/deliveries", headers: Self.admin)
            #expect(list.data?["deliveries"]?[0]?["attempts"] == .int(3))
            let attempts = try await sandboxed.app.parts.pool.withConnection { connection in
                try connection.query("SELECT count(*) FROM webhook_attempt")[0].int64(0)
            }
            #expect(attempts == 3)
        }
    }

    @Test("a wrong secret never verifies: the delivery fails after the last retry; resend tries again")
    func wrongSecret() async throws {
        try await SandboxedApp.with(environment: Self.environment) { sandboxed in
            _ = try await register(sandboxed, secret: "not-the-sandbox-secret-000")
            try await adjust(sandboxed, "a1")
            try await waitFor {
                let list = try await sandboxed.app.send(.get, "/admin/v1/billing/webhooks/deliveries", headers: Self.admin)
                return list.data?["deliveries"]?[0]?["status"] == .string("failed")
            }
            let received = sandboxed.sandbox.webhooks.received
            #expect(received.count == 4 && received.allSatisfy { !$0.signatureValid && $0.answered == 401 })
            let list = try await sandboxed.app.send(.get, "/admin/v1/billing/webhooks/deliveries", headers: Self.admin)
            guard case .number(let id)? = list.data?["deliveries"]?[0]?["id"] else {
                Issue.record("no delivery: \(list.text)")
                return
            }
            let resent = try await sandboxed.app.send(.post, "/admin/v1/billing/webhooks/deliveries/\(id)/resend", headers: Self.admin)
            #expect(resent.status == 200)
            try await waitFor { sandboxed.sandbox.webhooks.received.count >= 5 }
        }
    }

    @Test("two dispatchers at once: every event delivered, none twice")
    func twoDispatchers() async throws {
        try await SandboxedApp.with(environment: Self.environment) { sandboxed in
            _ = try await register(sandboxed)
            // A second server's dispatcher on the same database.
            let other = WebhookDispatcher(
                store: PostgresWebhooks(pool: sandboxed.app.parts.pool), interval: .milliseconds(20),
                logger: .init(label: "second"))
            let running = Task {
                while !Task.isCancelled {
                    await other.passOnce()
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            for index in 0..<30 { try await adjust(sandboxed, "b\(index)") }
            try await waitFor { sandboxed.sandbox.webhooks.received.count >= 30 }
            try await Task.sleep(for: .milliseconds(500))
            running.cancel()
            _ = await running.value
            let ids = sandboxed.sandbox.webhooks.received.map(\.eventId)
            #expect(ids.count == 30 && Set(ids).count == 30, "\(ids.count) deliveries of \(Set(ids).count) events")
        }
    }

    @Test("a receiver that is down gets the event once it is back")
    func downThenBack() async throws {
        let slow = Self.environment.merging(["BILLING_WEBHOOKS_RETRY_DELAYS_MS": "200,400,800,1600,3200"]) { _, new in new }
        try await SandboxedApp.with(environment: slow) { sandboxed in
            let port = try FreePort.pick()
            let registered = try await sandboxed.app.send(
                .post, "/admin/v1/billing/webhooks/endpoints",
                json: #"{"url": "http://127.0.0.1:\#(port)/webhooks", "secret": "\#(SandboxOptions().webhookSecret)", "events": ["adjustment.created"]}"#,
                headers: Self.admin)
            #expect(registered.status == 200)
            try await adjust(sandboxed, "d1")
            try await waitFor {
                let list = try await sandboxed.app.send(.get, "/admin/v1/billing/webhooks/deliveries", headers: Self.admin)
                guard case .number(let attempts)? = list.data?["deliveries"]?[0]?["attempts"] else { return false }
                return (Int(attempts) ?? 0) >= 2
            }
            // The receiver comes up on that port: a retry reaches it.
            var options = SandboxOptions()
            options.grpcPort = 0
            options.httpPort = port
            try await PaymentSandbox.withRunning(options: options) { receiver in
                try await waitFor { receiver.webhooks.received.contains { $0.answered == 200 } }
                #expect(receiver.webhooks.received.count == 1 && receiver.webhooks.received[0].signatureValid)
            }
        }
    }
}
