import BillingConfiguration
@testable import BillingApp
import BillingPostgres
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import TestSupport

/// Runs the real `billing-server` binary, loads it, sends SIGTERM, and checks that every
/// deduction it acknowledged is in the database.
@Suite("SIGTERM under load", .serialized, .timeLimit(.minutes(3)))
struct GracefulShutdownTests {
    static let binary = TestApp.root.appendingPathComponent(".build/debug/billing-server").path

    @Test(
        "after SIGTERM under load, every acknowledged deduction is in the database and the exit is clean",
        .freshSchema(migrated: false))
    func sigterm() async throws {
        let schema = try #require(TestSchema.current).name
        let port = try FreePort.pick()
        var environment = ProcessInfo.processInfo.environment.merging(
            TestApp.environment(schema: schema, extra: ["BILLING_HTTP_PORT": String(port)])
        ) { _, new in new }
        environment["BILLING_LOG_LEVEL"] = "warning"
        // The same variables make a valid configuration (the server would refuse to start otherwise).
        _ = try BillingConfig(reader: try await BillingConfig.reader(filePath: nil, environment: environment))
        let admin = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { admin.close() }

        let server = Process()
        server.executableURL = URL(fileURLWithPath: Self.binary)
        // An empty --config: no file, the environment alone configures the server.
        server.arguments = ["serve", "--config", ""]
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        try await Self.waitUntilHealthy(port: port)

        let tally = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    let client = TestClient(host: "127.0.0.1", port: port)
                    client.connect()
                    await Self.load(client, worker: worker, tally: tally)
                    try? await client.shutdown()
                }
            }
            // SIGTERM once the load is really running (a busy machine may need a while: on
            // Citus with every scale suite running, 168 deductions were acknowledged in 30 s).
            let deadline = ContinuousClock.now + .seconds(60)
            while tally.acknowledged.withLock({ $0.count }) < 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            kill(server.processIdentifier, SIGTERM)
            tally.stopping.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
        for _ in 0..<300 where server.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!server.isRunning, "the server exits after SIGTERM")
        #expect(server.terminationStatus == 0)

        let acknowledgedIds = tally.acknowledged.withLock { $0 }
        #expect(acknowledgedIds.count >= 200, "the load actually ran")
        let stored = try admin.query("SELECT request_id FROM \(schema).billing_record WHERE balance_after_fen IS NOT NULL").all.map { try $0.string(0) }
        #expect(Set(acknowledgedIds).isSubset(of: Set(stored)))
        let records = try admin.query("SELECT count(*) FROM \(schema).billing_record")[0].int64(0)
        #expect(records == Int64(stored.count), "one record per stored deduction, nothing partial")
    }

    /// Deducts in a loop until the server stops answering (or refuses after SIGTERM).
    static func load(_ client: TestClient, worker: Int, tally: Tally) async {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.authorization] = "Bearer \(TestApp.internalToken)"
        for step in 0..<20_000 {
            let requestId = "w\(worker)-\(step)"
            let body = #"{"user_id": "user-\#(worker)", "service_name": "passport", "count": 1, "request_id": "\#(requestId)"}"#
            do {
                let response = try await client.execute(
                    .init("/internal/v1/billing/deduct", method: .post, headers: headers, body: ByteBuffer(string: body)))
                if response.status == .ok { tally.acknowledged.withLock { $0.append(requestId) } }
                if tally.stopping.load(ordering: .relaxed), response.status != .ok { return }
            } catch {
                return  // the server has stopped accepting
            }
        }
    }

    static func waitUntilHealthy(port: Int) async throws {
        for _ in 0..<200 {
            let healthy = try? await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                try await client.execute(.init("/health", method: .get)).status == .ok
            }
            if healthy == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the server did not become healthy")
    }
}

final class Tally: Sendable {
    let acknowledged = Mutex<[String]>([])
    let stopping = Atomic<Bool>(false)
}
