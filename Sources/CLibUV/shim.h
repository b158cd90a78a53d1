// libuv, the event loop kvd's daemon runs on (libuv1-dev; pkg-config `libuv`), plus the few
// Linux socket calls Swift's Glibc module does not expose (struct ucred needs _GNU_SOURCE).
#ifndef KVD_CLIBUV_SHIM_H
#define KVD_CLIBUV_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <sys/socket.h>
#include <sys/types.h>
#include <stdint.h>
#include <uv.h>

/// The peer credentials of a connected Unix socket (SO_PEERCRED). Returns 0 or -errno.
static inline int kvd_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}
#endif
