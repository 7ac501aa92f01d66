@testable import BillingApp
import BillingJobs
import BillingProto
import Foundation
import GRPCCore
import Testing
import TestSupport

/// deploy/: the dashboard and the alert rules read metrics that exist, and the systemd units
/// run commands the binaries know. (`scripts/check-deploy.sh` runs promtool and
/// systemd-analyze on the same files.)
@Suite("Deployment files match the service", .timeLimit(.minutes(2)))
struct DeployFilesTests {
    static let root = TestEnvironment.repositoryRoot

    /// Metric names (billing_…, http_…, grpc_…) in a text.
    static func metricNames(in text: String) -> Set<String> {
        let pattern = /\b(?:billing|http|grpc)_[a-z0-9_]+\b/
        return Set(text.matches(of: pattern).map { String($0.output) })
    }

    /// Every PromQL expression of the dashboard.
    static func dashboardExpressions() throws -> [String] {
        let data = try Data(contentsOf: root.appendingPathComponent("deploy/grafana/billing.json"))
        var found: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let expr = object["expr"] as? String { found.append(expr) }
                object.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(try JSONSerialization.jsonObject(with: data))
        return found
    }

    @Test("every metric the dashboard and the alert rules query is exposed after a short run (or by the cron's textfile)")
    func metricNamesExist() async throws {
        let expressions = try Self.dashboardExpressions()
        #expect(expressions.count >= 20)
        let alerts = try String(contentsOf: Self.root.appendingPathComponent("deploy/prometheus/alerts.yaml"), encoding: .utf8)
        let queried = expressions.reduce(into: Self.metricNames(in: alerts)) { $0.formUnion(Self.metricNames(in: $1)) }
        #expect(queried.count >= 20)

        try await SandboxedApp.with { env in
            // A short run: a recharge paid through the sandbox, deductions paid and refused,
            // checks (cached), a batch, a hold, and gRPC calls.
            let started = try await env.recharge("m1", yuan: "1.00")
            let paymentId = try #require(SandboxedApp.paymentId(started))
            #expect(try await env.sandboxPost("/sandbox/payments/\(paymentId)/succeed").status == 200)
            #expect(try await env.app.deduct("m1", "payment", count: 1_001).status == 200)
            #expect(try await env.app.deduct("m1", "payment", count: 1_000).status == 402)
            #expect(try await env.app.internal("check", #"{"user_id": "m1", "service_name": "payment", "count": 1}"#).status == 200)
            #expect(try await env.app.internal("check", #"{"user_id": "m1", "service_name": "payment", "count": 1}"#).status == 200)
            let batch = #"{"items": [{"user_id": "m2", "service_name": "payment", "count": 1, "request_id": "b1"}]}"#
            #expect(try await env.app.internal("deduct/batch", batch).status == 200)
            // Again for the same user: the lane knows its rows now (one round trip).
            let again = #"{"items": [{"user_id": "m2", "service_name": "payment", "count": 1, "request_id": "b2"}]}"#
            #expect(try await env.app.internal("deduct/batch", again).status == 200)
            let hold = #"{"user_id": "m1", "service_name": "payment", "count": 1, "hold_id": "h1"}"#
            #expect(try await env.app.internal("holds", hold).status == 200)
            try await env.app.withGRPC { client in
                let console = Billing_V1_BillingService.Client(wrapping: client)
                _ = try await console.getAccount(.with { $0.userID = "m1" })
            }
            let exposition = try await env.app.send(.get, "/metrics").text
            let exposed = Set(
                exposition.split(separator: "\n").filter { !$0.hasPrefix("#") }
                    .map { String($0.prefix { $0 != "{" && $0 != " " }) })
            let cron = Set(CronTextfile.metrics.map(\.name))
            let missing = queried.subtracting(exposed).subtracting(cron)
            #expect(missing.isEmpty, "queried but not exposed: \(missing.sorted())")
        }
    }

    @Test("the systemd units run subcommands and options the built binaries accept")
    func unitCommands() throws {
        let units = try FileManager.default.contentsOfDirectory(
            atPath: Self.root.appendingPathComponent("deploy/systemd").path
        ).filter { $0.hasSuffix(".service") }
        #expect(units.sorted() == ["billing-cron.service", "billing-server.service"])
        for unit in units {
            let text = try String(contentsOf: Self.root.appendingPathComponent("deploy/systemd/\(unit)"), encoding: .utf8)
            #expect(text.contains("EnvironmentFile=/etc/billing/billing.env"), "\(unit): secrets from the environment file")
            #expect(text.contains("NoNewPrivileges=yes") && text.contains("ProtectSystem=strict"), "\(unit): hardened")
            #expect(text.contains("Restart=on-failure"), "\(unit): restarted")
            let commands = text.split(separator: "\n").filter { $0.hasPrefix("ExecStart=") || $0.hasPrefix("ExecStartPre=") }
            #expect(!commands.isEmpty)
            for line in commands {
                let words = line.split(separator: "=", maxSplits: 1)[1].split(separator: " ").map(String.init)
                let binary = try #require(words.first?.split(separator: "/").last.map(String.init))
                let subcommand = words[1]
                let options = words.dropFirst(2).filter { $0.hasPrefix("--") }
                let help = try Self.run(binary, [subcommand, "--help"])
                #expect(help.status == 0, "\(unit): \(binary) \(subcommand) --help")
                for option in options {
                    #expect(help.output.contains(option), "\(unit): \(binary) \(subcommand) knows \(option)")
                }
            }
        }
    }

    static func run(_ binary: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = root.appendingPathComponent(".build/debug/\(binary)")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
