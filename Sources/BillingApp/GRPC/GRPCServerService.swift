import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceLifecycle

/// Runs the gRPC server in the ServiceGroup: on graceful shutdown it stops accepting and
/// lets in-flight RPCs finish.
struct GRPCServerService: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
