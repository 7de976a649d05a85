/* sha256.h -- SHA-256 (FIPS 180-4), incremental, for storage's ETags and for
 * checking blobs in tests. Written here because no Debian -dev package offers
 * one that links statically with musl without dragging in a crypto library. */
#ifndef UIG_SHA256_H
#define UIG_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX (2 * SHA256_LEN + 1)

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t block[64];
    size_t used;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_LEN]);
/* Lower-case hex of the digest, NUL-terminated. */
void sha256_final_hex(sha256_ctx *c, char out[SHA256_HEX]);
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX]);

#endif
