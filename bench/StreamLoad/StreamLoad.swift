import Dispatch
import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// DeductQuotaStream load with as little client work as wrk puts into an HTTP request: the
/// gRPC frames are written and read as bytes on one event loop (no async sequences, no
/// generated message types), so the server and PostgreSQL get the machine's cores, not the
/// load generator. STREAMS streams over CONNECTIONS HTTP/2 connections, each keeping WINDOW
/// deductions in flight for SECONDS, users drawn from USERS; request ids `<PREFIX><connection>-
/// <stream>-<n>` (PREFIX `s` unless given). Prints the row GRPCLoad prints (calls/s, p50, p99, p99.9 ms, failures) and
/// `charged N` on standard error.
@main
struct StreamLoad {
    static func main() throws {
        let environment = ProcessInfo.processInfo.environment
        let connections = setting("CONNECTIONS", 2, in: 1...64, environment)
        let seconds = setting("SECONDS", 8.0, in: 0.1...86_400, environment)
        let settings = StreamCaller.Settings(
            port: setting("PORT", 9107, in: 1...65_535, environment),
            token: environment["TOKEN"] ?? "dev-internal-token",
            users: setting("USERS", 10_000, in: 1...100_000_000, environment),
            // Far below the send-instant ring (65,536), so no answer reads another's instant.
            window: setting("WINDOW", 100, in: 1...4_096, environment),
            deadline: DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9))
        let streams = max(connections, setting("STREAMS", 8, in: 1...1_024, environment))
        // The request id's length must fit the one-byte protobuf length `GRPCWire` writes.
        let prefix = environment["PREFIX"] ?? "s"
        guard prefix.utf8.count <= 32 else { fail("PREFIX must be at most 32 bytes") }
        let started = DispatchTime.now().uptimeNanoseconds
        let http2Settings = nioDefaultSettings + [HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20)]
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }

        var tallies: [EventLoopFuture<StreamCaller.Tally>] = []
        for connection in 0..<connections {
            let channel = try ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.configureHTTP2Pipeline(
                        mode: .client,
                        initialLocalSettings: http2Settings,
                        targetWindowSize: 1 << 20, inboundStreamInitializer: nil
                    ).map { _ in }
                }
                .connect(host: "127.0.0.1", port: settings.port).wait()
            let multiplexer = try channel.pipeline.handler(type: HTTP2StreamMultiplexer.self).wait()
            for stream in 0..<(streams / connections) {
                let tally = channel.eventLoop.makePromise(of: StreamCaller.Tally.self)
                multiplexer.createStreamChannel(promise: nil) { streamChannel in
                    streamChannel.eventLoop.makeCompletedFuture {
                        try streamChannel.pipeline.syncOperations.addHandler(
                            StreamCaller(settings: settings, prefix: "\(prefix)\(connection)-\(stream)-", tally: tally))
                    }
                }
                tallies.append(tally.futureResult)
            }
        }

        var latencies: [UInt64] = []
        var failures = 0
        for tally in tallies {
            let one = try tally.wait()
            latencies += one.latencies
            failures += one.failures
        }
        latencies.sort()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            let nanoseconds = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return String(format: "%.2f", Double(nanoseconds) / 1e6)
        }
        FileHandle.standardError.write(Data("charged \(latencies.count)\n".utf8))
        let rate = Int(Double(latencies.count) / elapsed)
        print("| \(rate) | \(percentile(0.5)) | \(percentile(0.99)) | \(percentile(0.999)) | \(failures) |")
    }

    /// The environment's `name` as a number within `range`, `fallback` when unset; anything
    /// else ends the run, naming the setting.
    static func setting<T: LosslessStringConvertible & Comparable>(
        _ name: String, _ fallback: T, in range: ClosedRange<T>, _ environment: [String: String]
    ) -> T {
        guard let text = environment[name] else { return fallback }
        guard let value = T(text), range.contains(value) else {
            fail("\(name) must be a number in \(range.lowerBound)...\(range.upperBound), not \(text)")
        }
        return value
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("StreamLoad: \(message)\n".utf8))
        exit(2)
    }
}
