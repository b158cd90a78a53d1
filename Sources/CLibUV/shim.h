// libuv, the event loop kvd's daemon runs on (libuv1-dev; pkg-config `libuv`).
#include <uv.h>
