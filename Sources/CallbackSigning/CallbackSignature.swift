import BillingCore
import Crypto
import Foundation

/// `X-Billing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`,
/// signed with the Payment Service's shared secret and valid within a time window.
/// Billing verifies with it; the payment sandbox (and tests) sign with it.
public struct CallbackSignature: Sendable {
    public static let headerName = "X-Billing-Signature"

    /// The widest window accepted: a longer one would make replays too easy anyway.
    public static let maxWindowSeconds = 86_400

    public let secret: String
    public let windowSeconds: Int

    /// `windowSeconds` is clamped to 0…`maxWindowSeconds`, so no setting can make the
    /// comparison below trap.
    public init(secret: String, windowSeconds: Int = 300) {
        self.secret = secret
        self.windowSeconds = min(max(windowSeconds, 0), Self.maxWindowSeconds)
    }

    public func verify(header: String, body: [UInt8], now: Date) throws(BillingError) {
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "t": timestamp = Int64(pair[1])
            case "v1": signatures.append(pair[1].lowercased())
            default: continue
            }
        }
        guard let timestamp, !signatures.isEmpty else {
            throw .unauthenticated("malformed \(Self.headerName) header")
        }
        // `t` comes from the network: compare without arithmetic that could overflow.
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let (age, overflow) = nowSeconds.subtractingReportingOverflow(timestamp)
        guard !overflow, age.magnitude <= UInt64(windowSeconds) else {
            throw .unauthenticated("callback signature timestamp outside the allowed window")
        }
        let expected = sign(timestamp: timestamp, body: body)
        guard signatures.contains(where: { ConstantTime.equals($0, expected) }) else {
            throw .unauthenticated("invalid callback signature")
        }
    }

    /// The hex signature for a body at a time: what the Payment Service (and tests) send.
    public func sign(timestamp: Int64, body: [UInt8]) -> String {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    public func header(timestamp: Int64, body: [UInt8]) -> String {
        "t=\(timestamp),v1=\(sign(timestamp: timestamp, body: body))"
    }
}
