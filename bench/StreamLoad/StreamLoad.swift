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
        let connections = max(1, Int(environment["CONNECTIONS"] ?? "") ?? 2)
        let settings = StreamCaller.Settings(
            port: Int(environment["PORT"] ?? "") ?? 9107,
            token: environment["TOKEN"] ?? "dev-internal-token",
            users: max(1, Int(environment["USERS"] ?? "") ?? 10_000),
            window: max(1, Int(environment["WINDOW"] ?? "") ?? 100),
            deadline: DispatchTime.now().uptimeNanoseconds
                + UInt64(max(0.1, Double(environment["SECONDS"] ?? "") ?? 8) * 1e9))
        let streams = max(connections, Int(environment["STREAMS"] ?? "") ?? 8)
        let prefix = environment["PREFIX"] ?? "s"
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
}
