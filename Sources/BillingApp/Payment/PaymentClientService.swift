import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceLifecycle

/// Runs the Payment Service client's connections for the server's lifetime. Listed before
/// the servers, so it stops after them: a recharge in flight at SIGTERM still gets its answer.
struct PaymentClientService: Service {
    let client: GRPCClient<HTTP2ClientTransport.Posix>

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: {
            client.beginGracefulShutdown()
        }
    }
}
