import Foundation
import XCTest
@testable import KVServer

/// The store setting as kvd.conf and `kvd --store` read it.
final class StoreURLTests: XCTestCase {
    func testTheFormsAUserWrites() throws {
        let tcp = try StoreURL("redis://kvd:p%40ss@10.0.0.5:6380/2")
        XCTAssertEqual(tcp.endpoint, .tcp(host: "10.0.0.5", port: 6380))
        XCTAssertEqual(tcp.user, "kvd")
        XCTAssertEqual(tcp.password, "p@ss")
        XCTAssertEqual(tcp.database, 2)
        XCTAssertEqual(tcp.description, "redis://kvd:***@10.0.0.5:6380/2", "the password never shows")
        XCTAssertEqual(try StoreURL("redis://:secret@h:1").description, "redis://:***@h:1")
        XCTAssertEqual(try StoreURL("redis://:secret@h:1").password, "secret")
        let userOnly = try StoreURL("redis://kvd@h:1")
        XCTAssertEqual(userOnly.user, "kvd", "a user whose password comes from store_password_file")
        XCTAssertNil(userOnly.password)
        XCTAssertEqual(try StoreURL("redis://[::1]:6379").endpoint, .tcp(host: "::1", port: 6379))
        let unix = try StoreURL("unix:///run/redis/redis.sock?db=3")
        XCTAssertEqual(unix.endpoint, .unix(path: "/run/redis/redis.sock"))
        XCTAssertEqual(unix.database, 3)
        XCTAssertEqual(unix.description, "unix:///run/redis/redis.sock?db=3")
        let aclUnix = try StoreURL("unix:///run/redis/redis.sock?user=kvd")
        XCTAssertEqual(aclUnix.user, "kvd", "an ACL user over a socket (its password from store_password_file)")
        XCTAssertEqual(aclUnix.description, "unix:///run/redis/redis.sock?user=kvd")
    }

    func testWrongFormsAreRefusedWithWhatIsExpected() {
        for (text, why) in [("http://h:1", "scheme"), ("redis://host", "port is required"), ("redis://h:99999", "port must be"),
                            ("redis://h:1/16", "database"), ("unix://relative.sock", "absolute"), ("redis://:1", "host is required"),
                            ("unix:///s.sock?db=x", "db=N"), ("unix:///s.sock?who=me", "user=NAME")] {
            XCTAssertThrowsError(try StoreURL(text), text) { error in
                XCTAssertTrue("\(error)".contains(why), "\(text): \(error)")
                XCTAssertTrue("\(error)".contains("expected redis://"), "\(error)")
            }
        }
        XCTAssertThrowsError(try StoreURL("redis://u:topsecret@h")) { XCTAssertFalse("\($0)".contains("topsecret"), "\($0)") }
        XCTAssertThrowsError(try StoreURL(String(repeating: "a", count: 5000)))
    }

    func testConfigFileKeys() throws {
        var c = ServerConfiguration()
        XCTAssertNil(c.store, "without store, sessions stay on this machine")
        try c.apply(configText: "store = redis://10.1.2.3:6379\nstore_prefix = team-a\nstore_password_file = /etc/kvd/pw")
        XCTAssertEqual(c.store?.endpoint, .tcp(host: "10.1.2.3", port: 6379))
        XCTAssertEqual(c.storePrefix, "team-a")
        XCTAssertEqual(c.storePasswordFile, "/etc/kvd/pw")
        XCTAssertThrowsError(try c.apply(configText: "store_prefix = has space")) {
            XCTAssertTrue("\($0)".contains("invalid value 'has space' for store_prefix"), "\($0)")
        }
        XCTAssertThrowsError(try c.apply(configText: "\nstore = redis://nohost")) {
            XCTAssertEqual(($0 as? ServerConfiguration.ParseError)?.line, 2)
        }
    }

    func testThePasswordFileMustBePrivate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvd-pw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("pw").path
        try "hunter2\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(file, 0o640), 0)
        var c = ServerConfiguration()
        c.store = try StoreURL("redis://u:inurl@h:1")
        c.storePasswordFile = file
        XCTAssertThrowsError(try c.storeWithPassword()) { XCTAssertTrue("\($0)".contains("has mode 640; it must be 0600"), "\($0)") }
        XCTAssertEqual(chmod(file, 0o600), 0)
        XCTAssertEqual(try c.storeWithPassword()?.password, "hunter2", "the file's password replaces the URL's")
        c.storePasswordFile = dir.appendingPathComponent("missing").path
        XCTAssertThrowsError(try c.storeWithPassword()) { XCTAssertTrue("\($0)".contains("cannot read store_password_file"), "\($0)") }
    }

    func testEventsOnTheChannelParse() {
        XCTAssertEqual(StoreEvent("publish 3d10ae8013c387d0 doc 7 vm:12:ab")?.version, 7)
        XCTAssertEqual(StoreEvent("drop f doc 2 o")?.kind, .drop)
        XCTAssertNil(StoreEvent("publish f doc x o"))
        XCTAssertNil(StoreEvent("evict f doc 1 o"))
    }
}
