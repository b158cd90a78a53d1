import Foundation
import XCTest
@testable import KVServer
#if canImport(Glibc)
import Glibc
#endif

/// Who may use kvd, seen from another user (kvctl run as nobody through setpriv): CI runs as
/// root, and without root or setpriv these tests fail rather than skip.
extension EndToEndTests {
    /// Fails the test when kvctl cannot be run as another user.
    func requireAnotherUser() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            XCTFail("needs root and /usr/bin/setpriv to connect as another user")
            throw CocoaError(.featureUnsupported)
        }
    }

    /// A user the socket's mode (0660) keeps out is told so, and which group to join, with exit 10
    /// (issue 15, item 12: it was "cannot connect … is kvd running?", exit 69).
    func testKvctlWithoutPermissionOnTheSocketNamesTheGroup() throws {
        try requireModel()
        try requireAnotherUser()
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

    /// SO_PEERCRED: with allow lists set, a peer whose uid is not listed is refused by uid, even
    /// though the socket's mode lets it connect.
    func testPeersOutsideTheAllowListsAreRefused() throws {
        try requireModel()
        try requireAnotherUser()
        let daemon = try self.daemon(config: "socket_mode = 0666\nallow_uids = 12345\n")
        defer { daemon.terminate() }
        chmod(dir.path, 0o755)
        let refused = try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", try Products.path("kvctl"),
                                                   "health", "--socket", daemon.socket])
        XCTAssertEqual(refused.status, 10, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("uid 65534"), refused.stderr)
    }
}
