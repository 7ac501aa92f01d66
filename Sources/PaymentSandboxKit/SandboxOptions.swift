/// How the sandbox behaves. The defaults act like a healthy Payment Service; the rest
/// exist to put billing through what a real one does on a bad day.
public struct SandboxOptions: Sendable {
    public var host = "127.0.0.1"
    /// gRPC `payment.v1.PaymentService` (0: any free port).
    public var grpcPort = 9_101
    /// The pay pages and the script API (0: any free port).
    public var httpPort = 9_102
    /// The base of every pay_url; by default the HTTP listener's own address.
    public var publicURL: String?
    /// Shared with billing's `payment_service.callback_secret`; signs every callback.
    public var callbackSecret = "dev-callback-secret-change-me"

    /// CreatePayment waits this long before answering (a slow Payment Service).
    public var createDelay: Duration = .zero
    /// CreatePayment answers UNAVAILABLE (a Payment Service that is up but failing).
    public var failCreate = false
    /// Callbacks are sent this long after Pay/Fail, in the background.
    public var callbackDelay: Duration = .zero
    /// Each callback is sent this many times at once (at-least-once delivery, duplicated).
    public var callbackCopies = 1
    /// A callback that gets no answer or a 5xx is tried again this many times.
    public var callbackRetries = 2
    public var callbackTimeout: Duration = .seconds(5)
    /// The secret billing signs webhooks to the sandbox's `POST /webhooks` with (an endpoint
    /// registered with this secret and `http://…/webhooks`).
    public var webhookSecret = "dev-webhook-secret-0123456789"

    public init() {}
}
