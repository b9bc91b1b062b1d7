/* sha256.h — SHA-256, to name a policy file's exact text in its decisions. */
#ifndef KAM_SHA256_H
#define KAM_SHA256_H
#include <stddef.h>

/* Writes 64 hex digits and a NUL into out. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
