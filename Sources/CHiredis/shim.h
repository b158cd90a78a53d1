// hiredis, the Redis client kvd shares sessions through (Debian's libhiredis-dev; pkg-config
// `hiredis`). kvd uses its synchronous API on its own store threads (KVServer/Store).
#ifndef KVD_CHIREDIS_SHIM_H
#define KVD_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
