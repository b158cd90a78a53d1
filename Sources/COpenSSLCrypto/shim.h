// OpenSSL's libcrypto (Debian's libssl-dev; pkg-config `libcrypto`): SHA-256 of the chunks of
// sessions shared through the store.
#ifndef KVD_COPENSSLCRYPTO_SHIM_H
#define KVD_COPENSSLCRYPTO_SHIM_H
#include <openssl/sha.h>
#endif
