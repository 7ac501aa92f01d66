@testable import BillingApp
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

extension TestApp {
    /// Runs `body` with a gRPC client connected to the app's gRPC server.
    func withGRPC<T: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        let server = try #require(parts.grpcServer)
        let address = try #require(try await server.listeningAddress?.ipv4)
        return try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .ipv4(address: address.host, port: address.port), transportSecurity: .plaintext),
            handleClient: body)
    }
}
