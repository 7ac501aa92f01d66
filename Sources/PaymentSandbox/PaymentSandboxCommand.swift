import ArgumentParser
import Foundation
import Logging
import PaymentSandboxKit
import UnixSignals

/// `payment-sandbox`: the platform's Payment Service, played locally for development and
/// tests. `make run` starts it next to billing-server.
@main
struct PaymentSandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payment-sandbox",
        abstract: "A local payment.v1.PaymentService with pay pages that send signed callbacks to billing.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "gRPC port (payment.v1.PaymentService).") var grpcPort = 9_101
    @Option(help: "HTTP port (pay pages and /sandbox/payments).") var httpPort = 9_102
    @Option(help: "Base URL of the pay pages handed to billing (default: http://HOST:HTTP_PORT).") var publicURL: String?
    @Option(help: "Secret shared with billing's payment_service.callback_secret (or env PAYMENT_SANDBOX_CALLBACK_SECRET).")
    var callbackSecret: String?
    @Option(help: "CreatePayment answers after this many milliseconds.") var createDelayMs = 0
    @Flag(help: "CreatePayment answers UNAVAILABLE.") var failCreate = false
    @Option(help: "Callbacks are sent this many milliseconds after Pay/Fail.") var callbackDelayMs = 0
    @Option(help: "Each callback is sent this many times at once.") var callbackCopies = 1
    @Option(help: "Retries of a callback that got no answer or a 5xx.") var callbackRetries = 2

    func validate() throws {
        for (name, port) in [("--grpc-port", grpcPort), ("--http-port", httpPort)] where !(0...65_535).contains(port) {
            throw ValidationError("\(name) must be 0 to 65535")
        }
        // Bounded, so no duration or retry arithmetic below can overflow.
        guard (0...3_600_000).contains(createDelayMs), (0...3_600_000).contains(callbackDelayMs) else {
            throw ValidationError("delays must be 0 to 3600000 ms")
        }
        guard (0...100).contains(callbackRetries) else { throw ValidationError("--callback-retries must be 0 to 100") }
        guard (1...100).contains(callbackCopies) else { throw ValidationError("--callback-copies must be 1 to 100") }
    }

    func run() async throws {
        var options = SandboxOptions()
        options.host = host
        options.grpcPort = grpcPort
        options.httpPort = httpPort
        options.publicURL = publicURL
        if let secret = callbackSecret ?? ProcessInfo.processInfo.environment["PAYMENT_SANDBOX_CALLBACK_SECRET"] {
            options.callbackSecret = secret
        }
        options.createDelay = .milliseconds(createDelayMs)
        options.failCreate = failCreate
        options.callbackDelay = .milliseconds(callbackDelayMs)
        options.callbackCopies = callbackCopies
        options.callbackRetries = callbackRetries
        let logger = Logger(label: "payment-sandbox")
        try await PaymentSandbox.run(options: options, logger: logger, signals: [.sigterm, .sigint]) { running in
            // One line a script can wait for.
            let line = "payment-sandbox ready grpc=\(running.grpcPort) http=\(running.httpPort) pages=\(running.payPageBase)/\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }
}
