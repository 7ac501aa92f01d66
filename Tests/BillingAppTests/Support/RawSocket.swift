import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Bytes to a local port over plain TCP, for requests no HTTP client would send.
enum RawSocket {
    /// `exchange` on a thread of its own: a blocking socket call on the cooperative pool
    /// (two threads here) starves the servers under test, whose handlers need that pool, until
    /// the receive times out — two such tests at once stalled each other for a second.
    static func exchanged(
        port: Int, bytes: [UInt8], readReply: Bool = true, halfClose: Bool = false, quietSeconds: Int = 1
    ) async -> [UInt8] {
        // `exchange` does not throw: the thread's answer is always there.
        (try? await OwnThread.run {
            exchange(port: port, bytes: bytes, readReply: readReply, halfClose: halfClose, quietSeconds: quietSeconds)
        }) ?? []
    }

    /// Sends `bytes`, reads what comes back until the server closes or is quiet for
    /// `quietSeconds`, closes. `readReply` false: closes right after sending, as a client that
    /// gave up. A test whose server closes at the end waits long (the whole suite in parallel
    /// can keep a router's answer a second or more); one whose server may not close, briefly.
    /// `halfClose`: shuts the sending side after the bytes (a client saying it has no more
    /// to send) and then reads the reply.
    private static func exchange(
        port: Int, bytes: [UInt8], readReply: Bool = true, halfClose: Bool = false, quietSeconds: Int = 1
    ) -> [UInt8] {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: quietSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return [] }
        _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard readReply else { return [] }
        if halfClose { shutdown(descriptor, Int32(SHUT_WR)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while answer.count < 65_536 {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            answer += buffer.prefix(count)
        }
        return answer
    }
}
