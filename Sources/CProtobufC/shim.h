// The protobuf-c runtime (libprotobuf-c-dev; pkg-config `libprotobuf-c`).
#include <protobuf-c/protobuf-c.h>
