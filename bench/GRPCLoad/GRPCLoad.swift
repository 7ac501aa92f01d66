import BillingProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

/// A gRPC load generator for the billing server: STREAMS concurrent callers spread over
/// CONNECTIONS HTTP/2 connections, calling RPC (deduct or check) for SECONDS, users drawn
/// from USERS. Prints one Markdown row: calls/s, p50, p99, p99.9 in milliseconds.
@main
struct GRPCLoad {
    static func main() async throws {
        try await run()
    }

    nonisolated static func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let port = Int(environment["PORT"] ?? "") ?? 9107
        let rpc = environment["RPC"] ?? "deduct"
        let connections = Int(environment["CONNECTIONS"] ?? "") ?? 4
        let streams = Int(environment["STREAMS"] ?? "") ?? 64
        let seconds = Double(environment["SECONDS"] ?? "") ?? 8
        let users = Int(environment["USERS"] ?? "") ?? 10_000
        let token = environment["TOKEN"] ?? "dev-internal-token"
        let metadata: Metadata = ["authorization": "Bearer \(token)"]
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let started = ContinuousClock.now
        let failures = Failures()

        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for connection in 0..<connections {
                group.addTask {
                    try await withGRPCClient(
                        transport: .http2NIOPosix(
                            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
                    ) { client in
                        let billing = Billing_V1_BillingInternalService.Client(wrapping: client)
                        return try await withThrowingTaskGroup(of: [Duration].self) { callers in
                            for caller in 0..<(streams / connections) {
                                callers.addTask {
                                    var mine: [Duration] = []
                                    var step = 0
                                    while ContinuousClock.now < deadline {
                                        step += 1
                                        let user = "u\(Int.random(in: 0..<users))"
                                        let begin = ContinuousClock.now
                                        do {
                                            if rpc == "ping" {
                                                _ = try await billing.ping(.init(), metadata: metadata)
                                            } else if rpc == "check" {
                                                _ = try await billing.checkQuota(
                                                    .with {
                                                        $0.userID = user
                                                        $0.serviceName = "passport"
                                                        $0.count = 1
                                                    }, metadata: metadata)
                                            } else {
                                                _ = try await billing.deductQuota(
                                                    .with {
                                                        $0.userID = user
                                                        $0.serviceName = "passport"
                                                        $0.count = 1
                                                        $0.requestID = "l\(connection)-\(caller)-\(step)"
                                                    }, metadata: metadata)
                                            }
                                            mine.append(ContinuousClock.now - begin)
                                        } catch {
                                            failures.count.add(1, ordering: .relaxed)
                                        }
                                    }
                                    return mine
                                }
                            }
                            var all: [Duration] = []
                            for try await some in callers { all += some }
                            return all
                        }
                    }
                }
            }
            var all: [Duration] = []
            for try await some in group { all += some }
            return all
        }.sorted()
        let elapsed = ContinuousClock.now - started
        let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return String(format: "%.2f", Double(value.components.seconds) * 1000 + Double(value.components.attoseconds) / 1e15)
        }
        print(
            "| \(Int(Double(latencies.count) / elapsedSeconds)) | \(percentile(0.5)) | \(percentile(0.99)) | \(percentile(0.999)) | \(failures.count.load(ordering: .relaxed)) |"
        )
    }
}

final class Failures: Sendable {
    let count = Atomic<Int>(0)
}
