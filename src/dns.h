/*
 * dns.h - DNS wire format parsing (RFC 1035, 6891, 7871), bounds-checked.
 *
 * Parses what the handlers need from a DNS message held in a caller's
 * buffer: the header, the first question, and the OPT record (EDNS version,
 * DO bit, UDP size, client subnet).  Nothing is allocated; names are written
 * into caller buffers.  Every read is checked against the message length;
 * compression pointers must point backwards (before the label that holds
 * them), a name may follow at most DNS_MAX_POINTERS pointers, labels are
 * at most 63 bytes and names at most 255 bytes on the wire: anything else is
 * an error (DNS_ERR_*), never a crash or a loop.
 *
 * Names are rendered in presentation format: labels joined by '.', no
 * trailing dot, the root as "" (as pktvisor); bytes outside printable ASCII
 * and '.' or '\\' inside a label are escaped ("\\046", "\\.", "\\\\"), so
 * every name is valid UTF-8 and unambiguous in JSON and Prometheus output.
 *
 * Ownership: pure functions over caller memory; thread-safe.
 */
#ifndef PKTVISOR_DNS_H
#define PKTVISOR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN    12
#define DNS_MAX_POINTERS  64
#define DNS_NAME_WIRE_MAX 255
/* Worst case: every wire byte escaped as \DDD. */
#define DNS_NAME_TEXT_MAX (DNS_NAME_WIRE_MAX * 4 + 1)

enum dns_error {
    DNS_OK = 0,
    DNS_ERR_SHORT = -1,       /* message ends inside a field */
    DNS_ERR_LABEL = -2,       /* label length > 63 or reserved label type */
    DNS_ERR_NAME_LEN = -3,    /* name longer than 255 bytes */
    DNS_ERR_POINTER = -4,     /* pointer forward, to itself, or past the end */
    DNS_ERR_LOOP = -5,        /* more than DNS_MAX_POINTERS pointers */
    DNS_ERR_NO_QUESTION = -6, /* qdcount == 0 */
    DNS_ERR_COUNTS = -7,      /* record counts impossible for the length */
};

struct dns_header {
    uint16_t id;
    bool qr, aa, tc, rd, ra, ad, cd;
    uint8_t opcode;
    uint8_t rcode; /* header RCODE (4 bits) */
    uint16_t qdcount, ancount, nscount, arcount;
};

struct dns_question {
    char name[DNS_NAME_TEXT_MAX]; /* NUL-terminated presentation format */
    size_t name_len;
    uint16_t qtype;
    uint16_t qclass;
    size_t end; /* offset just past the question */
    /* Where the name's last label separators are, so that callers cutting
     * it at label boundaries need not scan it again: seps[2] is the
     * offset in name of the last '.' written between labels, seps[1] the
     * one before, seps[0] the one before that; nseps (up to 3) of them
     * are valid, the newest last.  Only when escaped is false: an escaped
     * byte ("\." among others) may put more '.' in the text. */
    uint16_t seps[3];
    uint8_t nseps;
    bool escaped;
};

/* A name without compression and without a byte to escape, where it lies
 * in the message (borrowed): its text is wire[0, len) with a '.' in place
 * of each length octet, wire[-1] being the first label's length.  So the
 * text's bytes can be hashed or cut at labels without rendering it. */
struct dns_name_ref {
    const uint8_t *wire;
    size_t len;       /* of the text */
    size_t end;       /* offset just past the root octet */
    uint16_t seps[3]; /* as in struct dns_question */
    uint8_t nseps;
};

struct dns_question_ref {
    struct dns_name_ref name;
    uint16_t qtype;
    uint16_t qclass;
    size_t end;
};

struct dns_edns {
    bool present;
    uint8_t version;
    bool do_bit;
    uint16_t udp_size;
    uint8_t ext_rcode; /* upper 8 bits of the 12-bit RCODE */
    bool has_ecs;
    uint16_t ecs_family; /* 1 IPv4, 2 IPv6 */
    uint8_t ecs_source_prefix;
    uint8_t ecs_scope_prefix;
    uint8_t ecs_addr[16]; /* zero-padded */
};

static inline uint16_t dns_rd16_(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/* 0 or DNS_ERR_SHORT.  Inline: a caller that reads a few fields pays for
 * those only. */
static inline int dns_parse_header(const uint8_t *msg, size_t len, struct dns_header *h)
{
    if (msg == NULL || len < DNS_HEADER_LEN) {
        *h = (struct dns_header){0}; /* defined either way */
        return DNS_ERR_SHORT;
    }
    uint16_t flags = dns_rd16_(msg + 2);
    h->id = dns_rd16_(msg);
    h->qr = (flags >> 15) & 1;
    h->opcode = (uint8_t)((flags >> 11) & 0xf);
    h->aa = (flags >> 10) & 1;
    h->tc = (flags >> 9) & 1;
    h->rd = (flags >> 8) & 1;
    h->ra = (flags >> 7) & 1;
    h->ad = (flags >> 5) & 1;
    h->cd = (flags >> 4) & 1;
    h->rcode = (uint8_t)(flags & 0xf);
    h->qdcount = dns_rd16_(msg + 4);
    h->ancount = dns_rd16_(msg + 6);
    h->nscount = dns_rd16_(msg + 8);
    h->arcount = dns_rd16_(msg + 10);
    return DNS_OK;
}

/* Read the (possibly compressed) name at *off; on success *off is just past
 * it in the original position, and the name is in out (NUL-terminated,
 * *out_len bytes).  outsz should be DNS_NAME_TEXT_MAX. */
int dns_parse_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t outsz,
                   size_t *out_len);

/* The first question (requires qdcount >= 1). */
int dns_parse_question(const uint8_t *msg, size_t len, struct dns_question *q);
/* The same, for a caller that already parsed the header h of msg. */
int dns_parse_question_hdr(const uint8_t *msg, size_t len, const struct dns_header *h,
                           struct dns_question *q);

/* The first question, fast, when its name is plain (see struct
 * dns_name_ref) and the caller saw qdcount >= 1: DNS_OK, an error, or
 * DNS_NOT_PLAIN, on which dns_parse_question_hdr() decides. */
#define DNS_NOT_PLAIN 1
int dns_question_ref(const uint8_t *msg, size_t len, struct dns_question_ref *q);
/* The text of r, NUL-terminated, into out (r->len + 1 bytes). */
void dns_name_ref_text(const struct dns_name_ref *r, char *out);

/* Skip every question and answer/authority record, then find the OPT record
 * in the additional section.  0 with e->present false when there is none. */
int dns_parse_edns(const uint8_t *msg, size_t len, struct dns_edns *e);

/* Ports whose traffic is DNS (SPEC 3.4): 53, 5353, 5355, 53000.  Asked
 * for both ports of every packet, so one look-up instead of four compares:
 * (port * 563 >> 16) & 3 is 0, 1, 2, 3 for the four, in this order. */
static inline bool dns_is_port(uint16_t port)
{
    static const uint16_t dns_ports[4] = {53, 5353, 5355, 53000};
    return dns_ports[(port * 563u >> 16) & 3] == port;
}

/* Mnemonics of SPEC 3.4, or NULL when the value has none. */
const char *dns_rcode_name(unsigned rcode);
const char *dns_qtype_name(unsigned qtype);

#endif
