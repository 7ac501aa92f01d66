import GRPCCore
import ServiceLifecycle

/// A gRPC server as a ServiceGroup service: on graceful shutdown it stops accepting and
/// lets in-flight RPCs finish.
public struct GRPCServerService<Transport: ServerTransport>: Service {
    let server: GRPCServer<Transport>

    public init(server: GRPCServer<Transport>) { self.server = server }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

/// A gRPC client's connections as a ServiceGroup service: on graceful shutdown calls in
/// flight finish, then the connections close. Listed before the servers that use the
/// client, so it stops after them.
public struct GRPCClientService<Transport: ClientTransport>: Service {
    let client: GRPCClient<Transport>

    public init(client: GRPCClient<Transport>) { self.client = client }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: {
            client.beginGracefulShutdown()
        }
    }
}
