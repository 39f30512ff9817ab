/*
 * gen_pcap - write a deterministic synthetic capture for tests/bench/run.
 *
 *   gen_pcap [--packets N] [--mode net|dns] [--seed S] [--distinct-sources K] OUT.pcap
 *
 * Every choice comes from one seeded xoshiro256** stream and the clock starts
 * at a fixed epoch, so the same arguments give the same bytes on any machine
 * and benchmark figures stay comparable between runs.
 *
 * net: IPv4/IPv6 UDP, TCP and ICMP between hosts of 10.0.0.0/8 and
 *      2001:db8::/32 and K remote addresses (default 1,000,000) drawn with a
 *      Zipf-like skew, half inbound and half outbound, at about 100k
 *      packets/s.
 * dns: DNS transactions between K clients (default 100,000) and four servers
 *      in the host networks: Zipf names (s = 1.0) over 1,000,000 names in 300
 *      zones, 2% over TCP as whole connections, 3% never answered.
 *
 * Frames are assembled in a large staging buffer and written with fwrite, so
 * 5 million packets take a few seconds; the output is the cost of the
 * benchmark, not the generator. IP, TCP, UDP and ICMP checksums are right,
 * so tshark and tcpdump -v report no errors. A shorter capture with the same
 * seed is a prefix of a longer one.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH_SEC       1700000000u /* 2023-11-14T22:13:20Z, fixed so files are identical */
#define MIN_FRAME       60u         /* Ethernet minimum without FCS: short frames are padded */
#define MAX_FRAME       1514u       /* full 1500-byte MTU frames, written whole */
#define OUT_BUF_SIZE    (4u << 20)
#define LOCAL_HOSTS     4096u
#define NET_ZIPF_S      0.7 /* skewed, yet ~90% of 1M sources appear in 5M packets */
#define DNS_NAMES       1000000u
#define DNS_ZONES       300u
#define DNS_NAME_ZIPF_S 1.0
#define DNS_CLIENT_S    0.8
#define NAME_MAX_WIRE   64u        /* longest name the table builds is under 50 bytes */
#define MAX_SOURCES     (1u << 28) /* remote IPv4 addresses come from a 2^28 space */

enum mode { MODE_NET, MODE_DNS };

/* ---- random numbers ------------------------------------------------------ */

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Multiply-shift instead of modulo: no division, and a bias below 2^-32. */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* Inclusive range. */
static inline uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

static inline double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/*
 * Zipf sampling by inverse CDF with a guide table (Chen and Asau): the guide
 * points near the answer, so a draw costs two or three memory reads instead
 * of a 20-step binary search through megabytes of CDF.
 */
struct zipf {
    uint32_t n;
    double *cdf;
    uint32_t *guide;
};

static int zipf_init(struct zipf *z, uint32_t n, double s)
{
    z->n = n;
    z->cdf = malloc((size_t)n * sizeof *z->cdf);
    z->guide = malloc((size_t)n * sizeof *z->guide);
    if (z->cdf == NULL || z->guide == NULL)
        return -1;
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        sum += pow(i + 1.0, -s);
        z->cdf[i] = sum;
    }
    for (uint32_t i = 0; i < n; i++)
        z->cdf[i] /= sum;
    z->cdf[n - 1] = 1.0; /* rounding must not leave a draw above the last entry */
    uint32_t i = 0;
    for (uint32_t j = 0; j < n; j++) {
        double lo = (double)j / n;
        while (z->cdf[i] <= lo)
            i++;
        z->guide[j] = i;
    }
    return 0;
}

static void zipf_free(struct zipf *z)
{
    free(z->cdf);
    free(z->guide);
    z->cdf = NULL;
    z->guide = NULL;
}

/* Returns a rank in [0, n), rank 0 the most frequent. */
static inline uint32_t zipf_draw(const struct zipf *z, struct rng *r)
{
    double u = rng_unit(r);
    uint32_t j = (uint32_t)(u * z->n);
    uint32_t i = z->guide[j < z->n ? j : z->n - 1];
    while (z->cdf[i] <= u)
        i++;
    return i;
}

/*
 * A bijection on [0, 2^bits): xor-shifts and odd multipliers are each
 * invertible modulo 2^bits, so distinct ranks give distinct addresses while
 * popular ranks still land all over the address space.
 */
static uint32_t permute(uint32_t x, unsigned bits, uint32_t key)
{
    uint32_t mask = bits >= 32 ? UINT32_MAX : (1u << bits) - 1;
    x = (x ^ key) & mask;
    x ^= x >> (bits / 2);
    x = (x * 0x9e3779b1u) & mask;
    x ^= x >> (bits / 2 + 1);
    x = (x * 0x85ebca6bu) & mask;
    x ^= x >> (bits / 2);
    return x;
}

/* ---- output -------------------------------------------------------------- */

struct out {
    FILE *f;
    uint8_t *buf;
    size_t len;
    uint64_t frames;
    uint64_t bytes;
    bool failed;
};

static void out_flush(struct out *o)
{
    if (o->len > 0 && !o->failed && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->failed = true;
    o->len = 0;
}

/* Classic pcap in host byte order, as libpcap writes it: readers detect the order from the
 * magic. */
static void out_header(struct out *o)
{
    uint32_t magic = 0xa1b2c3d4u, zone = 0, sigfigs = 0, snaplen = 65535, link = 1; /* Ethernet */
    uint16_t major = 2, minor = 4;
    uint8_t *p = o->buf + o->len;
    memcpy(p, &magic, 4);
    memcpy(p + 4, &major, 2);
    memcpy(p + 6, &minor, 2);
    memcpy(p + 8, &zone, 4);
    memcpy(p + 12, &sigfigs, 4);
    memcpy(p + 16, &snaplen, 4);
    memcpy(p + 20, &link, 4);
    o->len += 24;
}

/* One record: the caller's headers, a slice of payload, then zeros up to the Ethernet minimum
 * (padding is not counted in the IP length, as on the wire). */
static void out_frame(struct out *o, uint64_t ts_us, const uint8_t *hdr, size_t hdr_len,
                      const uint8_t *data, size_t data_len)
{
    size_t len = hdr_len + data_len;
    size_t pad = len < MIN_FRAME ? MIN_FRAME - len : 0;
    if (o->len + 16 + len + pad > OUT_BUF_SIZE)
        out_flush(o);
    uint8_t *p = o->buf + o->len;
    uint32_t rec[4] = {EPOCH_SEC + (uint32_t)(ts_us / 1000000), (uint32_t)(ts_us % 1000000),
                       (uint32_t)(len + pad), (uint32_t)(len + pad)};
    memcpy(p, rec, sizeof rec);
    memcpy(p + 16, hdr, hdr_len);
    if (data_len > 0)
        memcpy(p + 16 + hdr_len, data, data_len);
    memset(p + 16 + len, 0, pad);
    o->len += 16 + len + pad;
    o->frames++;
    o->bytes += len + pad;
}

/* ---- headers ------------------------------------------------------------- */

struct addr {
    bool v6;
    uint8_t b[16]; /* IPv4 in the first 4 bytes */
};

static inline void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One's complement sum of big-endian words; an odd last byte is padded with zero. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < len)
        sum += (uint32_t)p[i] << 8;
    return sum;
}

static uint16_t fold16(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/*
 * TCP, UDP and ICMPv6 checksum over the pseudo-header, the L4 header and its
 * data. data_sum is sum16 of the data when the caller knows it already (net
 * mode precomputes it for every payload length), so full-size frames cost no
 * more than small ones; ICMPv4 has no pseudo-header.
 */
static uint16_t l4_checksum(const struct addr *src, const struct addr *dst, uint8_t proto,
                            const uint8_t *seg, size_t seg_len, uint32_t data_sum, size_t total_len)
{
    uint32_t sum = sum16(seg, seg_len, data_sum);
    if (proto != 1) {
        size_t alen = src->v6 ? 16 : 4;
        sum = sum16(src->b, alen, sum);
        sum = sum16(dst->b, alen, sum);
        sum += proto + (uint32_t)total_len;
    }
    uint16_t c = fold16(sum);
    return c == 0 && proto == 17 ? 0xffff : c; /* UDP sends a computed 0 as all ones */
}

static const uint8_t mac_host[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t mac_router[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

/* Ethernet and IP headers for an L4 segment of l4_len bytes; returns their length. */
static size_t put_eth_ip(uint8_t *p, const struct addr *src, const struct addr *dst, bool inbound,
                         uint8_t proto, size_t l4_len, uint16_t ip_id)
{
    memcpy(p, inbound ? mac_host : mac_router, 6);
    memcpy(p + 6, inbound ? mac_router : mac_host, 6);
    uint8_t *ip = p + 14;
    /* Remote packets have crossed some routers; local ones start at 64. */
    uint8_t ttl = inbound ? 52 : 64;
    if (!src->v6) {
        put16(p + 12, 0x0800);
        ip[0] = 0x45;
        ip[1] = 0;
        put16(ip + 2, (uint32_t)(20 + l4_len));
        put16(ip + 4, ip_id);
        put16(ip + 6, 0x4000); /* DF */
        ip[8] = ttl;
        ip[9] = proto;
        put16(ip + 10, 0);
        memcpy(ip + 12, src->b, 4);
        memcpy(ip + 16, dst->b, 4);
        put16(ip + 10, fold16(sum16(ip, 20, 0)));
        return 34;
    }
    put16(p + 12, 0x86dd);
    put32(ip, 0x60000000u);
    put16(ip + 4, (uint32_t)l4_len);
    ip[6] = proto;
    ip[7] = ttl;
    memcpy(ip + 8, src->b, 16);
    memcpy(ip + 24, dst->b, 16);
    return 54;
}

/* Public /8s only, so that no remote address falls in the host networks or a reserved range. */
static const uint8_t public_octets[16] = {8,  23,  31,  45,  52,  54,  66,  78,
                                          91, 104, 142, 151, 185, 195, 203, 212};

static void remote_v4(struct addr *a, uint32_t rank, uint32_t key)
{
    uint32_t m = permute(rank, 28, key);
    a->v6 = false;
    a->b[0] = public_octets[m >> 24];
    a->b[1] = (uint8_t)(m >> 16);
    a->b[2] = (uint8_t)(m >> 8);
    a->b[3] = (uint8_t)m;
}

static void remote_v6(struct addr *a, uint32_t rank, uint32_t key)
{
    memset(a->b, 0, sizeof a->b);
    a->v6 = true;
    a->b[0] = 0x2a;
    a->b[1] = 0x02;
    put32(a->b + 2, permute(rank, 32, key));
    a->b[15] = 1;
}

static void local_addr(struct addr *a, bool v6, uint32_t i)
{
    memset(a->b, 0, sizeof a->b);
    a->v6 = v6;
    if (!v6) {
        a->b[0] = 10;
        a->b[1] = 1;
        a->b[2] = (uint8_t)(i >> 8);
        a->b[3] = (uint8_t)i;
        return;
    }
    static const uint8_t prefix[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01};
    memcpy(a->b, prefix, sizeof prefix);
    a->b[7] = (uint8_t)(i >> 8);
    a->b[15] = (uint8_t)i;
}

static void mark_seen(uint8_t *bits, uint32_t i)
{
    bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static uint32_t count_seen(const uint8_t *bits, uint32_t n)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < n; i++)
        c += (bits[i >> 3] >> (i & 7)) & 1;
    return c;
}

/* ---- net mode ------------------------------------------------------------ */

/* Repeated entries weight the common services; 53 and 5353 are left out so that the DNS handler
 * does not parse random payload as DNS. */
static const uint16_t udp_ports[] = {443, 443, 443,   443,  443,   443,
                                     443, 443, 51820, 3478, 19302, 8801};
static const uint16_t tcp_ports[] = {443, 443, 443, 443, 443, 443, 443, 80, 80, 8443, 25, 993};
#define N_UDP_PORTS (sizeof udp_ports / sizeof udp_ports[0])
#define N_TCP_PORTS (sizeof tcp_ports / sizeof tcp_ports[0])

/* Frame sizes are bimodal as on real links: acks and small datagrams, some mid-size, and a
 * quarter of full-MTU transfers. */
static size_t data_len_for(struct rng *r, size_t hdr_len, bool tcp)
{
    uint32_t c = rng_below(r, 100);
    uint32_t frame;
    if (c < 58)
        frame = rng_range(r, 60, 100);
    else if (c < 75)
        frame = rng_range(r, 400, 600);
    else if (tcp && c < 88)
        frame = MAX_FRAME;
    else
        frame = rng_range(r, 1400, MAX_FRAME);
    return frame > hdr_len ? frame - hdr_len : 0;
}

static uint8_t tcp_control_flags(struct rng *r)
{
    uint32_t c = rng_below(r, 100);
    if (c < 70)
        return 0x10; /* ACK */
    if (c < 80)
        return 0x02; /* SYN */
    if (c < 90)
        return 0x12; /* SYN-ACK */
    if (c < 97)
        return 0x11; /* FIN-ACK */
    return 0x04;     /* RST */
}

static int gen_net(struct out *o, struct rng *r, uint64_t packets, uint32_t sources, uint32_t key)
{
    uint32_t k6 = sources / 5 > 0 ? sources / 5 : 1;
    uint32_t k4 = sources - k6;
    struct zipf z4 = {0}, z6 = {0};
    uint8_t *seen = calloc(sources / 8 + 1, 1);
    uint64_t ts = 0, v6_frames = 0;
    uint16_t ip_id = 0;
    int rc = -1;
    if (seen == NULL || zipf_init(&z4, k4, NET_ZIPF_S) < 0 || zipf_init(&z6, k6, NET_ZIPF_S) < 0) {
        fprintf(stderr, "gen_pcap: out of memory\n");
        goto done;
    }
    static uint8_t payload[MAX_FRAME];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)rng_next(r);
    /* Every frame's data is a prefix of the same payload, so its checksum sum is a table look-up.
     */
    static uint32_t payload_sum[MAX_FRAME + 1];
    for (size_t len = 0; len <= MAX_FRAME; len++)
        payload_sum[len] = sum16(payload, len, 0);

    for (uint64_t n = 0; n < packets && !o->failed; n++) {
        ts += rng_range(r, 1, 19); /* mean 10 us: about 100k packets/s */
        bool v6 = rng_below(r, 5) == 0;
        struct addr remote, local;
        uint32_t rank = zipf_draw(v6 ? &z6 : &z4, r);
        if (v6) {
            remote_v6(&remote, rank, key);
            mark_seen(seen, k4 + rank);
            v6_frames++;
        } else {
            remote_v4(&remote, rank, key);
            mark_seen(seen, rank);
        }
        local_addr(&local, v6, rng_below(r, LOCAL_HOSTS));
        bool inbound = rng_next(r) & 1;
        const struct addr *src = inbound ? &remote : &local;
        const struct addr *dst = inbound ? &local : &remote;

        uint8_t hdr[128];
        size_t l3 = v6 ? 54 : 34;
        uint8_t *l4 = hdr + l3;
        uint32_t lport = rng_range(r, 32768, 60999);
        uint32_t pick = rng_below(r, 100);
        size_t l4_hdr, data_len;
        uint8_t proto;
        if (pick < 55) {
            uint32_t rport = udp_ports[rng_below(r, N_UDP_PORTS)];
            proto = 17;
            l4_hdr = 8;
            data_len = data_len_for(r, l3 + l4_hdr, false);
            put16(l4, inbound ? rport : lport);
            put16(l4 + 2, inbound ? lport : rport);
            put16(l4 + 4, (uint32_t)(l4_hdr + data_len));
            put16(l4 + 6, 0);
        } else if (pick < 95) {
            uint32_t rport = tcp_ports[rng_below(r, N_TCP_PORTS)];
            bool control = rng_below(r, 100) < 25;
            proto = 6;
            l4_hdr = 20;
            data_len = control ? 0 : data_len_for(r, l3 + l4_hdr, true);
            put16(l4, inbound ? rport : lport);
            put16(l4 + 2, inbound ? lport : rport);
            put32(l4 + 4, (uint32_t)rng_next(r));
            put32(l4 + 8, (uint32_t)rng_next(r));
            l4[12] = 0x50; /* 20-byte header, no options */
            l4[13] = control ? tcp_control_flags(r) : (rng_next(r) & 1 ? 0x18 : 0x10);
            put16(l4 + 14, 64240);
            put16(l4 + 16, 0);
            put16(l4 + 18, 0);
        } else {
            proto = v6 ? 58 : 1;
            l4_hdr = 8;
            data_len = 56; /* ping's default */
            l4[0] = v6 ? (inbound ? 129 : 128) : (inbound ? 0 : 8);
            l4[1] = 0;
            put16(l4 + 2, 0);
            put16(l4 + 4, lport);
            put16(l4 + 6, (uint32_t)(n & 0xffff));
        }
        put16(l4 + (proto == 6    ? 16
                    : proto == 17 ? 6
                                  : 2),
              l4_checksum(src, dst, proto, l4, l4_hdr, payload_sum[data_len], l4_hdr + data_len));
        put_eth_ip(hdr, src, dst, inbound, proto, l4_hdr + data_len, ip_id++);
        out_frame(o, ts, hdr, l3 + l4_hdr, payload, data_len);
    }
    fprintf(stderr,
            "gen_pcap: net: %" PRIu64 " IPv6 frames, %" PRIu32 " of %" PRIu32
            " remote addresses used\n",
            v6_frames, count_seen(seen, sources), sources);
    rc = 0;
done:
    zipf_free(&z4);
    zipf_free(&z6);
    free(seen);
    return rc;
}

/* ---- dns mode ------------------------------------------------------------ */

/* Names in DNS wire format, back to back: name i is arena[off[i] .. off[i + 1]). */
struct names {
    uint32_t *off;
    uint8_t *arena;
};

static const char *const first_words[16] = {"www",  "api",  "cdn",   "mail",  "static", "img",
                                            "auth", "app",  "m",     "edge",  "video",  "assets",
                                            "shop", "blog", "login", "update"};
static const char *const mid_words[10] = {"eu",  "us",  "ap",   "prod", "stage",
                                          "int", "svc", "east", "west", "lb"};
static const char *const tlds[3] = {"com", "net", "org"};

static uint8_t *put_label(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    *p++ = (uint8_t)n;
    memcpy(p, s, n);
    return p + n;
}

/*
 * Name i: zone apexes (zoneNNN.com, two labels) are spread over the ranks so
 * the most popular names are not all apexes; the others get one to three
 * labels in front of their zone, the first holding i so every name differs.
 */
static int names_init(struct names *nm, uint32_t key)
{
    nm->off = malloc((DNS_NAMES + 1) * sizeof *nm->off);
    nm->arena = malloc((size_t)DNS_NAMES * NAME_MAX_WIRE);
    if (nm->off == NULL || nm->arena == NULL)
        return -1;
    const uint32_t apex_stride = DNS_NAMES / DNS_ZONES;
    uint8_t *p = nm->arena;
    for (uint32_t i = 0; i < DNS_NAMES; i++) {
        uint32_t h = permute(i, 32, key);
        uint32_t zone = h % DNS_ZONES;
        nm->off[i] = (uint32_t)(p - nm->arena);
        if (i % apex_stride == 7 && i / apex_stride < DNS_ZONES) {
            zone = i / apex_stride;
        } else {
            unsigned depth = 3 + (h >> 12) % 3;
            char label[32];
            snprintf(label, sizeof label, "%s-%" PRIx32, first_words[(h >> 4) & 15], i);
            p = put_label(p, label);
            for (unsigned d = 3; d < depth; d++)
                p = put_label(p, mid_words[(h >> (8 + 4 * d)) % 10]);
        }
        char zone_label[16];
        snprintf(zone_label, sizeof zone_label, "zone%03" PRIu32, zone);
        p = put_label(p, zone_label);
        p = put_label(p, tlds[zone % 3]);
        *p++ = 0;
    }
    nm->off[DNS_NAMES] = (uint32_t)(p - nm->arena);
    return 0;
}

static void names_free(struct names *nm)
{
    free(nm->off);
    free(nm->arena);
    nm->off = NULL;
    nm->arena = NULL;
}

struct dns_tx {
    uint32_t name;
    uint32_t client;
    uint16_t id;
    uint16_t cport;
    uint16_t qtype;
    uint8_t rcode;
};

enum body { BODY_NONE, BODY_QUERY, BODY_RESPONSE };

/* A frame due later: responses and the rest of a TCP connection wait in a heap ordered by time,
 * so the file stays in timestamp order although latencies differ. */
struct pend {
    uint64_t ts;
    uint64_t order; /* tie-break: equal times keep their scheduling order */
    struct dns_tx tx;
    uint32_t seq;
    uint32_t ack;
    bool tcp;
    bool to_server;
    uint8_t flags;
    uint8_t body;
};

struct heap {
    struct pend *a;
    size_t n;
    size_t cap;
};

static bool pend_before(const struct pend *x, const struct pend *y)
{
    return x->ts != y->ts ? x->ts < y->ts : x->order < y->order;
}

static int heap_push(struct heap *h, const struct pend *p)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4096;
        struct pend *a = realloc(h->a, cap * sizeof *a);
        if (a == NULL)
            return -1;
        h->a = a;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && pend_before(p, &h->a[(i - 1) / 2])) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = *p;
    return 0;
}

static struct pend heap_pop(struct heap *h)
{
    struct pend top = h->a[0];
    struct pend last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && pend_before(&h->a[c + 1], &h->a[c]))
            c++;
        if (!pend_before(&h->a[c], &last))
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n > 0)
        h->a[i] = last;
    return top;
}

struct dns_gen {
    struct out *o;
    struct names names;
    struct heap heap;
    uint32_t key;
    uint64_t order;
    uint16_t ip_id;
    bool failed;
};

/* Answer data by type; names in it point back at the question (0xc00c) as servers compress. */
static size_t put_rdata(uint8_t *p, const struct dns_tx *tx)
{
    static const uint8_t https[] = {0, 1, 0, 0,   1,
                                    0, 3, 2, 'h', '2'}; /* priority 1, ".", alpn=h2 */
    static const uint8_t mx[] = {0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 0x0c};
    static const uint8_t txt[] = {11, 'v', '=', 's', 'p', 'f', '1', ' ', '-', 'a', 'l', 'l'};
    static const uint8_t ptr[] = {4, 'h', 'o', 's', 't', 0xc0, 0x0c};
    static const uint8_t ns[] = {3, 'n', 's', '1', 0xc0, 0x0c};
    switch (tx->qtype) {
    case 1:
        p[0] = 93;
        p[1] = 184;
        p[2] = (uint8_t)(tx->name >> 8);
        p[3] = (uint8_t)tx->name;
        return 4;
    case 28:
        memset(p, 0, 16);
        put32(p, 0x26062800u);
        put32(p + 12, tx->name);
        return 16;
    case 65:
        memcpy(p, https, sizeof https);
        return sizeof https;
    case 15:
        memcpy(p, mx, sizeof mx);
        return sizeof mx;
    case 16:
        memcpy(p, txt, sizeof txt);
        return sizeof txt;
    case 12:
        memcpy(p, ptr, sizeof ptr);
        return sizeof ptr;
    default:
        memcpy(p, ns, sizeof ns);
        return sizeof ns;
    }
}

/* A query, or its response with one answer when NOERROR; returns the message length. */
static size_t put_dns(uint8_t *p, const struct names *nm, const struct dns_tx *tx, bool response)
{
    const uint8_t *name = nm->arena + nm->off[tx->name];
    size_t name_len = nm->off[tx->name + 1] - nm->off[tx->name];
    bool answer = response && tx->rcode == 0;
    put16(p, tx->id);
    put16(p + 2, response ? 0x8180u | tx->rcode : 0x0100u); /* QR RD RA / RD */
    put16(p + 4, 1);
    put16(p + 6, answer ? 1 : 0);
    put16(p + 8, 0);
    put16(p + 10, 0);
    memcpy(p + 12, name, name_len);
    uint8_t *q = p + 12 + name_len;
    put16(q, tx->qtype);
    put16(q + 2, 1); /* IN */
    q += 4;
    if (answer) {
        put16(q, 0xc00c);
        put16(q + 2, tx->qtype);
        put16(q + 4, 1);
        put32(q + 6, 300);
        size_t rdlen = put_rdata(q + 12, tx);
        put16(q + 10, (uint32_t)rdlen);
        q += 12 + rdlen;
    }
    return (size_t)(q - p);
}

/* Message length, for TCP sequence numbers: built once into scratch so it cannot disagree. */
static size_t dns_len(const struct names *nm, const struct dns_tx *tx, bool response)
{
    uint8_t scratch[NAME_MAX_WIRE + 64];
    return put_dns(scratch, nm, tx, response);
}

static void client_addr(struct addr *a, uint32_t client, uint32_t key)
{
    /* A quarter of the clients speak IPv6; the choice is fixed per client. */
    if ((permute(client, 32, key ^ 0x5a5a5a5au) & 3) == 0)
        remote_v6(a, client, key);
    else
        remote_v4(a, client, key);
}

static void server_addr(struct addr *a, const struct addr *client, uint32_t client_rank)
{
    local_addr(a, client->v6, 0x3501u + (client_rank & 1));
}

static void emit_dns(struct dns_gen *g, const struct pend *pk)
{
    uint8_t frame[256];
    struct addr client, server;
    client_addr(&client, pk->tx.client, g->key);
    server_addr(&server, &client, pk->tx.client);
    size_t l3 = client.v6 ? 54 : 34;
    size_t l4_hdr = pk->tcp ? 20 : 8;
    size_t prefix = pk->tcp && pk->body != BODY_NONE ? 2 : 0; /* DNS over TCP length prefix */
    uint8_t *l4 = frame + l3;
    size_t msg_len = 0;
    if (pk->body != BODY_NONE)
        msg_len = put_dns(l4 + l4_hdr + prefix, &g->names, &pk->tx, pk->body == BODY_RESPONSE);
    size_t data_len = prefix + msg_len;
    uint32_t sport = pk->to_server ? pk->tx.cport : 53;
    uint32_t dport = pk->to_server ? 53 : pk->tx.cport;
    put16(l4, sport);
    put16(l4 + 2, dport);
    if (pk->tcp) {
        put32(l4 + 4, pk->seq);
        put32(l4 + 8, pk->ack);
        l4[12] = 0x50;
        l4[13] = pk->flags;
        put16(l4 + 14, 64240);
        put16(l4 + 16, 0);
        put16(l4 + 18, 0);
        if (prefix)
            put16(l4 + 20, (uint32_t)msg_len);
    } else {
        put16(l4 + 4, (uint32_t)(8 + data_len));
        put16(l4 + 6, 0);
    }
    const struct addr *src = pk->to_server ? &client : &server;
    const struct addr *dst = pk->to_server ? &server : &client;
    uint8_t proto = pk->tcp ? 6 : 17;
    put16(l4 + (pk->tcp ? 16 : 6),
          l4_checksum(src, dst, proto, l4, l4_hdr + data_len, 0, l4_hdr + data_len));
    put_eth_ip(frame, src, dst, pk->to_server, proto, l4_hdr + data_len, g->ip_id++);
    out_frame(g->o, pk->ts, frame, l3 + l4_hdr + data_len, NULL, 0);
}

static void schedule(struct dns_gen *g, struct pend *pk)
{
    pk->order = g->order++;
    if (heap_push(&g->heap, pk) < 0)
        g->failed = true;
}

static uint16_t draw_qtype(struct rng *r)
{
    uint32_t c = rng_below(r, 100);
    if (c < 50)
        return 1; /* A */
    if (c < 75)
        return 28; /* AAAA */
    if (c < 85)
        return 65; /* HTTPS */
    if (c < 89)
        return 15; /* MX */
    if (c < 93)
        return 16; /* TXT */
    if (c < 97)
        return 12; /* PTR */
    return 2;      /* NS */
}

static uint8_t draw_rcode(struct rng *r)
{
    uint32_t c = rng_below(r, 100);
    if (c < 85)
        return 0; /* NOERROR */
    if (c < 95)
        return 3; /* NXDOMAIN */
    if (c < 98)
        return 2; /* SERVFAIL */
    return 5;     /* REFUSED */
}

/*
 * One TCP transaction seen from the server: handshake, the length-prefixed
 * query, the response after the server's latency, and the close. Sequence
 * numbers are consistent so dissectors reassemble the messages.
 */
static void schedule_tcp(struct dns_gen *g, struct rng *r, const struct dns_tx *tx, uint64_t ts,
                         uint64_t latency)
{
    uint32_t rtt = rng_range(r, 200, 20000);
    uint32_t isn_c = (uint32_t)rng_next(r), isn_s = (uint32_t)rng_next(r);
    uint32_t ql = (uint32_t)dns_len(&g->names, tx, false) + 2;
    uint32_t rl = (uint32_t)dns_len(&g->names, tx, true) + 2;
    struct {
        uint64_t dt;
        bool to_server;
        uint8_t flags;
        uint8_t body;
        uint32_t seq;
        uint32_t ack;
    } steps[] = {
        {0, true, 0x02, BODY_NONE, isn_c, 0},
        {20, false, 0x12, BODY_NONE, isn_s, isn_c + 1},
        {rtt, true, 0x10, BODY_NONE, isn_c + 1, isn_s + 1},
        {1, true, 0x18, BODY_QUERY, isn_c + 1, isn_s + 1},
        {latency, false, 0x18, BODY_RESPONSE, isn_s + 1, isn_c + 1 + ql},
        {rtt, true, 0x11, BODY_NONE, isn_c + 1 + ql, isn_s + 1 + rl},
        {20, false, 0x11, BODY_NONE, isn_s + 1 + rl, isn_c + 2 + ql},
        {rtt, true, 0x10, BODY_NONE, isn_c + 2 + ql, isn_s + 2 + rl},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        ts += steps[i].dt;
        struct pend pk = {.ts = ts,
                          .tx = *tx,
                          .seq = steps[i].seq,
                          .ack = steps[i].ack,
                          .tcp = true,
                          .to_server = steps[i].to_server,
                          .flags = steps[i].flags,
                          .body = steps[i].body};
        if (i == 0)
            emit_dns(g, &pk); /* the SYN is due now; the rest waits its turn */
        else
            schedule(g, &pk);
    }
}

static int gen_dns(struct out *o, struct rng *r, uint64_t packets, uint32_t clients, uint32_t key)
{
    struct dns_gen g = {.o = o, .key = key};
    struct zipf zn = {0}, zc = {0};
    uint8_t *names_seen = calloc(DNS_NAMES / 8 + 1, 1);
    uint8_t *clients_seen = calloc(clients / 8 + 1, 1);
    const double log_span = log(1000.0); /* latency 0.2 ms .. 200 ms */
    uint64_t ts = 0, transactions = 0, tcp_transactions = 0, unanswered = 0;
    if (names_seen == NULL || clients_seen == NULL || names_init(&g.names, key) < 0 ||
        zipf_init(&zn, DNS_NAMES, DNS_NAME_ZIPF_S) < 0 ||
        zipf_init(&zc, clients, DNS_CLIENT_S) < 0) {
        g.failed = true;
        goto done;
    }
    while (o->frames < packets && !o->failed && !g.failed) {
        /* About 48k transactions/s, which with their answers and TCP connections gives about
         * 100k packets/s. */
        ts += rng_range(r, 1, 41);
        while (g.heap.n > 0 && g.heap.a[0].ts <= ts && o->frames < packets) {
            struct pend pk = heap_pop(&g.heap);
            emit_dns(&g, &pk);
        }
        if (o->frames >= packets)
            break;
        struct dns_tx tx = {.name = zipf_draw(&zn, r),
                            .client = zipf_draw(&zc, r),
                            .id = (uint16_t)rng_next(r),
                            .cport = (uint16_t)rng_range(r, 1024, 65535),
                            .qtype = draw_qtype(r),
                            .rcode = draw_rcode(r)};
        mark_seen(names_seen, tx.name);
        mark_seen(clients_seen, tx.client);
        uint64_t latency = (uint64_t)(200.0 * exp(rng_unit(r) * log_span));
        transactions++;
        if (rng_below(r, 100) < 2) {
            tcp_transactions++;
            schedule_tcp(&g, r, &tx, ts, latency);
            continue;
        }
        struct pend q = {.ts = ts, .tx = tx, .to_server = true, .body = BODY_QUERY};
        emit_dns(&g, &q);
        if (rng_below(r, 100) < 3) {
            unanswered++;
            continue;
        }
        struct pend a = {.ts = ts + latency, .tx = tx, .body = BODY_RESPONSE};
        schedule(&g, &a);
    }
    fprintf(stderr,
            "gen_pcap: dns: %" PRIu64 " transactions (%" PRIu64 " over TCP, %" PRIu64
            " unanswered), %" PRIu32 " distinct names, %" PRIu32 " of %" PRIu32 " clients used\n",
            transactions, tcp_transactions, unanswered, count_seen(names_seen, DNS_NAMES),
            count_seen(clients_seen, clients), clients);
done:
    if (g.failed)
        fprintf(stderr, "gen_pcap: out of memory\n");
    free(g.heap.a);
    names_free(&g.names);
    zipf_free(&zn);
    zipf_free(&zc);
    free(names_seen);
    free(clients_seen);
    return g.failed ? -1 : 0;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: gen_pcap [--packets N] [--mode net|dns] [--seed S] [--distinct-sources K] "
          "OUT.pcap\n"
          "  --packets N            frames to write (default 5000000)\n"
          "  --mode net|dns         traffic mix (default net)\n"
          "  --seed S               PRNG seed (default 1)\n"
          "  --distinct-sources K   remote addresses (net, default 1000000) or clients\n"
          "                         (dns, default 100000)\n",
          f);
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *v = x;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t packets = 5000000, seed = 1, sources = 0;
    enum mode mode = MODE_NET;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--packets") == 0) {
            bad = parse_u64(v, &packets) < 0 || packets == 0;
            i++;
        } else if (strcmp(a, "--seed") == 0) {
            bad = parse_u64(v, &seed) < 0;
            i++;
        } else if (strcmp(a, "--distinct-sources") == 0) {
            bad = parse_u64(v, &sources) < 0 || sources < 2 || sources > MAX_SOURCES;
            i++;
        } else if (strcmp(a, "--mode") == 0) {
            if (v != NULL && strcmp(v, "net") == 0)
                mode = MODE_NET;
            else if (v != NULL && strcmp(v, "dns") == 0)
                mode = MODE_DNS;
            else
                bad = 1;
            i++;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' || path != NULL) {
            bad = 1;
        } else {
            path = a;
        }
        if (bad) {
            fprintf(stderr, "gen_pcap: bad argument near '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    if (sources == 0)
        sources = mode == MODE_NET ? 1000000 : 100000;

    struct rng r;
    rng_seed(&r, seed);
    uint32_t key = (uint32_t)rng_next(&r);

    struct out o = {.buf = malloc(OUT_BUF_SIZE)};
    o.f = fopen(path, "wb");
    if (o.buf == NULL || o.f == NULL) {
        fprintf(stderr, "gen_pcap: %s: %s\n", path, strerror(errno));
        if (o.f != NULL)
            fclose(o.f);
        free(o.buf);
        return 1;
    }
    out_header(&o);
    int rc = mode == MODE_NET ? gen_net(&o, &r, packets, (uint32_t)sources, key)
                              : gen_dns(&o, &r, packets, (uint32_t)sources, key);
    out_flush(&o);
    if (fclose(o.f) != 0)
        o.failed = true;
    free(o.buf);
    if (o.failed) {
        fprintf(stderr, "gen_pcap: %s: write failed: %s\n", path, strerror(errno));
        rc = -1;
    }
    if (rc < 0) {
        remove(path); /* never leave a truncated capture for the cache to reuse */
        return 1;
    }
    fprintf(stderr, "gen_pcap: wrote %" PRIu64 " frames, %" PRIu64 " bytes to %s\n", o.frames,
            o.bytes, path);
    return 0;
}
