/*
 * hash.c - hash64 out of line; its body is hash64_inline in hash.h.
 */
#include "hash.h"

uint64_t hash64(const void *data, size_t len, uint64_t seed)
{
    return hash64_inline(data, len, seed);
}
