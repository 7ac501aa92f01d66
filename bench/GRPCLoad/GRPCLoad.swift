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
        // `Int(seconds * 1000)` below traps on NaN, infinity or a value past Int's range.
        guard (0.1...86_400).contains(seconds) else {
            FileHandle.standardError.write(Data("GRPCLoad: SECONDS must be in 0.1...86400\n".utf8))
            exit(2)
        }
        let users = Int(environment["USERS"] ?? "") ?? 10_000
        let token = environment["TOKEN"] ?? "dev-internal-token"
        // RPC=stream: each caller keeps WINDOW deductions in flight on one DeductQuotaStream.
        let window = Int(environment["WINDOW"] ?? "") ?? 100
        // Stream request ids: `<PREFIX><connection>-<caller>-<n>`.
        let streamPrefix = environment["PREFIX"] ?? "s"
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
                                    if rpc == "stream" {
                                        return try await Self.stream(
                                            billing, metadata: metadata, users: users, deadline: deadline,
                                            prefix: "\(streamPrefix)\(connection)-\(caller)", window: window, failures: failures)
                                    }
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
        // For a ledger check: how many deductions were answered as charged.
        FileHandle.standardError.write(Data("charged \(latencies.count)\n".utf8))
        print(
            "| \(Int(Double(latencies.count) / elapsedSeconds)) | \(percentile(0.5)) | \(percentile(0.99)) | \(percentile(0.999)) | \(failures.count.load(ordering: .relaxed)) |"
        )
    }
}

extension GRPCLoad {
    /// One DeductQuotaStream kept `window` deductions ahead of its answers until `deadline`;
    /// the latency of each is from its write to its answer. Like a gateway that buffers, it
    /// writes whatever the answers made room for in one go (one flush, not one per message).
    static func stream(
        _ billing: Billing_V1_BillingInternalService.Client<HTTP2ClientTransport.Posix>, metadata: Metadata,
        users: Int, deadline: ContinuousClock.Instant, prefix: String, window: Int, failures: Failures
    ) async throws -> [Duration] {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let credits = Mutex(window)
        let sentAt = Mutex<[String: ContinuousClock.Instant]>([:])
        wake.yield()
        return try await billing.deductQuotaStream(
            metadata: metadata,
            requestProducer: { writer in
                var step = 0
                for await _ in wakeups {
                    guard ContinuousClock.now < deadline else { break }
                    let count = credits.withLock { credits in
                        defer { credits = 0 }
                        return credits
                    }
                    guard count > 0 else { continue }
                    let now = ContinuousClock.now
                    let messages = (0..<count).map { _ in
                        step += 1
                        let id = "\(prefix)-\(step)"
                        return Billing_V1_DeductQuotaRequest.with {
                            $0.userID = "u\(Int.random(in: 0..<users))"
                            $0.serviceName = "passport"
                            $0.count = 1
                            $0.requestID = id
                        }
                    }
                    sentAt.withLock { sent in for message in messages { sent[message.requestID] = now } }
                    try await writer.write(contentsOf: messages)
                }
            },
            onResponse: { response in
                var mine: [Duration] = []
                for try await result in response.messages {
                    let now = ContinuousClock.now
                    let begin = sentAt.withLock { $0.removeValue(forKey: result.requestID) }
                    if !result.success {
                        failures.count.add(1, ordering: .relaxed)
                    } else if let begin {
                        mine.append(now - begin)
                    }
                    credits.withLock { $0 += 1 }
                    wake.yield()
                }
                wake.finish()
                return mine
            })
    }
}

final class Failures: Sendable {
    let count = Atomic<Int>(0)
}
