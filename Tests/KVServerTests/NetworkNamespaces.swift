import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Network namespaces standing in for replicas on separate hosts, so a test can put a redis-server
/// on one "host" and its clients on another without touching the machine's network. Each member
/// namespace has its own loopback (its 127.0.0.1 is not the machine's: the test machine's services
/// are out of reach) and one address on a private link; the members' veths meet on a bridge in a
/// hub namespace, so two and three members are wired the same way. Needs root (`ip netns add`).
///
/// Addresses are 127.77.0.<n>/24: the loopback range, never routed off the machine. Linux carries
/// 127/8 over a veth only with `route_localnet` = 1 on both ends: without it the sender's route
/// lookup fails with EINVAL, and the receiver drops the packets (ARP included) as martians. And the
/// link's /24 must beat the loopback's `local 127.0.0.0/8`: it does in the main table while the
/// kernel keeps local and main merged (no policy rules), but the local table is looked up first
/// once any `ip rule` exists, so the /24 goes into the local table too. (Verified on a 6.x kernel
/// with TCP; 169.254/16 link-local, the planned fallback, was not needed.)
///
/// Unix sockets are files, not network: a path-based socket is reachable from every namespace.
final class NetworkNamespaces {
    /// The member namespaces, e.g. ["kvdt3fa9c1a", "kvdt3fa9c1b"]; unique to this instance.
    let names: [String]
    /// `addresses[i]` is the address of `names[i]` on the link ("127.77.0.1", "127.77.0.2", …).
    let addresses: [String]
    /// Holds the bridge; tests run nothing there.
    let hub: String
    /// The member end of each veth, `interfaces[i]` in `names[i]`.
    let interfaces: [String]
    private var tornDown = false

    /// Creates `count` (2…7) member namespaces on one link. A failed step removes what was made.
    init(count: Int = 2) throws {
        guard (2...7).contains(count) else { throw Failure("NetworkNamespaces(count: \(count)): 2…7 members") }
        _ = try Self.ipPath()
        // kvdt + 6 random hex digits: unique per instance, and interface names stay within IFNAMSIZ (15).
        let id = "kvdt" + String(format: "%06x", UInt32.random(in: 0..<(1 << 24)))
        let letters = "abcdefg".map(String.init).prefix(count)
        names = letters.map { id + $0 }
        interfaces = letters.map { id + $0 + "0" }
        addresses = (1...count).map { "127.77.0.\($0)" }
        hub = id + "h"
        let bridge = id + "br"
        do {
            try Self.ip(["netns", "add", hub])
            try Self.ip(["-n", hub, "link", "add", bridge, "type", "bridge"])
            try Self.ip(["-n", hub, "link", "set", bridge, "up"])
            for (i, letter) in letters.enumerated() {
                let ns = names[i], dev = interfaces[i], hubEnd = id + "h" + letter
                try Self.ip(["netns", "add", ns])
                try Self.ip(["-n", ns, "link", "set", "lo", "up"])
                try Self.ip(["-n", hub, "link", "add", hubEnd, "type", "veth", "peer", "name", dev, "netns", ns])
                try Self.ip(["-n", hub, "link", "set", hubEnd, "master", bridge, "up"])
                // `sysctl -w net.ipv4.conf.{all,<dev>}.route_localnet=1` in the namespace, written to
                // /proc/sys directly so procps is not needed (the kernel ORs the two flags; `all` also
                // covers devices a test adds later). The hub only switches frames and needs neither.
                let sysctl = ["all", dev].map { "echo 1 > /proc/sys/net/ipv4/conf/\($0)/route_localnet" }.joined(separator: " && ")
                try Self.check(exec(ns, ["/bin/sh", "-c", sysctl]).runCapturingOutput(), "route_localnet in \(ns)")
                try Self.ip(["-n", ns, "addr", "add", addresses[i] + "/24", "dev", dev])
                try Self.ip(["-n", ns, "link", "set", dev, "up"])
                try Self.ip(["-n", ns, "route", "add", "127.77.0.0/24", "dev", dev, "table", "local", "src", addresses[i]])
            }
        } catch {
            tearDown()
            throw error
        }
    }

    deinit { tearDown() }

    /// The link address of member `ns`.
    func address(of ns: String) -> String? {
        names.firstIndex(of: ns).map { addresses[$0] }
    }

    /// A process (not yet started) running `argv` inside namespace `ns` (`ip netns exec` execs
    /// `argv`, so the process's pid is the command's own).
    func exec(_ ns: String, _ argv: [String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: (try? Self.ipPath()) ?? "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns] + argv
        return p
    }

    /// Runs `argv` in `ns` to its end (killed after `timeout`).
    func run(_ ns: String, _ argv: [String], timeout: TimeInterval = 30) throws -> ToolOutput {
        try exec(ns, argv).runCapturingOutput(timeout: timeout)
    }

    /// Kills what still runs in the namespaces (a process keeps a deleted namespace alive) and deletes
    /// them; their veths and the bridge go with them. Safe to call twice.
    func tearDown() {
        guard !tornDown else { return }
        tornDown = true
        for ns in names + [hub] {
            if let pids = try? Self.ipOutput(["netns", "pids", ns]) {
                for pid in pids.split(whereSeparator: \.isWhitespace).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? Self.ip(["netns", "del", ns])
        }
    }

    /// iproute2's `ip`; its absence is an error (the tests must not pass untested).
    static func ipPath() throws -> String {
        for p in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        throw Failure("ip (iproute2) is not installed; apt-get install iproute2")
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        init(_ message: String) { self.message = message }
        var description: String { message }
    }

    // MARK: Private

    private static func ip(_ args: [String]) throws {
        _ = try ipOutput(args)
    }

    private static func ipOutput(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try ipPath())
        p.arguments = args
        return try check(p.runCapturingOutput(), "ip " + args.joined(separator: " "))
    }

    @discardableResult
    private static func check(_ result: ToolOutput, _ what: String) throws -> String {
        guard result.status == 0 else {
            let hint = result.stderr.contains("not permitted") ? " (network namespaces need root)" : ""
            throw Failure("\(what) failed\(hint): \(result.transcript)")
        }
        return result.stdout
    }
}
