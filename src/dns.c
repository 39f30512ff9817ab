/*
 * dns.c - DNS wire format parsing (RFC 1035 section 4, RFC 6891, RFC 7871).
 *
 * Every function reads only inside [msg, msg + len) and does a bounded
 * amount of work: a name costs at most DNS_NAME_WIRE_MAX label bytes plus
 * DNS_MAX_POINTERS jumps, and skipping records never follows pointers, so
 * dns_parse_edns is linear in the message length.
 */
#include "dns.h"

#include <string.h>

#define DNS_TYPE_OPT 41
#define EDNS_OPT_ECS 8

/* Smallest possible question (root name + type + class) and record (root
 * name + type + class + ttl + rdlength): bounds the counts a message of a
 * given length can honestly carry. */
#define DNS_MIN_QUESTION 5
#define DNS_MIN_RR       11

/* Bytes a label cannot show as themselves: control and non-ASCII bytes,
 * and the '.' and '\\' that would make the name ambiguous.  Space counts as
 * printable: it cannot be confused with a separator. */
static const bool needs_escape[256] = {
    [0x00 ... 0x1f] = true,
    ['.'] = true,
    ['\\'] = true,
    [0x7f ... 0xff] = true,
};

/* Writes c in presentation form at o (1, 2 or 4 bytes); returns the count. */
static size_t render_byte(char *o, uint8_t c)
{
    if (!needs_escape[c]) {
        o[0] = (char)c;
        return 1;
    }
    o[0] = '\\';
    if (c == '.' || c == '\\') {
        o[1] = (char)c;
        return 2;
    }
    o[1] = (char)('0' + c / 100);
    o[2] = (char)('0' + c / 10 % 10);
    o[3] = (char)('0' + c % 10);
    return 4;
}

/* Appends one label byte in presentation form; false when out is full. */
static bool put_label_byte(char *out, size_t outsz, size_t *pos, uint8_t c)
{
    char buf[4];
    size_t n = render_byte(buf, c);
    /* Keep one byte for the terminating NUL. */
    if (outsz - *pos <= n)
        return false;
    memcpy(out + *pos, buf, n);
    *pos += n;
    return true;
}

/* Label separators and escapes seen while rendering a name (see struct
 * dns_question). */
struct name_marks {
    uint16_t seps[3];
    uint8_t nseps;
    bool escaped;
};

/* The fast path for plain names tests 16 bytes at a time: with SSE2 where
 * there is SSE2 (every x86-64), else as two 8-byte words, which needs a
 * little-endian target.  Defining DNS_NO_SSE2 forces the words (to test
 * them on x86-64). */
#if defined(__SSE2__) && !defined(DNS_NO_SSE2)
#include <emmintrin.h>
#define SWAR_LABELS 1
#define SSE2_LABELS 1
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_LABELS 1
#define SSE2_LABELS 0
#define ONES        UINT64_C(0x0101010101010101)
#define HIGHS       UINT64_C(0x8080808080808080)

static inline uint64_t load64(const void *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

/* The high bit of each byte of w that needs_escape[] flags: >= 0x80,
 * < 0x20, 0x7f, '.' or '\'.  Each test works on 7-bit bytes, so no sum
 * carries into the next byte. */
static inline uint64_t swar_escapes(uint64_t w)
{
    uint64_t x = w & ~HIGHS;
    uint64_t ctl = ~(x + 0x60 * ONES); /* x < 0x20 */
    uint64_t del = x + ONES;           /* x == 0x7f */
    uint64_t dot = ~((x ^ '.' * ONES) + 0x7f * ONES);
    uint64_t bsl = ~((x ^ '\\' * ONES) + 0x7f * ONES);
    return (w | ctl | del | dot | bsl) & HIGHS;
}

/* The high bits of the 8 bytes of flags gathered into bits 0-7 by one
 * multiply: byte i's bit lands at 56 + i, and no two products collide. */
static inline unsigned gather_flags(uint64_t flags)
{
    return (unsigned)(((flags >> 7) * UINT64_C(0x0102040810204080)) >> 56);
}
#else
#define SWAR_LABELS 0
#endif

#if SWAR_LABELS
/* Bit i set when p[i] needs escaping (needs_escape[]), for the 16 bytes at
 * p, all of which must be readable. */
static inline unsigned escapes16(const uint8_t *p)
{
#if SSE2_LABELS
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* Only the high bits count.  c + 1 (wrapping) minus 0x21 with signed
     * saturation is negative for c < 0x20, c == 0x7f and c >= 0x80. */
    __m128i ctl = _mm_subs_epi8(_mm_add_epi8(v, _mm_set1_epi8(1)), _mm_set1_epi8(0x21));
    __m128i dot = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
    __m128i bsl = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(dot, bsl)));
#else
    return gather_flags(swar_escapes(load64(p))) | gather_flags(swar_escapes(load64(p + 8))) << 8;
#endif
}

/* The last three separators of a plain name whose length octets are the
 * bits of lm[0, nw) (bit i of word j: wire offset 64 j + i), newest last,
 * as text offsets (one less than the wire offsets); the first length
 * octet is no separator. */
static inline void name_seps(const uint64_t *lm, size_t nw, struct dns_name_ref *r)
{
    uint16_t seps[3] = {0, 0, 0};
    unsigned ns = 0;
    for (size_t j = nw; j-- > 0 && ns < 3;) {
        uint64_t m = j == 0 ? lm[0] & ~UINT64_C(1) : lm[j];
        for (; m != 0 && ns < 3; ns++) {
            unsigned top = 63u ^ (unsigned)__builtin_clzll(m);
            m &= ~(UINT64_C(1) << top);
            seps[2 - ns] = (uint16_t)(64 * j + top - 1);
        }
    }
    memcpy(r->seps, seps, sizeof(seps));
    r->nseps = (uint8_t)ns;
}

/* plain_name_ref() for any name: what plain_name_fast() leaves undecided
 * (a name of 64 bytes or more, or one too near the start of msg to read 16
 * bytes back from its end). */
static bool __attribute__((noinline))
plain_name_slow(const uint8_t *msg, size_t len, size_t start, struct dns_name_ref *r)
{
    size_t room = len > start ? len - start : 0;
    size_t lim = room < DNS_NAME_WIRE_MAX ? room : DNS_NAME_WIRE_MAX;
    const uint8_t *s = msg + start;
    uint64_t lm[4] = {0, 0, 0, 0}; /* < 4 * 64 wire offsets */
    size_t p = 0;
    for (;;) {
        if (p >= lim)
            return false;
        unsigned b = s[p];
        if (b == 0)
            break;
        if (b > 63)
            return false;
        lm[p / 64] |= UINT64_C(1) << (p % 64);
        p += b + 1;
    }
    /* The name's bytes are [0, p): 16 at a time, the last ones through a
     * load that ends at p, or a copy when that would start before msg. */
    for (size_t k = 0; k < p; k += 16) {
        size_t n = p - k < 16 ? p - k : 16;
        unsigned e;
        if (n == 16) {
            e = escapes16(s + k);
        } else if (start + p >= 16) {
            e = escapes16(s + p - 16) >> (16 - n);
        } else {
            uint8_t buf[16] = {0};
            memcpy(buf, s + k, n);
            e = escapes16(buf) & ((1u << n) - 1);
        }
        if (e & ~(unsigned)(lm[k / 64] >> (k % 64)))
            return false;
    }
    r->wire = s + 1;
    r->len = p > 0 ? p - 1 : 0;
    r->end = start + p + 1;
    name_seps(lm, (p + 63) / 64, r);
    return true;
}

/* A plain name (no compression, no byte to escape) at start: one walk over
 * the length octets, marking each in a bit mask, then the name's bytes are
 * checked 16 at a time: the bytes to escape must all be length octets.
 * 1 when it is plain, with *r; 0 when it is not (read_name's general loop
 * then renders the name or finds the error); -1 when plain_name_slow()
 * must decide.  It calls nothing, so the common case saves no registers. */
static inline __attribute__((always_inline)) int
plain_name_fast(const uint8_t *msg, size_t len, size_t start, struct dns_name_ref *r)
{
    /* Every octet read must be in the message (and the wire name fit 255
     * bytes, which a walk that stops at 64 cannot exceed). */
    size_t room = len > start ? len - start : 0;
    size_t lim64 = room < 64 ? room : 64;
    const uint8_t *s = msg + start;
    uint64_t lm = 0; /* bit p: a length octet at wire offset p */
    size_t p = 0;
    if (lim64 == 0)
        return 0;
    for (;;) {
        size_t b = s[p];
        if (b == 0)
            break;
        lm |= UINT64_C(1) << p;
        p += b + 1;
        if (p >= lim64) {
            /* b > 63 (a pointer or a reserved label type) lands here. */
            if (b > 63 || p >= room)
                return 0;
            return -1;
        }
    }
    /* The name's bytes are [0, p), p < 64.  Read 16 at a time, the last 16
     * ending at p (overlapping the ones before, or starting before start):
     * never past the root octet, so never outside the message. */
    uint64_t esc;
    if (p >= 16) {
        esc = escapes16(s);
        if (p > 32) {
            esc |= (uint64_t)escapes16(s + 16) << 16;
            if (p > 48)
                esc |= (uint64_t)escapes16(s + 32) << 32;
        }
        esc |= (uint64_t)escapes16(s + p - 16) << (p - 16);
    } else if (p == 0) {
        *r = (struct dns_name_ref){.wire = s + 1, .end = start + 1};
        return 1;
    } else if (start + p >= 16) {
        esc = escapes16(s + p - 16) >> (16 - p);
    } else {
        return -1;
    }
    if (esc & ~lm)
        return 0;
    r->wire = s + 1;
    r->len = p - 1;
    r->end = start + p + 1;
    name_seps(&lm, 1, r);
    return 1;
}

/* A plain name at start into *r, or false having decided nothing. */
static inline __attribute__((always_inline)) bool
plain_name_ref(const uint8_t *msg, size_t len, size_t start, struct dns_name_ref *r)
{
    int rc = plain_name_fast(msg, len, start, r);
    if (rc < 0)
        return plain_name_slow(msg, len, start, r);
    return rc > 0;
}

static bool read_plain_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t outsz,
                            size_t *out_len, struct name_marks *mk)
{
    struct dns_name_ref r;
    if (!plain_name_ref(msg, len, *off, &r) || outsz <= r.len)
        return false;
    dns_name_ref_text(&r, out);
    if (out_len != NULL)
        *out_len = r.len;
    *off = r.end;
    if (mk != NULL) {
        memcpy(mk->seps, r.seps, sizeof(mk->seps));
        mk->nseps = r.nseps;
        mk->escaped = false;
    }
    return true;
}
#endif

/* dns_parse_name without the argument checks; may leave out unterminated
 * on error. */
static int read_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t outsz,
                     size_t *out_len, struct name_marks *mk)
{
#if SWAR_LABELS
    if (read_plain_name(msg, len, off, out, outsz, out_len, mk))
        return DNS_OK;
#endif
    size_t pos = *off;
    size_t after = 0; /* where the name ends in its original position */
    bool jumped = false;
    unsigned pointers = 0;
    size_t wire = 0; /* label bytes so far, length octets included */
    size_t text = 0;
    struct name_marks m = {{0, 0, 0}, 0, false};

    for (;;) {
        if (pos >= len)
            return DNS_ERR_SHORT;
        uint8_t b = msg[pos];
        if ((b & 0xc0) == 0xc0) {
            if (len - pos < 2)
                return DNS_ERR_SHORT;
            size_t target = (size_t)(b & 0x3f) << 8 | msg[pos + 1];
            /* Backwards only: then every jump lands on bytes already
             * known to exist, and a cycle needs label bytes in between,
             * which the pointer and length limits below cut short. */
            if (target >= pos)
                return DNS_ERR_POINTER;
            if (++pointers > DNS_MAX_POINTERS)
                return DNS_ERR_LOOP;
            if (!jumped) {
                after = pos + 2;
                jumped = true;
            }
            pos = target;
            continue;
        }
        if (b & 0xc0)
            return DNS_ERR_LABEL; /* 0x40 extended and 0x80 reserved types */
        if (b == 0) {
            if (!jumped)
                after = pos + 1;
            break;
        }
        /* The root octet must still fit after this label. */
        wire += 1u + b;
        if (wire + 1 > DNS_NAME_WIRE_MAX)
            return DNS_ERR_NAME_LEN;
        if (len - pos - 1 < b)
            return DNS_ERR_SHORT;
        if (text > 0) {
            if (outsz - text <= 1)
                return DNS_ERR_NAME_LEN;
            m.seps[0] = m.seps[1];
            m.seps[1] = m.seps[2];
            m.seps[2] = (uint16_t)text;
            m.nseps += m.nseps < 3;
            out[text++] = '.';
        }
        const uint8_t *label = msg + pos + 1;
        if (outsz - text > (size_t)b * 4 + 1) {
            /* Room for the worst case: no per-byte bounds checks. */
            char *o = out + text;
            size_t i = 0;
            for (; i < b; i++) {
                uint8_t c = label[i];
                if (!needs_escape[c]) {
                    *o++ = (char)c;
                } else {
                    o += render_byte(o, c);
                    m.escaped = true;
                }
            }
            text = (size_t)(o - out);
        } else {
            for (size_t i = 0; i < b; i++) {
                m.escaped |= needs_escape[label[i]];
                if (!put_label_byte(out, outsz, &text, label[i]))
                    return DNS_ERR_NAME_LEN;
            }
        }
        pos += 1u + b;
    }
    out[text] = '\0';
    if (out_len != NULL)
        *out_len = text;
    *off = after;
    if (mk != NULL)
        *mk = m;
    return DNS_OK;
}

int dns_parse_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t outsz,
                   size_t *out_len)
{
    if (msg == NULL || off == NULL || out == NULL || outsz == 0)
        return DNS_ERR_SHORT;
    int rc = read_name(msg, len, off, out, outsz, out_len, NULL);
    /* A caller that prints the name despite the error sees "", not junk. */
    if (rc != DNS_OK)
        out[0] = '\0';
    return rc;
}

/* Moves *off past a name without rendering it.  Pointers are checked but
 * not followed: the name they lead to does not change where this one
 * ends, and following them would make skipping many records cost far more
 * than the bytes they occupy. */
static int skip_name(const uint8_t *msg, size_t len, size_t *off)
{
    size_t pos = *off;
    size_t wire = 0;
    for (;;) {
        if (pos >= len)
            return DNS_ERR_SHORT;
        uint8_t b = msg[pos];
        if ((b & 0xc0) == 0xc0) {
            if (len - pos < 2)
                return DNS_ERR_SHORT;
            size_t target = (size_t)(b & 0x3f) << 8 | msg[pos + 1];
            if (target >= pos)
                return DNS_ERR_POINTER;
            *off = pos + 2;
            return DNS_OK;
        }
        if (b & 0xc0)
            return DNS_ERR_LABEL;
        if (b == 0) {
            *off = pos + 1;
            return DNS_OK;
        }
        wire += 1u + b;
        if (wire + 1 > DNS_NAME_WIRE_MAX)
            return DNS_ERR_NAME_LEN;
        if (len - pos - 1 < b)
            return DNS_ERR_SHORT;
        pos += 1u + b;
    }
}

int dns_parse_question(const uint8_t *msg, size_t len, struct dns_question *q)
{
    struct dns_header h;
    int rc = dns_parse_header(msg, len, &h);
    if (rc != DNS_OK)
        return rc;
    return dns_parse_question_hdr(msg, len, &h, q);
}

/* The type and class after a question's name, which ends at off. */
static int read_type_class(const uint8_t *msg, size_t len, size_t off, uint16_t *qtype,
                           uint16_t *qclass, size_t *end)
{
    if (len - off < 4)
        return DNS_ERR_SHORT;
    *qtype = dns_rd16_(msg + off);
    *qclass = dns_rd16_(msg + off + 2);
    *end = off + 4;
    return DNS_OK;
}

int dns_parse_question_hdr(const uint8_t *msg, size_t len, const struct dns_header *h,
                           struct dns_question *q)
{
    if (msg == NULL || len < DNS_HEADER_LEN)
        return DNS_ERR_SHORT;
    if (h->qdcount == 0)
        return DNS_ERR_NO_QUESTION;
    size_t off = DNS_HEADER_LEN;
    struct name_marks mk;
    int rc = read_name(msg, len, &off, q->name, sizeof(q->name), &q->name_len, &mk);
    if (rc != DNS_OK) {
        q->name[0] = '\0'; /* as dns_parse_name leaves it */
        return rc;
    }
    memcpy(q->seps, mk.seps, sizeof(q->seps));
    q->nseps = mk.nseps;
    q->escaped = mk.escaped;
    return read_type_class(msg, len, off, &q->qtype, &q->qclass, &q->end);
}

void dns_name_ref_text(const struct dns_name_ref *r, char *out)
{
    if (r->len > 0)
        memcpy(out, r->wire, r->len);
    out[r->len] = '\0';
    /* wire[-1] is the first label's length octet. */
    for (size_t i = r->wire[-1]; i < r->len; i += 1u + r->wire[i])
        out[i] = '.';
}

int dns_question_ref(const uint8_t *msg, size_t len, struct dns_question_ref *q)
{
    if (msg == NULL || len < DNS_HEADER_LEN)
        return DNS_ERR_SHORT;
#if SWAR_LABELS
    if (!plain_name_ref(msg, len, DNS_HEADER_LEN, &q->name))
        return DNS_NOT_PLAIN;
    return read_type_class(msg, len, q->name.end, &q->qtype, &q->qclass, &q->end);
#else
    return DNS_NOT_PLAIN;
#endif
}

/* Client subnet (RFC 7871 section 6).  A malformed option is ignored
 * rather than failing the message: the rest of the OPT record is sound. */
static void parse_ecs(const uint8_t *p, size_t n, struct dns_edns *e)
{
    if (e->has_ecs || n < 4)
        return;
    uint16_t family = dns_rd16_(p);
    uint8_t source = p[2];
    size_t addr_len = n - 4;
    size_t max_len = family == 1 ? 4 : family == 2 ? 16 : 0;
    if (max_len == 0 || addr_len > max_len || source > max_len * 8)
        return;
    e->has_ecs = true;
    e->ecs_family = family;
    e->ecs_source_prefix = source;
    e->ecs_scope_prefix = p[3];
    memset(e->ecs_addr, 0, sizeof(e->ecs_addr));
    if (addr_len > 0)
        memcpy(e->ecs_addr, p + 4, addr_len);
}

/* rdata of the OPT record: {code, length, data} options. */
static int parse_opt_rdata(const uint8_t *p, size_t n, struct dns_edns *e)
{
    size_t i = 0;
    while (i < n) {
        if (n - i < 4)
            return DNS_ERR_SHORT;
        uint16_t code = dns_rd16_(p + i);
        uint16_t olen = dns_rd16_(p + i + 2);
        i += 4;
        if (n - i < olen)
            return DNS_ERR_SHORT;
        if (code == EDNS_OPT_ECS)
            parse_ecs(p + i, olen, e);
        i += olen;
    }
    return DNS_OK;
}

/* Skips one resource record at *off; its type, class, ttl and rdata
 * position are returned for the caller that wants them. */
static int skip_rr(const uint8_t *msg, size_t len, size_t *off, uint16_t *type, uint16_t *klass,
                   uint32_t *ttl, size_t *rdata, uint16_t *rdlen)
{
    size_t pos = *off;
    int rc = skip_name(msg, len, &pos);
    if (rc != DNS_OK)
        return rc;
    if (len - pos < 10)
        return DNS_ERR_SHORT;
    *type = dns_rd16_(msg + pos);
    *klass = dns_rd16_(msg + pos + 2);
    *ttl = (uint32_t)dns_rd16_(msg + pos + 4) << 16 | dns_rd16_(msg + pos + 6);
    *rdlen = dns_rd16_(msg + pos + 8);
    pos += 10;
    if (len - pos < *rdlen)
        return DNS_ERR_SHORT;
    *rdata = pos;
    *off = pos + *rdlen;
    return DNS_OK;
}

int dns_parse_edns(const uint8_t *msg, size_t len, struct dns_edns *e)
{
    memset(e, 0, sizeof(*e));
    struct dns_header h;
    int rc = dns_parse_header(msg, len, &h);
    if (rc != DNS_OK)
        return rc;
    /* Rejects absurd counts in O(1) before walking anything. */
    uint64_t need = DNS_HEADER_LEN + (uint64_t)h.qdcount * DNS_MIN_QUESTION +
                    ((uint64_t)h.ancount + h.nscount + h.arcount) * DNS_MIN_RR;
    if (need > len)
        return DNS_ERR_COUNTS;

    size_t off = DNS_HEADER_LEN;
    for (unsigned i = 0; i < h.qdcount; i++) {
        rc = skip_name(msg, len, &off);
        if (rc != DNS_OK)
            return rc;
        if (len - off < 4)
            return DNS_ERR_SHORT;
        off += 4;
    }
    unsigned before_additional = (unsigned)h.ancount + h.nscount;
    unsigned total = before_additional + h.arcount;
    for (unsigned i = 0; i < total; i++) {
        uint16_t type, klass, rdlen;
        uint32_t ttl;
        size_t rdata;
        rc = skip_rr(msg, len, &off, &type, &klass, &ttl, &rdata, &rdlen);
        if (rc != DNS_OK)
            return rc;
        if (i < before_additional || type != DNS_TYPE_OPT)
            continue;
        /* RFC 6891 section 6.1.3: TTL = ext-rcode, version, DO, Z. */
        e->present = true;
        e->udp_size = klass;
        e->ext_rcode = (uint8_t)(ttl >> 24);
        e->version = (uint8_t)(ttl >> 16);
        e->do_bit = (ttl >> 15) & 1;
        rc = parse_opt_rdata(msg + rdata, rdlen, e);
        if (rc != DNS_OK) {
            memset(e, 0, sizeof(*e));
            return rc;
        }
        return DNS_OK;
    }
    return DNS_OK;
}

/* SPEC 3.4.  16 is listed as both BADVERS and BADSIG; the first wins. */
static const char *const rcode_names[] = {
    [0] = "NOERROR",  [1] = "FORMERR",    [2] = "SRVFAIL",  [3] = "NXDOMAIN",  [4] = "NOTIMP",
    [5] = "REFUSED",  [6] = "YXDOMAIN",   [7] = "YXRRSET",  [8] = "NXRRSET",   [9] = "NOTAUTH",
    [10] = "NOTZONE", [11] = "DSOTYPENI", [16] = "BADVERS", [17] = "BADKEY",   [18] = "BADTIME",
    [19] = "BADMODE", [20] = "BADNAME",   [21] = "BADALG",  [22] = "BADTRUNC", [23] = "BADCOOKIE",
};

static const char *const qtype_names[] = {
    [1] = "A",       [2] = "NS",      [3] = "MD",        [4] = "MF",          [5] = "CNAME",
    [6] = "SOA",     [7] = "MB",      [8] = "MG",        [9] = "MR",          [10] = "NULL",
    [11] = "WKS",    [12] = "PTR",    [13] = "HINFO",    [14] = "MINFO",      [15] = "MX",
    [16] = "TXT",    [17] = "RP",     [18] = "AFSDB",    [19] = "X25",        [20] = "ISDN",
    [21] = "RT",     [22] = "NSAP",   [23] = "NSAP-PTR", [24] = "SIG",        [25] = "KEY",
    [26] = "PX",     [27] = "GPOS",   [28] = "AAAA",     [29] = "LOC",        [30] = "NXT",
    [31] = "EID",    [32] = "NIMLOC", [33] = "SRV",      [35] = "NAPTR",      [36] = "KX",
    [37] = "CERT",   [38] = "A6",     [39] = "DNAME",    [40] = "SINK",       [41] = "OPT",
    [42] = "APL",    [43] = "DS",     [44] = "SSHFP",    [45] = "IPSECKEY",   [46] = "RRSIG",
    [47] = "NSEC",   [48] = "DNSKEY", [49] = "DHCID",    [50] = "NSEC3",      [51] = "NSEC3PARAM",
    [52] = "TLSA",   [53] = "SMIMEA", [55] = "HIP",      [56] = "NINFO",      [57] = "RKEY",
    [58] = "TALINK", [59] = "CDS",    [60] = "CDNSKEY",  [61] = "OPENPGPKEY", [62] = "CSYNC",
    [63] = "ZONEMD", [64] = "SVCB",   [65] = "HTTPS",    [99] = "SPF",        [100] = "UINFO",
    [101] = "UID",   [102] = "GID",   [103] = "UNSPEC",  [104] = "NID",       [105] = "L32",
    [106] = "L64",   [107] = "LP",    [108] = "EUI48",   [109] = "EUI64",     [249] = "TKEY",
    [250] = "TSIG",  [251] = "IXFR",  [252] = "AXFR",    [253] = "MAILB",     [254] = "MAILA",
    [256] = "URI",   [257] = "CAA",   [258] = "AVC",     [259] = "DOA",       [260] = "AMTRELAY",
};

const char *dns_rcode_name(unsigned rcode)
{
    if (rcode >= sizeof(rcode_names) / sizeof(rcode_names[0]))
        return NULL;
    return rcode_names[rcode];
}

const char *dns_qtype_name(unsigned qtype)
{
    if (qtype >= sizeof(qtype_names) / sizeof(qtype_names[0]))
        return NULL;
    return qtype_names[qtype];
}
