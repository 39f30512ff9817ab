/*
 * fuzz_decode.c - libFuzzer target for decode_packet() and IP reassembly.
 *
 * Input layout:
 *   byte 0   link type, an index into `linktypes` (modulo its size)
 *   byte 1   seconds the packet clock advances per frame (low 6 bits), so
 *            fragment timeouts happen too
 *   rest     decoded once as a single frame, then read again as a chain of
 *            frames: 2-byte big-endian length, that many bytes, repeated
 *            (a short last frame takes what is left)
 *
 * Every frame goes through one decoder that lives for the whole run, so
 * fragments from different frames, and from different inputs, meet in the
 * reassembly table.  Each frame is copied into a heap buffer of exactly its
 * length, so AddressSanitizer sees any read past the capture.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/decode.c
 *        src/ipfrag.c tests/fuzz/fuzz_decode.c -o /tmp/fuzz_decode
 * Run:   /tmp/fuzz_decode tests/fuzz/corpus/decode
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {
    LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW,  DLT_RAW_ALT,
    LINKTYPE_IPV4,     LINKTYPE_IPV6,      LINKTYPE_NULL,       LINKTYPE_LOOP,
};

static struct decoder *g_dec;
static int64_t g_clock;
static volatile uint32_t g_sink;

static void check(const struct packet *p, int rc, const uint8_t *frame, size_t len)
{
    if (rc == 0 && p->l3 != 4 && p->l3 != 6)
        abort();
    if (rc != 0 && p->l3 != 0)
        abort();
    if (p->payload == NULL && p->payload_len != 0)
        abort();
    if (p->payload != NULL && !p->reassembled &&
        (p->payload < frame || p->payload_len > len ||
         p->payload - frame > (ptrdiff_t)(len - p->payload_len)))
        abort();
    if (p->reassembled && p->payload_len > DECODE_FRAG_MAX_BYTES)
        abort();

    /* touch every payload byte so ASan checks the pointer and length */
    uint32_t acc = 0;
    for (uint32_t i = 0; i < p->payload_len; i++)
        acc += p->payload[i];
    char buf[64];
    acc += (uint32_t)ip_addr_format(&p->src, buf, sizeof(buf));
    acc += (uint32_t)ip_addr_format(&p->dst, buf, sizeof(buf));
    g_sink += acc;
}

static void decode_one(int lt, const uint8_t *bytes, size_t len)
{
    uint8_t *frame = malloc(len ? len : 1);
    if (frame == NULL)
        return;
    if (len)
        memcpy(frame, bytes, len);
    struct packet p;
    int rc = decode_packet(g_dec, lt, frame, (uint32_t)len, (uint32_t)len, g_clock, 0, &p);
    check(&p, rc, frame, len);
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (g_dec == NULL) {
        g_dec = decoder_new();
        if (g_dec == NULL)
            abort();
    }
    int lt = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
    int64_t step = data[1] & 0x3f;
    const uint8_t *rest = data + 2;
    size_t n = size - 2;

    decode_one(lt, rest, n);

    size_t off = 0;
    while (n - off >= 2) {
        size_t len = (size_t)rest[off] << 8 | rest[off + 1];
        off += 2;
        if (len > n - off)
            len = n - off;
        g_clock += step;
        decode_one(lt, rest + off, len);
        off += len;
    }
    return 0;
}
