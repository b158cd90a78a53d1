import Foundation
import XCTest
@testable import KVServer
#if canImport(Glibc)
import Glibc
#endif

/// A user the socket's mode (0660) keeps out is told so, and which group to join, with exit 10
/// (issue 15, item 12: it was "cannot connect … is kvd running?", exit 69).
extension EndToEndTests {
    func testKvctlWithoutPermissionOnTheSocketNamesTheGroup() throws {
        try requireModel()
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            XCTFail("needs root and /usr/bin/setpriv to connect as another user")
            return
        }
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        defer { daemon.terminate() }
        chmod(dir.path, 0o755)
        var st = stat()
        XCTAssertEqual(stat(daemon.socket, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o660)
        let group = String(cString: getgrgid(st.st_gid)!.pointee.gr_name)
        let kvctl = try Products.path("kvctl")
        let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups", kvctl]
        let r = try run("/usr/bin/setpriv", nobody + ["health", "--socket", daemon.socket])
        XCTAssertEqual(r.status, 10, r.stderr)
        XCTAssertEqual(r.stderr, "kvctl: permission denied on \(daemon.socket): join group '\(group)' to use kvd (sudo usermod -aG \(group) $USER, then log in again)\n")
        let json = try run("/usr/bin/setpriv", nobody + ["sessions", "--json", "--socket", daemon.socket])
        XCTAssertEqual(json.status, 10)
        XCTAssertTrue(json.stdout.hasPrefix("{\"error\":{\"code\":\"PERMISSION_DENIED\""), json.stdout)
    }
}
