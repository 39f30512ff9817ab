/*
 * fuzz_dns.c - libFuzzer target for the DNS wire parser.
 *
 * The input is one DNS message.  Every entry point runs on it, names are
 * read from every offset, and the results are checked for the promises of
 * dns.h (bounds, lengths, error codes); a broken promise traps so the
 * fuzzer records the input.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/dns.c \
 *       tests/fuzz/fuzz_dns.c -o /tmp/fuzz_dns
 *   /tmp/fuzz_dns -max_total_time=180 tests/fuzz/corpus/dns
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static void check_rc(int rc)
{
    check(rc <= DNS_OK && rc >= DNS_ERR_COUNTS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dns_header h;
    int rc = dns_parse_header(data, size, &h);
    check(rc == (size < DNS_HEADER_LEN ? DNS_ERR_SHORT : DNS_OK));
    if (rc == DNS_OK) {
        check(h.opcode < 16 && h.rcode < 16);
        (void)dns_rcode_name(h.rcode);
    }

    struct dns_question q;
    rc = dns_parse_question(data, size, &q);
    check_rc(rc);
    if (rc == DNS_OK) {
        check(q.end <= size && q.end >= DNS_HEADER_LEN + 5);
        check(strlen(q.name) == q.name_len);
        (void)dns_qtype_name(q.qtype);
    }

    /* The fast path agrees with the renderer whenever it answers. */
    if (size >= DNS_HEADER_LEN && h.qdcount > 0) {
        struct dns_question_ref r;
        int fast = dns_question_ref(data, size, &r);
        check(fast == DNS_NOT_PLAIN || fast == rc);
        if (fast == DNS_OK) {
            char text[DNS_NAME_WIRE_MAX + 1];
            dns_name_ref_text(&r.name, text);
            check(!q.escaped && r.name.len == q.name_len && strcmp(text, q.name) == 0);
            check(r.end == q.end && r.qtype == q.qtype && r.qclass == q.qclass);
            check(r.name.nseps == q.nseps);
        }
    }

    struct dns_edns e;
    rc = dns_parse_edns(data, size, &e);
    check_rc(rc);
    check(rc == DNS_OK || !e.present);
    if (e.has_ecs) {
        check(e.present);
        check(e.ecs_family == 1 || e.ecs_family == 2);
        check(e.ecs_source_prefix <= (e.ecs_family == 1 ? 32 : 128));
    }

    /* Names from every offset, so pointers land anywhere. */
    char out[DNS_NAME_TEXT_MAX];
    for (size_t o = 0; o < size; o++) {
        size_t off = o, olen = 0;
        rc = dns_parse_name(data, size, &off, out, sizeof(out), &olen);
        check_rc(rc);
        if (rc == DNS_OK) {
            check(off > o && off <= size);
            check(olen < sizeof(out) && strlen(out) == olen);
        } else {
            check(off == o);
        }
    }

    /* A caller buffer too small for the name must be refused, not
     * overrun: heap-allocated at its exact size for ASan. */
    if (size > DNS_HEADER_LEN) {
        size_t outsz = (size_t)data[size - 1] % 48 + 1;
        char *small = malloc(outsz);
        if (small != NULL) {
            size_t off = DNS_HEADER_LEN, olen = 0;
            rc = dns_parse_name(data, size, &off, small, outsz, &olen);
            check_rc(rc);
            if (rc == DNS_OK)
                check(olen < outsz && strlen(small) == olen);
            free(small);
        }
    }
    return 0;
}
