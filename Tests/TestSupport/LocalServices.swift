import Foundation
import Testing

/// `scripts/services.sh` for fault tests: `stop-postgres`, `start-postgres`, `stop-redis`,
/// `start-redis`.
public enum LocalServices {
    public static func run(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [TestEnvironment.repositoryRoot.appendingPathComponent("scripts/services.sh").path, command]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "services.sh \(command)")
    }
}
