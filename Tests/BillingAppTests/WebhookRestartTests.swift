import BillingConfiguration
@testable import BillingApp
import BillingPostgres
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PaymentSandboxKit
import Testing
import TestSupport

/// Events survive the server: written in the change's transaction, they are delivered by
/// the next server after a kill -9 that came between the commit and the delivery.
@Suite("Webhooks across kill -9", .serialized, .timeLimit(.minutes(2)))
struct WebhookRestartTests {
    @Test("kill -9 between the commit and the delivery: the event is delivered after the restart",
        .freshSchema(migrated: false))
    func killNine() async throws {
        let schema = try #require(TestSchema.current).name
        var options = SandboxOptions()
        options.grpcPort = 0
        options.httpPort = 0
        let receiverOptions = options
        try await PaymentSandbox.withRunning(options: receiverOptions) { receiver in
            let port = try FreePort.pick()
            let adminToken = "test-admin-token-0123456789"
            var environment = ProcessInfo.processInfo.environment.merging(
                TestApp.environment(
                    schema: schema,
                    extra: [
                        "BILLING_HTTP_PORT": String(port), "BILLING_AUTH_ADMIN_TOKENS": adminToken,
                        // The first server's dispatcher runs once at start, then not for a minute.
                        "BILLING_WEBHOOKS_INTERVAL_MS": "60000",
                    ])
            ) { _, new in new }
            environment["BILLING_LOG_LEVEL"] = "warning"
            func start(_ environment: [String: String]) throws -> Process {
                let server = Process()
                server.executableURL = URL(fileURLWithPath: GracefulShutdownTests.binary)
                server.arguments = ["serve", "--config", ""]
                server.environment = environment
                server.standardOutput = FileHandle.nullDevice
                server.standardError = FileHandle.nullDevice
                try server.run()
                return server
            }
            func admin(_ path: String, _ body: String) async throws -> Int {
                var fields = HTTPFields()
                fields[.contentType] = "application/json"
                fields[.authorization] = "Bearer \(adminToken)"
                fields[HTTPField.Name("X-Operator")!] = "ops"
                let headers = fields
                return try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                    Int(
                        try await client.execute(
                            .init("/admin/v1/billing/\(path)", method: .post, headers: headers, body: ByteBuffer(string: body))
                        ).status.code)
                }
            }

            let first = try start(environment)
            defer { if first.isRunning { first.terminate() } }
            try await GracefulShutdownTests.waitUntilHealthy(port: port)
            #expect(
                try await admin(
                    "webhooks/endpoints",
                    #"{"url": "http://127.0.0.1:\#(receiver.httpPort)/webhooks", "secret": "\#(receiverOptions.webhookSecret)", "events": ["adjustment.created"]}"#)
                    == 200)
            #expect(
                try await admin("adjustments", #"{"adjustment_id": "k1", "user_id": "wk", "amount_fen": 9, "reason": "x"}"#) == 200)
            kill(first.processIdentifier, SIGKILL)
            for _ in 0..<100 where first.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            #expect(receiver.webhooks.received.isEmpty, "nothing was delivered before the kill")

            environment["BILLING_WEBHOOKS_INTERVAL_MS"] = "50"
            let second = try start(environment)
            defer { if second.isRunning { second.terminate() } }
            try await GracefulShutdownTests.waitUntilHealthy(port: port)
            for _ in 0..<100 where receiver.webhooks.received.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            let received = receiver.webhooks.received
            #expect(received.count == 1 && received.first?.type == "adjustment.created" && received.first?.answered == 200)
            second.terminate()
            for _ in 0..<100 where second.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        }
    }
}
