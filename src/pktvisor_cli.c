/*
 * pktvisor-cli - the terminal UI (SPEC 1.3 and 8).
 *
 * One process, one libevent loop: a 1 s timer polls
 * /api/v1/policies/<POLICY>/metrics/window/5 (the first poll at once), the
 * version comes from /api/v1/metrics/app, and `p` fetches /api/v1/policies
 * to cycle through the agent's policies.  Keystrokes (stdin), SIGWINCH and
 * SIGINT/SIGTERM are events of the same loop, so nothing runs concurrently.
 *
 * Ownership and lifetime:
 *  - struct cli (one, on main's stack) owns the event base, the TLS context,
 *    the last good response (a cJSON tree, replaced whole on each good
 *    answer and freed at exit) and the list of fetches.
 *  - Each request is a struct fetch owning its evhttp connection (one
 *    connection per request: nothing to resynchronize after a timeout, and
 *    a TLS session never outlives a failure).  A finished fetch cannot free
 *    its connection from inside libevent's callback, so it is marked done
 *    and reaped on the next tick or at exit.
 *
 * Robustness: the server is not trusted.  Every JSON access goes through
 * j_path()/j_u64(), which check each type; a missing or mistyped value is
 * shown as "-".  A bad answer (non-200, unparsable, wrong shape) only sets
 * the status line; the last good data stays on screen, marked stale.
 * Response bodies are capped at 16 MiB; text from the server is stripped of
 * control characters before it reaches the terminal.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <cjson/cJSON.h>
#include <curses.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"

#define CLI_TIMEOUT_S      5
#define CLI_MAX_BODY       (16u * 1024 * 1024)
#define CLI_POLICY_MAX     128
#define CLI_MSG_MAX        256
#define HEADER_LINES       6
#define HEADER_MAX_WRAPPED 32
#define LINE_MAX_CHARS     1024

static const char usage_text[] =
    "Usage:\n"
    "  pktvisor-cli [-H HOST] [-p PORT] [-P POLICY] [--tls] [--tls-noverify]\n"
    "  pktvisor-cli -h | --help\n"
    "  pktvisor-cli --version\n"
    "\n"
    "Options:\n"
    "  -H HOST          agent host [default: localhost]\n"
    "  -p PORT          agent REST API port [default: 10853]\n"
    "  -P POLICY        policy to show [default: default]\n"
    "  --tls            use HTTPS, verifying the certificate\n"
    "  --tls-noverify   use HTTPS without certificate verification\n"
    "  -h, --help       show this help\n"
    "  --version        show the version\n"
    "\n"
    "Keys: q or Ctrl-C quits, p shows the next policy.\n"
    "Single-dash long options (-tls, -version) are accepted too.\n";

enum fetch_kind { FETCH_METRICS, FETCH_APP, FETCH_POLICIES };

struct cli;

struct fetch {
    struct cli *cli;
    enum fetch_kind kind;
    char policy[CLI_POLICY_MAX]; /* the policy asked for (metrics) */
    bool ignore;                 /* answer no longer wanted (policy switched) */
    bool done;                   /* callback ran: connection may be freed */
    int error;                   /* enum evhttp_request_error, -1 if none */
    struct evhttp_connection *conn;
    struct fetch *next;
};

struct cli {
    /* options */
    const char *host;
    int port;
    char policy[CLI_POLICY_MAX];
    bool tls, tls_verify;

    struct event_base *base;
    SSL_CTX *ssl_ctx;
    struct fetch *fetches;    /* in flight and done-but-not-reaped */
    struct fetch *metrics_in; /* the metrics fetch in flight, if any */
    bool app_in, app_known;
    char server_version[64];

    cJSON *data;      /* last good response (owned) */
    time_t data_time; /* when it arrived */
    bool stale;       /* an error came after it */
    char status[CLI_MSG_MAX];
    bool status_error;
    bool quit;
};

/* ---- JSON access: every step type-checked ---- */

/* The value at a dotted path below obj, or NULL if any step is missing or
 * not an object. */
static const cJSON *j_path(const cJSON *obj, const char *path)
{
    char key[64];
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key) || !cJSON_IsObject(obj))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        obj = cJSON_GetObjectItemCaseSensitive(obj, key);
        path += n + (dot ? 1 : 0);
    }
    return obj;
}

/* A non-negative integral count; the API's numbers are integers, anything
 * else (negative, NaN, a string) is treated as missing. */
static bool j_u64(const cJSON *obj, const char *path, uint64_t *out)
{
    const cJSON *v = j_path(obj, path);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble >= 18446744073709551615.0)
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

/* ---- text helpers ---- */

/* Copy src into dst (size dstsz) keeping at most `cols` terminal columns,
 * replacing control characters and invalid multibyte sequences by '?':
 * names come from the network. Returns the columns used. */
static int fit_text(char *dst, size_t dstsz, const char *src, int cols)
{
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    size_t o = 0;
    int used = 0;
    size_t len = strlen(src);
    while (*src && used < cols && o + MB_LEN_MAX + 1 < dstsz) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, src, len, &st);
        int w;
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0 || (w = wcwidth(wc)) < 0) {
            memset(&st, 0, sizeof(st));
            dst[o++] = '?';
            used++;
            src++;
            len--;
            continue;
        }
        if (used + w > cols)
            break;
        if (n == 1 && ((unsigned char)*src < 0x20 || *src == 0x7f)) {
            dst[o++] = '?';
        } else {
            memcpy(dst + o, src, n);
            o += n;
        }
        used += w;
        src += n;
        len -= n;
    }
    dst[o] = '\0';
    return used;
}

static void set_status(struct cli *c, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_status(struct cli *c, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->status, sizeof(c->status), fmt, ap);
    va_end(ap);
    c->status_error = error;
    if (error && c->data)
        c->stale = true;
}

/* "123" or "-" */
static const char *fmt_u(char *buf, size_t sz, const cJSON *o, const char *path)
{
    uint64_t v;
    if (!j_u64(o, path, &v))
        return "-";
    snprintf(buf, sz, "%" PRIu64, v);
    return buf;
}

/* "n (x.x%)" of base; "(-)" when either is unknown or the base is 0 */
static const char *fmt_pct(char *buf, size_t sz, const cJSON *o, const char *path, bool have_base,
                           double base)
{
    uint64_t v;
    if (!j_u64(o, path, &v)) {
        snprintf(buf, sz, "-");
    } else if (!have_base || base <= 0) {
        snprintf(buf, sz, "%" PRIu64 " (-)", v);
    } else {
        snprintf(buf, sz, "%" PRIu64 " (%.1f%%)", v, 100.0 * (double)v / base);
    }
    return buf;
}

/* A rate object: "<live>/s <p50>/<p90>/<p95>/<p99>" */
static const char *fmt_rate(char *buf, size_t sz, const cJSON *o, const char *path)
{
    const cJSON *r = j_path(o, path);
    char a[5][24];
    snprintf(buf, sz, "%s/s %s/%s/%s/%s", fmt_u(a[0], 24, r, "live"), fmt_u(a[1], 24, r, "p50"),
             fmt_u(a[2], 24, r, "p90"), fmt_u(a[3], 24, r, "p95"), fmt_u(a[4], 24, r, "p99"));
    return buf;
}

/* A quantile in microseconds shown in milliseconds. */
static const char *fmt_ms(char *buf, size_t sz, const cJSON *o, const char *path)
{
    uint64_t v;
    if (!j_u64(o, path, &v))
        return "-";
    snprintf(buf, sz, "%.1f", (double)v / 1000.0);
    return buf;
}

/* Go's time.Kitchen, "3:04PM", in local time. */
static void kitchen(char *buf, size_t sz, uint64_t ts)
{
    time_t t = (time_t)ts;
    struct tm tm;
    if (ts > (uint64_t)INT32_MAX * 4 || !localtime_r(&t, &tm)) {
        snprintf(buf, sz, "-");
        return;
    }
    int h = tm.tm_hour % 12;
    snprintf(buf, sz, "%d:%02d%s", h ? h : 12, tm.tm_min, tm.tm_hour < 12 ? "AM" : "PM");
}

/* ---- the model: the last response split by schema key ---- */

struct view {
    const cJSON *packets, *dns, *dhcp, *pcap;
    double ratio; /* packets deep_samples / total: sampled tables' base factor */
};

/* Dispatch each handler instance on the schema key it contains; a policy
 * has at most one handler of each type in practice, the first one wins. */
static void view_from(struct view *v, const cJSON *root, const char *policy)
{
    memset(v, 0, sizeof(*v));
    v->ratio = 1.0;
    const cJSON *pol = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, policy) : NULL;
    if (!cJSON_IsObject(pol))
        return;
    const cJSON *inst;
    cJSON_ArrayForEach(inst, pol)
    {
        if (!cJSON_IsObject(inst))
            continue;
        const cJSON *x;
        if (!v->pcap && cJSON_IsObject(x = cJSON_GetObjectItemCaseSensitive(inst, "pcap")))
            v->pcap = x;
        else if (!v->dns && cJSON_IsObject(x = cJSON_GetObjectItemCaseSensitive(inst, "dns")))
            v->dns = x;
        else if (!v->dhcp && cJSON_IsObject(x = cJSON_GetObjectItemCaseSensitive(inst, "dhcp")))
            v->dhcp = x;
        else if (!v->packets &&
                 cJSON_IsObject(x = cJSON_GetObjectItemCaseSensitive(inst, "packets")))
            v->packets = x;
    }
    uint64_t deep, total;
    if (j_u64(v->packets, "deep_samples", &deep) && j_u64(v->packets, "total", &total) && total > 0)
        v->ratio = (double)deep / (double)total;
}

/* ---- header: six lines of " | "-separated segments ---- */

struct hline {
    int nseg;
    char seg[16][160];
};

static void seg(struct hline *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seg(struct hline *l, const char *fmt, ...)
{
    if (l->nseg >= 16)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->seg[l->nseg++], sizeof(l->seg[0]), fmt, ap);
    va_end(ap);
}

static void header_lines(const struct view *v, struct hline h[HEADER_LINES])
{
    char a[128], b[128], c[128], d[128];
    uint64_t x, y;
    memset(h, 0, sizeof(struct hline) * HEADER_LINES);
    const cJSON *p = v->packets;

    /* 1: packets, percentages of the total; in/out of in+out */
    bool ht = j_u64(p, "total", &x);
    double tot = ht ? (double)x : 0;
    seg(&h[0], "Pkts %s", fmt_u(a, sizeof(a), p, "total"));
    seg(&h[0], "UDP %s", fmt_pct(a, sizeof(a), p, "udp", ht, tot));
    seg(&h[0], "TCP %s", fmt_pct(a, sizeof(a), p, "tcp", ht, tot));
    seg(&h[0], "Other %s", fmt_pct(a, sizeof(a), p, "other_l4", ht, tot));
    seg(&h[0], "IPv4 %s", fmt_pct(a, sizeof(a), p, "ipv4", ht, tot));
    seg(&h[0], "IPv6 %s", fmt_pct(a, sizeof(a), p, "ipv6", ht, tot));
    bool hio = j_u64(p, "in", &x) && j_u64(p, "out", &y);
    double io = hio ? (double)x + (double)y : 0;
    seg(&h[0], "In %s", fmt_pct(a, sizeof(a), p, "in", hio, io));
    seg(&h[0], "Out %s", fmt_pct(a, sizeof(a), p, "out", hio, io));
    seg(&h[0], "Deep Samples %s", fmt_pct(a, sizeof(a), p, "deep_samples", ht, tot));

    /* 2: rates, cardinalities, input health */
    seg(&h[1], "Pkt Rates Total %s pps", fmt_rate(a, sizeof(a), p, "rates.pps_total"));
    seg(&h[1], "In %s pps", fmt_rate(a, sizeof(a), p, "rates.pps_in"));
    seg(&h[1], "Out %s pps", fmt_rate(a, sizeof(a), p, "rates.pps_out"));
    seg(&h[1], "IP Card. In: %s", fmt_u(a, sizeof(a), p, "cardinality.src_ips_in"));
    seg(&h[1], "Out: %s", fmt_u(a, sizeof(a), p, "cardinality.dst_ips_out"));
    seg(&h[1], "TCP Errors %s", fmt_u(a, sizeof(a), v->pcap, "tcp_reassembly_errors"));
    seg(&h[1], "OS Drops %s", fmt_u(a, sizeof(a), v->pcap, "os_drops"));
    seg(&h[1], "IF Drops %s", fmt_u(a, sizeof(a), v->pcap, "if_drops"));

    /* 3: DHCP, percentages of the wire total */
    const cJSON *q = v->dhcp;
    ht = j_u64(q, "wire_packets.total", &x);
    tot = ht ? (double)x : 0;
    if (ht && j_u64(q, "wire_packets.filtered", &y) && y <= x)
        snprintf(b, sizeof(b), "%" PRIu64, x - y);
    else
        snprintf(b, sizeof(b), "-");
    seg(&h[2], "DHCP Wire Pkts %s/%s", b, fmt_u(a, sizeof(a), q, "wire_packets.total"));
    seg(&h[2], "Rates Total %s", fmt_rate(a, sizeof(a), q, "rates.total"));
    seg(&h[2], "Discover %s", fmt_pct(a, sizeof(a), q, "wire_packets.discover", ht, tot));
    seg(&h[2], "Offer %s", fmt_pct(a, sizeof(a), q, "wire_packets.offer", ht, tot));
    seg(&h[2], "Request %s", fmt_pct(a, sizeof(a), q, "wire_packets.request", ht, tot));
    seg(&h[2], "Ack %s", fmt_pct(a, sizeof(a), q, "wire_packets.ack", ht, tot));

    /* 4: DNS wire packets, percentages of the wire total */
    const cJSON *n = v->dns;
    ht = j_u64(n, "wire_packets.total", &x);
    tot = ht ? (double)x : 0;
    if (ht && j_u64(n, "wire_packets.filtered", &y) && y <= x)
        snprintf(b, sizeof(b), "%" PRIu64, x - y);
    else
        snprintf(b, sizeof(b), "-");
    seg(&h[3], "DNS Wire Pkts %s/%s", b, fmt_u(a, sizeof(a), n, "wire_packets.total"));
    seg(&h[3], "Rates Total %s", fmt_rate(a, sizeof(a), n, "rates.total"));
    seg(&h[3], "UDP %s", fmt_pct(a, sizeof(a), n, "wire_packets.udp", ht, tot));
    seg(&h[3], "TCP %s", fmt_pct(a, sizeof(a), n, "wire_packets.tcp", ht, tot));
    seg(&h[3], "IPv4 %s", fmt_pct(a, sizeof(a), n, "wire_packets.ipv4", ht, tot));
    seg(&h[3], "IPv6 %s", fmt_pct(a, sizeof(a), n, "wire_packets.ipv6", ht, tot));
    seg(&h[3], "Query %s", fmt_pct(a, sizeof(a), n, "wire_packets.queries", ht, tot));
    seg(&h[3], "Response %s", fmt_pct(a, sizeof(a), n, "wire_packets.replies", ht, tot));

    /* 5: transactions, in/out as percentages of matched pairs */
    ht = j_u64(n, "xact.counts.total", &x);
    tot = ht ? (double)x : 0;
    seg(&h[4], "DNS Xacts %s", fmt_u(a, sizeof(a), n, "xact.counts.total"));
    seg(&h[4], "Timed Out %s", fmt_u(a, sizeof(a), n, "xact.counts.timed_out"));
    seg(&h[4], "In %s", fmt_pct(a, sizeof(a), n, "xact.in.total", ht, tot));
    seg(&h[4], "Out %s", fmt_pct(a, sizeof(a), n, "xact.out.total", ht, tot));
    const char *dir[2] = {"in", "out"};
    for (int i = 0; i < 2; i++) {
        char path[4][40];
        static const char *qs[4] = {"p50", "p90", "p95", "p99"};
        for (int k = 0; k < 4; k++)
            snprintf(path[k], sizeof(path[k]), "xact.%s.quantiles_us.%s", dir[i], qs[k]);
        seg(&h[4], "%s %s/%s/%s/%s ms", i ? "Out" : "In", fmt_ms(a, sizeof(a), n, path[0]),
            fmt_ms(b, sizeof(b), n, path[1]), fmt_ms(c, sizeof(c), n, path[2]),
            fmt_ms(d, sizeof(d), n, path[3]));
    }
    seg(&h[4], "Qname Card. %s", fmt_u(a, sizeof(a), n, "cardinality.qname"));

    /* 6: reply codes as percentages of replies, then the window */
    ht = j_u64(n, "wire_packets.replies", &x);
    tot = ht ? (double)x : 0;
    seg(&h[5], "DNS NOERROR %s", fmt_pct(a, sizeof(a), n, "wire_packets.noerror", ht, tot));
    seg(&h[5], "SRVFAIL %s", fmt_pct(a, sizeof(a), n, "wire_packets.srvfail", ht, tot));
    seg(&h[5], "NXDOMAIN %s", fmt_pct(a, sizeof(a), n, "wire_packets.nxdomain", ht, tot));
    seg(&h[5], "REFUSED %s", fmt_pct(a, sizeof(a), n, "wire_packets.refused", ht, tot));
    const cJSON *per = j_path(v->packets, "period");
    if (!per)
        per = j_path(v->dns, "period");
    if (j_u64(per, "start_ts", &x) && j_u64(per, "length", &y) && y < UINT32_MAX) {
        kitchen(a, sizeof(a), x);
        kitchen(b, sizeof(b), x + y);
        seg(&h[5], "Time Window %s to %s, Period %" PRIu64 "s", a, b, y);
    } else {
        seg(&h[5], "Time Window -");
    }
}

/* Lay the segments of each line out on rows of `width` columns, wrapping
 * between segments (a narrow terminal gets more header rows, never cut
 * numbers). Returns the number of rows written to out. */
static int header_wrap(const struct hline h[HEADER_LINES], int width, bool wrap,
                       char out[][LINE_MAX_CHARS], int maxrows)
{
    int rows = 0;
    for (int i = 0; i < HEADER_LINES && rows < maxrows; i++) {
        char *cur = out[rows++];
        cur[0] = '\0';
        for (int s = 0; s < h[i].nseg; s++) {
            size_t len = strlen(cur);
            size_t add = strlen(h[i].seg[s]) + (len ? 3 : 0);
            if (wrap && len && (int)(len + add) > width && rows < maxrows) {
                cur = out[rows++];
                snprintf(cur, LINE_MAX_CHARS, "  %s", h[i].seg[s]);
                continue;
            }
            if (len + add + 1 < LINE_MAX_CHARS)
                snprintf(cur + len, LINE_MAX_CHARS - len, "%s%s", len ? " | " : "", h[i].seg[s]);
        }
    }
    return rows;
}

/* ---- the top-N grid ---- */

enum base_kind { BASE_DEEP, BASE_DNS, BASE_REPLIES, BASE_XACT };

struct table {
    const char *title;
    int schema; /* 0 packets, 1 dns */
    const char *path;
    enum base_kind base;
};

/* SPEC 8's order, row-major over four columns. */
static const struct table tables[] = {
    {"Top QName 2", 1, "top_qname2", BASE_DNS},
    {"Top QName 3", 1, "top_qname3", BASE_DNS},
    {"Top NX", 1, "top_nxdomain", BASE_REPLIES},
    {"Slow In", 1, "xact.in.top_slow", BASE_XACT},
    {"Top QTypes", 1, "top_qtype", BASE_DNS},
    {"Top RCodes", 1, "top_rcode", BASE_REPLIES},
    {"Top SRVFAILS", 1, "top_srvfail", BASE_REPLIES},
    {"Slow Out", 1, "xact.out.top_slow", BASE_XACT},
    {"Top REFUSED", 1, "top_refused", BASE_REPLIES},
    {"IPv4", 0, "top_ipv4", BASE_DEEP},
    {"IPv6", 0, "top_ipv6", BASE_DEEP},
    {"Top DNS UDP Ports", 1, "top_udp_ports", BASE_DNS},
    {"Top GeoLoc", 0, "top_geoLoc", BASE_DEEP},
    {"Top ASN", 0, "top_ASN", BASE_DEEP},
};
#define NTABLES (int)(sizeof(tables) / sizeof(tables[0]))

/* The count a table's percentages are taken of: the sketches only see deep
 * samples, so the DNS counters are scaled by the net handler's ratio. */
static bool table_base(const struct view *v, enum base_kind k, double *out)
{
    uint64_t x = 0;
    bool ok = false;
    switch (k) {
    case BASE_DEEP:
        ok = j_u64(v->packets, "deep_samples", &x);
        *out = (double)x;
        return ok;
    case BASE_DNS:
        ok = j_u64(v->dns, "wire_packets.total", &x);
        break;
    case BASE_REPLIES:
        ok = j_u64(v->dns, "wire_packets.replies", &x);
        break;
    case BASE_XACT:
        ok = j_u64(v->dns, "xact.counts.total", &x);
        break;
    }
    if (ok)
        *out = (double)x * v->ratio;
    return ok;
}

static void draw_box(int y, int x, int h, int w, const char *title, attr_t tattr)
{
    if (h < 2 || w < 2)
        return;
    mvaddch(y, x, ACS_ULCORNER);
    mvhline(y, x + 1, ACS_HLINE, w - 2);
    mvaddch(y, x + w - 1, ACS_URCORNER);
    mvvline(y + 1, x, ACS_VLINE, h - 2);
    mvvline(y + 1, x + w - 1, ACS_VLINE, h - 2);
    mvaddch(y + h - 1, x, ACS_LLCORNER);
    mvhline(y + h - 1, x + 1, ACS_HLINE, w - 2);
    mvaddch(y + h - 1, x + w - 1, ACS_LRCORNER);
    if (title && w > 4) {
        char t[LINE_MAX_CHARS];
        fit_text(t, sizeof(t), title, w - 4);
        attron(tattr);
        mvaddstr(y, x + 1, " ");
        addstr(t);
        addstr(" ");
        attroff(tattr);
    }
}

static void draw_table(const struct view *v, const struct table *t, int y, int x, int h, int w)
{
    draw_box(y, x, h, w, t->title, A_BOLD);
    int inner = w - 2, rows = h - 2;
    if (inner < 3 || rows < 1)
        return;
    const cJSON *arr = j_path(t->schema ? v->dns : v->packets, t->path);
    if (!cJSON_IsArray(arr))
        return;
    double base = 0;
    bool hb = table_base(v, t->base, &base);
    int row = 0, idx = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (row >= rows)
            break;
        const cJSON *name = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "name") : NULL;
        uint64_t est;
        if (!cJSON_IsString(name) || !name->valuestring || !j_u64(e, "estimate", &est))
            continue; /* a malformed entry is skipped, not fatal */
        char right[64], nm[LINE_MAX_CHARS];
        if (idx < 3 && hb && base > 0)
            snprintf(right, sizeof(right), "%" PRIu64 " (%.1f%%)", est, 100.0 * (double)est / base);
        else if (idx < 3)
            snprintf(right, sizeof(right), "%" PRIu64 " (-)", est);
        else
            snprintf(right, sizeof(right), "%" PRIu64, est);
        int rlen = (int)strlen(right);
        if (rlen > inner)
            rlen = inner;
        int ncols = inner - rlen - 1;
        if (ncols > 0) {
            fit_text(nm, sizeof(nm), name->valuestring, ncols);
            mvaddstr(y + 1 + row, x + 1, nm);
        }
        mvaddnstr(y + 1 + row, x + 1 + inner - rlen, right, rlen);
        row++;
        idx++;
    }
}

static void draw(struct cli *c)
{
    int H = LINES, W = COLS;
    erase();
    if (H < 4 || W < 20) {
        mvaddnstr(0, 0, "terminal too small", W);
        refresh();
        return;
    }
    struct view v;
    view_from(&v, c->data, c->policy);
    struct hline hl[HEADER_LINES];
    header_lines(&v, hl);

    static char rows[HEADER_MAX_WRAPPED][LINE_MAX_CHARS];
    int avail = H - 1; /* the last row is the status line */
    /* Wrap the header when it leaves room for a row of tables (minimum 5
     * rows: 3 entries); otherwise keep SPEC 8's six lines, cut at the edge. */
    int nh = header_wrap(hl, W - 2, true, rows, HEADER_MAX_WRAPPED);
    if (nh + 2 + 5 > avail)
        nh = header_wrap(hl, W - 2, false, rows, HEADER_MAX_WRAPPED);
    int hh = nh + 2;
    if (hh > avail)
        hh = avail;

    char title[LINE_MAX_CHARS];
    snprintf(title, sizeof(title), "pktvisor-cli (client: %s | server: %s) Policy: %s%s",
             PKTVISOR_VERSION, c->server_version[0] ? c->server_version : "?", c->policy,
             c->stale ? " [STALE]" : "");
    draw_box(0, 0, hh, W, title, A_BOLD);
    for (int i = 0; i < nh && i < hh - 2; i++) {
        char t[LINE_MAX_CHARS];
        fit_text(t, sizeof(t), rows[i], W - 2);
        mvaddstr(1 + i, 1, t);
    }

    /* The grid: 4 columns when there is room for ~25 columns each, then 2
     * or 1; table rows of up to 12 lines (10 entries), as many as fit. */
    int gy = hh, gh = avail - hh;
    int ncols = W >= 100 ? 4 : W >= 50 ? 2 : 1;
    int ngrid = (NTABLES + ncols - 1) / ncols;
    int min_h = 7, nrows = gh / min_h;
    if (nrows > ngrid)
        nrows = ngrid;
    if (nrows < 1 && gh >= 3)
        nrows = 1;
    int th = nrows ? gh / nrows : 0;
    if (th > 12)
        th = 12;
    int shown = 0;
    for (int r = 0; r < nrows; r++) {
        for (int col = 0; col < ncols; col++) {
            int i = r * ncols + col;
            if (i >= NTABLES)
                break;
            int x0 = W * col / ncols, x1 = W * (col + 1) / ncols;
            draw_table(&v, &tables[i], gy + r * th, x0, th, x1 - x0);
            shown++;
        }
    }

    /* The status line: errors in reverse video so they are seen. */
    char st[LINE_MAX_CHARS], when[32] = "never";
    if (c->data_time) {
        struct tm tm;
        localtime_r(&c->data_time, &tm);
        strftime(when, sizeof(when), "%H:%M:%S", &tm);
    }
    snprintf(st, sizeof(st), "%s%s | last data %s | %d/%d tables | q quit, p next policy",
             c->stale ? "STALE: " : "", c->status, when, shown, NTABLES);
    char fitted[LINE_MAX_CHARS];
    fit_text(fitted, sizeof(fitted), st, W - 1);
    attr_t a = c->status_error ? A_REVERSE | A_BOLD : A_REVERSE;
    attron(a);
    mvhline(H - 1, 0, ' ', W);
    mvaddstr(H - 1, 0, fitted);
    attroff(a);
    refresh();
}

/* ---- HTTP ---- */

static void fetch_start(struct cli *c, enum fetch_kind kind);

static const char *req_error_text(int e)
{
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        return "timeout";
    case EVREQ_HTTP_EOF:
        return "connection closed";
    case EVREQ_HTTP_INVALID_HEADER:
        return "invalid response";
    case EVREQ_HTTP_BUFFER_ERROR:
        return "connection refused or reset";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "response too large";
    default:
        return "connection failed";
    }
}

/* The body as a NUL-terminated heap string (cut at CLI_MAX_BODY). */
static char *body_of(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t n = b ? evbuffer_get_length(b) : 0;
    if (n > CLI_MAX_BODY)
        n = CLI_MAX_BODY;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    if (n && evbuffer_copyout(b, s, n) != (ssize_t)n)
        n = 0;
    s[n] = '\0';
    *len = n;
    return s;
}

/* "<status> <error field or body>" (SPEC 8), control characters removed. */
static void http_error(struct cli *c, int code, const char *body, size_t len)
{
    char msg[160];
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *e = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
    const char *src = cJSON_IsString(e) && e->valuestring ? e->valuestring : body;
    fit_text(msg, sizeof(msg), src, 100);
    cJSON_Delete(j);
    set_status(c, true, "agent error: %d %s", code, msg[0] ? msg : "(empty body)");
}

static void on_metrics(struct cli *c, struct fetch *f, int code, const char *body, size_t len)
{
    if (code != 200) {
        http_error(c, code, body, len);
        return;
    }
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j) {
        set_status(c, true, "bad response: not JSON (%zu bytes)", len);
        return;
    }
    const cJSON *pol = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, f->policy) : NULL;
    if (!cJSON_IsObject(pol)) {
        cJSON_Delete(j);
        set_status(c, true, "bad response: no object for policy \"%s\"", f->policy);
        return;
    }
    struct view v;
    view_from(&v, j, f->policy);
    if (!v.packets && !v.dns && !v.dhcp && !v.pcap) {
        cJSON_Delete(j);
        set_status(c, true, "bad response: no handler data in policy \"%s\"", f->policy);
        return;
    }
    cJSON_Delete(c->data);
    c->data = j;
    c->data_time = time(NULL);
    c->stale = false;
    set_status(c, false, "ok %s://%s:%d", c->tls ? "https" : "http", c->host, c->port);
    if (c->app_known && strncmp(c->server_version, "3.3.", 4) != 0)
        set_status(c, false, "ok (warning: server version %s is not 3.3.x)", c->server_version);
}

static void on_app(struct cli *c, int code, const char *body, size_t len)
{
    if (code != 200)
        return; /* retried with the next poll */
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *v = j_path(j, "app.version");
    if (cJSON_IsString(v) && v->valuestring) {
        fit_text(c->server_version, sizeof(c->server_version), v->valuestring, 32);
        c->app_known = true;
    }
    cJSON_Delete(j);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Move to the policy after the current one, in name order (wrapping). */
static void on_policies(struct cli *c, int code, const char *body, size_t len)
{
    if (code != 200) {
        http_error(c, code, body, len);
        return;
    }
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        set_status(c, true, "bad policy list");
        return;
    }
    int n = cJSON_GetArraySize(j), k = 0;
    const char **names = n > 0 ? calloc((size_t)n, sizeof(*names)) : NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        if (names && it->string && strlen(it->string) < CLI_POLICY_MAX && k < n)
            names[k++] = it->string;
    }
    if (k == 0) {
        set_status(c, true, "the agent has no policies");
    } else {
        qsort(names, (size_t)k, sizeof(*names), cmp_str);
        int next = 0;
        for (int i = 0; i < k; i++) {
            if (strcmp(names[i], c->policy) > 0) {
                next = i;
                break;
            }
        }
        if (strcmp(names[next], c->policy) != 0) {
            snprintf(c->policy, sizeof(c->policy), "%s", names[next]);
            cJSON_Delete(c->data);
            c->data = NULL;
            c->data_time = 0;
            c->stale = false;
            if (c->metrics_in) {
                c->metrics_in->ignore = true;
                c->metrics_in = NULL;
            }
            set_status(c, false, "policy %s (%d of %d)", c->policy, next + 1, k);
            fetch_start(c, FETCH_METRICS);
        } else {
            set_status(c, false, "%s is the only policy", c->policy);
        }
    }
    free(names);
    cJSON_Delete(j);
}

static void fetch_error_cb(enum evhttp_request_error e, void *arg)
{
    ((struct fetch *)arg)->error = (int)e;
}

/* The OpenSSL reason of a failed TLS connection, if there is one. */
static const char *tls_reason(struct fetch *f, char *buf, size_t sz)
{
    struct bufferevent *bev = f->conn ? evhttp_connection_get_bufferevent(f->conn) : NULL;
    unsigned long e, last = 0;
    if (!bev || !f->cli->tls)
        return NULL;
    /* A rejected certificate is the common case: say why it was rejected
     * (the error queue then only holds a generic handshake failure). */
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK) {
        snprintf(buf, sz, "certificate: %s", X509_verify_cert_error_string(vr));
        return buf;
    }
    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        last = e;
    if (!last)
        return NULL;
    ERR_error_string_n(last, buf, sz);
    return buf;
}

static void fetch_done_cb(struct evhttp_request *req, void *arg)
{
    struct fetch *f = arg;
    struct cli *c = f->cli;
    f->done = true;
    if (f->kind == FETCH_METRICS && c->metrics_in == f)
        c->metrics_in = NULL;
    if (f->kind == FETCH_APP)
        c->app_in = false;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (f->ignore)
        return;
    if (code == 0) {
        if (f->kind != FETCH_APP) {
            char tb[160];
            const char *why = tls_reason(f, tb, sizeof(tb));
            set_status(c, true, "agent unreachable at %s:%d: %s", c->host, c->port,
                       why ? why : req_error_text(f->error));
            draw(c);
        }
        return;
    }
    size_t len = 0;
    char *body = body_of(req, &len);
    if (!body) {
        set_status(c, true, "out of memory");
    } else if (f->kind == FETCH_METRICS) {
        on_metrics(c, f, code, body, len);
    } else if (f->kind == FETCH_APP) {
        on_app(c, code, body, len);
    } else {
        on_policies(c, code, body, len);
    }
    free(body);
    draw(c);
}

static struct bufferevent *tls_bev(struct cli *c)
{
    SSL *ssl = SSL_new(c->ssl_ctx);
    if (!ssl)
        return NULL;
    SSL_set_tlsext_host_name(ssl, c->host);
    if (c->tls_verify) {
        /* An address is checked against the certificate's IP SANs, a name
         * against its DNS names. */
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        unsigned char tmp[16];
        if (inet_pton(AF_INET, c->host, tmp) == 1 || inet_pton(AF_INET6, c->host, tmp) == 1)
            X509_VERIFY_PARAM_set1_ip_asc(vp, c->host);
        else
            SSL_set1_host(ssl, c->host);
    }
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void fetch_start(struct cli *c, enum fetch_kind kind)
{
    char path[64 + CLI_POLICY_MAX];
    struct fetch *f = calloc(1, sizeof(*f));
    if (!f)
        return;
    f->cli = c;
    f->kind = kind;
    f->error = -1;
    snprintf(f->policy, sizeof(f->policy), "%s", c->policy);
    switch (kind) {
    case FETCH_METRICS:
        snprintf(path, sizeof(path), "/api/v1/policies/%s/metrics/window/5", c->policy);
        break;
    case FETCH_APP:
        snprintf(path, sizeof(path), "/api/v1/metrics/app");
        break;
    case FETCH_POLICIES:
        snprintf(path, sizeof(path), "/api/v1/policies");
        break;
    }
    struct bufferevent *bev = c->tls ? tls_bev(c) : NULL;
    if (c->tls && !bev) {
        free(f);
        set_status(c, true, "TLS setup failed");
        return;
    }
    f->conn = evhttp_connection_base_bufferevent_new(c->base, NULL, bev, c->host,
                                                     (unsigned short)c->port);
    if (!f->conn) {
        if (bev)
            bufferevent_free(bev);
        free(f);
        set_status(c, true, "cannot create a connection to %s", c->host);
        return;
    }
    evhttp_connection_set_timeout(f->conn, CLI_TIMEOUT_S);
    evhttp_connection_set_max_body_size(f->conn, CLI_MAX_BODY);
    evhttp_connection_set_max_headers_size(f->conn, 64 * 1024);
    struct evhttp_request *req = evhttp_request_new(fetch_done_cb, f);
    if (!req) {
        evhttp_connection_free(f->conn);
        free(f);
        return;
    }
    evhttp_request_set_error_cb(req, fetch_error_cb);
    struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
    evhttp_add_header(hdr, "Host", c->host);
    evhttp_add_header(hdr, "Connection", "close");
    evhttp_add_header(hdr, "Accept", "application/json");
    /* On failure evhttp_make_request frees req itself without calling back. */
    if (evhttp_make_request(f->conn, req, EVHTTP_REQ_GET, path) != 0) {
        evhttp_connection_free(f->conn);
        free(f);
        set_status(c, true, "cannot send a request to %s", c->host);
        return;
    }
    f->next = c->fetches;
    c->fetches = f;
    if (kind == FETCH_METRICS)
        c->metrics_in = f;
    if (kind == FETCH_APP)
        c->app_in = true;
}

/* Free the fetches whose callback ran (outside libevent's callbacks), or
 * all of them at exit. */
static void reap(struct cli *c, bool all)
{
    struct fetch **pp = &c->fetches;
    while (*pp) {
        struct fetch *f = *pp;
        if (f->done || all) {
            *pp = f->next;
            evhttp_connection_free(f->conn);
            free(f);
        } else {
            pp = &f->next;
        }
    }
}

/* ---- events ---- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cli *c = arg;
    reap(c, false);
    if (!c->app_known && !c->app_in)
        fetch_start(c, FETCH_APP);
    /* One metrics request at a time: a slow agent is not piled on. */
    if (!c->metrics_in)
        fetch_start(c, FETCH_METRICS);
}

static void on_resize(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
}

static void on_key(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cli *c = arg;
    int ch;
    bool redraw = false;
    while ((ch = getch()) != ERR) {
        if (ch == 'q' || ch == 'Q' || ch == 3) {
            c->quit = true;
            event_base_loopbreak(c->base);
            return;
        } else if (ch == 'p' || ch == 'P') {
            set_status(c, false, "fetching the policy list");
            fetch_start(c, FETCH_POLICIES);
            redraw = true;
        } else if (ch == KEY_RESIZE) {
            redraw = true;
        }
    }
    if (redraw)
        draw(c);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct cli *c = arg;
    if (sig == SIGWINCH) {
        on_resize();
        draw(c);
        return;
    }
    c->quit = true;
    event_base_loopbreak(c->base);
}

/* ---- options ---- */

enum { OPT_TLS = 256, OPT_NOVERIFY, OPT_VERSION };

/* Go's flag package takes -name and --name alike, hence getopt_long_only
 * with the short options also spelled as long ones. */
static const struct option long_opts[] = {
    {"H", required_argument, NULL, 'H'},
    {"p", required_argument, NULL, 'p'},
    {"P", required_argument, NULL, 'P'},
    {"h", no_argument, NULL, 'h'},
    {"help", no_argument, NULL, 'h'},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-noverify", no_argument, NULL, OPT_NOVERIFY},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static bool policy_name_ok(const char *s)
{
    if (!*s || strlen(s) >= CLI_POLICY_MAX || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

static int parse_args(struct cli *c, int argc, char **argv)
{
    int ch;
    while ((ch = getopt_long_only(argc, argv, "H:p:P:h", long_opts, NULL)) != -1) {
        switch (ch) {
        case 'H':
            if (!*optarg || strlen(optarg) > 253) {
                fprintf(stderr, "pktvisor-cli: invalid host\n");
                return 2;
            }
            c->host = optarg;
            break;
        case 'p': {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || v < 1 || v > 65535) {
                fprintf(stderr, "pktvisor-cli: invalid port: %s\n", optarg);
                return 2;
            }
            c->port = (int)v;
            break;
        }
        case 'P':
            if (!policy_name_ok(optarg)) {
                fprintf(stderr, "pktvisor-cli: invalid policy name: %s\n", optarg);
                return 2;
            }
            snprintf(c->policy, sizeof(c->policy), "%s", optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case OPT_TLS:
            c->tls = true;
            break;
        case OPT_NOVERIFY:
            c->tls = true;
            c->tls_verify = false;
            break;
        case OPT_VERSION:
            printf("pktvisor-cli %s\n", PKTVISOR_VERSION);
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pktvisor-cli: unexpected argument: %s\n", argv[optind]);
        fputs(usage_text, stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct cli c = {.host = "localhost", .port = 10853, .tls_verify = true};
    snprintf(c.policy, sizeof(c.policy), "default");
    int rc = parse_args(&c, argc, argv);
    if (rc >= 0)
        return rc;
    setlocale(LC_ALL, "");
    /* A server closing the connection mid-write must not kill us. */
    signal(SIGPIPE, SIG_IGN);

    c.base = event_base_new();
    if (!c.base) {
        fprintf(stderr, "pktvisor-cli: cannot create the event loop\n");
        return 1;
    }
    if (c.tls) {
        c.ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (!c.ssl_ctx) {
            fprintf(stderr, "pktvisor-cli: cannot create the TLS context\n");
            event_base_free(c.base);
            return 1;
        }
        SSL_CTX_set_min_proto_version(c.ssl_ctx, TLS1_2_VERSION);
        if (c.tls_verify) {
            SSL_CTX_set_default_verify_paths(c.ssl_ctx);
            SSL_CTX_set_verify(c.ssl_ctx, SSL_VERIFY_PEER, NULL);
        } else {
            SSL_CTX_set_verify(c.ssl_ctx, SSL_VERIFY_NONE, NULL);
        }
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "pktvisor-cli: needs a terminal\n");
        SSL_CTX_free(c.ssl_ctx);
        event_base_free(c.base);
        return 1;
    }

    initscr();
    cbreak();
    noecho();
    nodelay(stdscr, TRUE);
    keypad(stdscr, TRUE);
    curs_set(0);
    set_status(&c, false, "connecting to %s:%d", c.host, c.port);

    struct event *ev_key = event_new(c.base, STDIN_FILENO, EV_READ | EV_PERSIST, on_key, &c);
    struct event *ev_tick = event_new(c.base, -1, EV_PERSIST, on_tick, &c);
    struct event *ev_int = evsignal_new(c.base, SIGINT, on_signal, &c);
    struct event *ev_term = evsignal_new(c.base, SIGTERM, on_signal, &c);
    struct event *ev_hup = evsignal_new(c.base, SIGHUP, on_signal, &c);
    struct event *ev_winch = evsignal_new(c.base, SIGWINCH, on_signal, &c);
    struct timeval one = {1, 0};
    rc = 0;
    if (!ev_key || !ev_tick || !ev_int || !ev_term || !ev_hup || !ev_winch ||
        event_add(ev_key, NULL) || event_add(ev_tick, &one) || event_add(ev_int, NULL) ||
        event_add(ev_term, NULL) || event_add(ev_hup, NULL) || event_add(ev_winch, NULL)) {
        rc = 1;
    } else {
        on_resize(); /* libevent now owns SIGWINCH: take the size once ourselves */
        draw(&c);
        fetch_start(&c, FETCH_APP);
        fetch_start(&c, FETCH_METRICS);
        draw(&c);
        event_base_dispatch(c.base);
    }
    endwin();

    reap(&c, true);
    struct event *evs[] = {ev_key, ev_tick, ev_int, ev_term, ev_hup, ev_winch};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    cJSON_Delete(c.data);
    SSL_CTX_free(c.ssl_ctx);
    event_base_free(c.base);
    if (rc)
        fprintf(stderr, "pktvisor-cli: cannot set up events\n");
    return rc;
}
