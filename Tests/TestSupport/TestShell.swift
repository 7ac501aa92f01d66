import Foundation

/// Runs a shell command for a test (a script that stops a worker, redis-cli), failing on a
/// non-zero exit. Through `system(3)` with the output in a file: Foundation's `Process`
/// never saw `pg_ctl start` end (the postmaster it leaves behind), and a pipe would be held
/// open by that daemon forever.
public enum TestShell {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `arguments` are single-quoted for the shell; the combined output is returned.
    @discardableResult
    public static func run(_ arguments: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shell-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let status = system("\(quoted) >'\(path)' 2>&1 </dev/null")
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw Failure(description: "\(arguments.joined(separator: " ")) failed (\(status)): \(text)")
        }
        return text
    }
}
