import Foundation
import KVServer
import KVServerEngine
import KVModel
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The running daemon: loads the models, binds (or inherits) the socket, runs the libuv loop
/// until SIGTERM/SIGINT, then saves every session.
final class Daemon {
    let configuration: ServerConfiguration
    let logger: Logger

    init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let backend = try EngineBackend(modelPaths: configuration.modelPaths, threads: configuration.threads, logger: logger)
        let loop = try UVLoop()
        let server = try Server(configuration: configuration, backend: backend, loop: loop, logger: logger)

        let fd: Int32
        var ownSocket: String?
        if let inherited = UVListener.systemdSocket() {
            fd = inherited
            logger.info("listening on the socket systemd passed (fd \(fd))")
        } else {
            do {
                fd = try UVListener.bindUnixSocket(path: configuration.socketPath, mode: mode_t(configuration.socketMode))
            } catch { throw DaemonFailure("\(error)") }
            ownSocket = configuration.socketPath
            logger.info("listening on \(configuration.socketPath)")
        }
        let listener = try UVListener(loop: loop, fd: fd) { handle in
            server.accept(handle)
        }

        let logger = self.logger
        var watchers: [UVSignalWatcher] = []
        let stop: (Int32) -> Void = { signum in
            guard !server.isStopping else { return }
            logger.info("signal \(signum): stopping")
            SystemdNotify.send("STOPPING=1")
            listener.close()
            for w in watchers { w.close() }
            server.shutdown {
                loop.stop()
            }
        }
        watchers = [try UVSignalWatcher(loop: loop, signal: SIGTERM, stop), try UVSignalWatcher(loop: loop, signal: SIGINT, stop)]

        SystemdNotify.send("READY=1\nSTATUS=serving \(backend.models.first?.name ?? "")")
        logger.info("kvd \(Server.version) ready: model \(backend.models.first?.path ?? "?"), state \(configuration.stateDirectory), telemetry \(configuration.telemetryDirectory), memory budget \(configuration.memoryBudget) bytes, \(ThreadPool.shared.threadCount) threads, kernels \(CPULevel.current.rawValue)")
        loop.run()
        if let ownSocket { unlink(ownSocket) }
        server.scheduler.waitUntilFinished(timeout: 5)
        loop.close()
        logger.info("stopped")
    }
}
