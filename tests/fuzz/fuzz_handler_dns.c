/*
 * fuzz_handler_dns.c - libFuzzer target for the dns handler: any bytes as
 * DNS messages over UDP, through the whole per-message path (header and
 * question reading, the in-place name keys, every sketch, transactions
 * with their pending list, period shifts and purges), then rendered.
 *
 * Input: byte 0 picks the options (0-2: none, 3: exclude_noerror, 4:
 * only_qname_suffix "example.com", 5: only_rcode 3, 6-7: deep sampling at
 * 50%); then records of
 *
 *   byte 0    bits 0-1 client (port 40000 + n), bit 2 IPv6, bit 3 sent
 *             by the server, bits 4-7 how far the clock advances (a table
 *             from 0 to 61 s, so periods shift)
 *   bytes 1-2 payload length, little endian (cut to what is left)
 *   payload   the UDP payload, in a heap buffer of exactly its length
 *
 * Without options the transactions are checked against SPEC 4.3 written
 * out as a plain map (store or overwrite on a query, count and remove on a
 * response, purge what is 5 s older than a new period's start): the open
 * count after every message, and at the end the window's totals.  Any
 * broken promise traps.  Time stays within four periods (later records
 * are ignored), so the five-period window holds everything.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "handler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

#define CLIENTS  8
#define BASE_SEC 1700000000 /* 20 s past a minute boundary */

struct model {
    bool open[CLIENTS][65536];
    int64_t ts[CLIENTS][65536];
    uint32_t touched[65536]; /* keys opened in this input: client << 16 | id */
    uint32_t ntouched;
    uint32_t nopen;
    uint64_t total, timed_out;
    int64_t next_shift;
};

static struct model model; /* large: static, reset key by key */

static void model_reset(struct model *m)
{
    for (uint32_t i = 0; i < m->ntouched; i++)
        m->open[m->touched[i] >> 16][m->touched[i] & 0xffff] = false;
    m->ntouched = m->nopen = 0;
    m->total = m->timed_out = 0;
    m->next_shift = 0;
}

static void model_purge(struct model *m, int64_t before_ns)
{
    for (uint32_t i = 0; i < m->ntouched; i++) {
        unsigned c = m->touched[i] >> 16, id = m->touched[i] & 0xffff;
        if (m->open[c][id] && m->ts[c][id] <= before_ns) {
            m->open[c][id] = false;
            m->nopen--;
            m->timed_out++;
        }
    }
}

static double num(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    x = cJSON_GetObjectItemCaseSensitive(x, b);
    x = cJSON_GetObjectItemCaseSensitive(x, c);
    return cJSON_IsNumber(x) ? cJSON_GetNumberValue(x) : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0] & 7;
    data++;
    size--;

    struct handler_opt opt = {0};
    const char *const suffix[] = {"example.com"};
    size_t nopts = 1;
    uint32_t rate = 100;
    if (mode == 3)
        opt = (struct handler_opt){.key = "exclude_noerror", .type = HOPT_BOOL, .b = true};
    else if (mode == 4)
        opt = (struct handler_opt){
            .key = "only_qname_suffix", .type = HOPT_LIST, .list = suffix, .nlist = 1};
    else if (mode == 5)
        opt = (struct handler_opt){.key = "only_rcode", .type = HOPT_UINT, .u = 3};
    else
        nopts = 0;
    if (mode >= 6)
        rate = 50;
    bool modeled = mode <= 2;
    struct handler_config cfg = {
        .num_periods = 5, .deep_sample_rate = rate, .opts = nopts ? &opt : NULL, .nopts = nopts};
    char err[256];
    struct handler *h = handler_new(&handler_dns, "fuzz-dns", &cfg, err, sizeof(err));
    check(h != NULL);
    if (modeled)
        model_reset(&model);

    static const int64_t step_ms[16] = {0,   0,   1,    1,    3,    10,   40,    100,
                                        250, 700, 1000, 2000, 4999, 5001, 30000, 61000};
    int64_t now_ns = (int64_t)BASE_SEC * 1000000000;
    const int64_t end_ns = now_ns + (int64_t)230 * 1000000000;
    size_t i = 0;
    /* The model keeps a list of the keys it opened: bounded. */
    for (unsigned nrec = 0; size - i >= 3 && nrec < 20000; nrec++) {
        uint8_t f = data[i];
        size_t len = (size_t)data[i + 1] | (size_t)data[i + 2] << 8;
        i += 3;
        if (len > size - i)
            len = size - i;
        now_ns += step_ms[f >> 4] * 1000000;
        if (now_ns >= end_ns)
            break;
        uint8_t *msg = malloc(len ? len : 1);
        check(msg != NULL);
        memcpy(msg, data + i, len);
        i += len;

        unsigned client = (f & 3) | (f & 4);
        bool from_server = f & 8;
        struct packet p;
        memset(&p, 0, sizeof(p));
        p.ts_sec = now_ns / 1000000000;
        p.ts_nsec = now_ns % 1000000000;
        p.l4 = p.ip_proto = IPPROTO_UDP;
        struct ip_addr cl = {.family = 4, .a.v4 = {10, 0, 0, 1}};
        struct ip_addr sv = {.family = 4, .a.v4 = {192, 0, 2, 53}};
        if (f & 4) {
            cl = (struct ip_addr){.family = 6, .a.v6 = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
            sv = (struct ip_addr){.family = 6, .a.v6 = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x53}};
        }
        p.l3 = cl.family;
        uint16_t cport = (uint16_t)(40000 + (f & 3));
        p.src = from_server ? sv : cl;
        p.dst = from_server ? cl : sv;
        p.sport = from_server ? 53 : cport;
        p.dport = from_server ? cport : 53;
        p.dir = from_server ? DIR_IN : DIR_OUT;
        p.payload = msg;
        p.payload_len = (uint32_t)len;
        p.caplen = p.wirelen = (uint32_t)len + 28;

        if (modeled) {
            int64_t sec = p.ts_sec;
            if (model.next_shift == 0) {
                model.next_shift = sec - sec % 60 + 60;
            } else if (sec >= model.next_shift) {
                int64_t start = sec - sec % 60;
                model_purge(&model, (start - 5) * 1000000000);
                model.next_shift = start + 60;
            }
        }
        handler_feed(h, &p);
        if (modeled && len >= 12) {
            unsigned id = (unsigned)msg[0] << 8 | msg[1];
            bool qr = msg[2] & 0x80;
            unsigned records = 0;
            for (int k = 0; k < 4; k++)
                records += (unsigned)msg[4 + 2 * k] << 8 | msg[5 + 2 * k];
            if (records <= 100) { /* more: malformed, no transaction */
                if (!qr) {
                    if (!model.open[client][id]) {
                        model.nopen++;
                        model.touched[model.ntouched++] = client << 16 | id;
                    }
                    model.open[client][id] = true;
                    model.ts[client][id] = now_ns;
                } else if (model.open[client][id]) {
                    model.open[client][id] = false;
                    model.nopen--;
                    model.total++;
                }
            }
        }
        if (modeled)
            check(handler_dns_open_xacts(h) == model.nopen);
        free(msg);
    }
    handler_finish(h);

    struct render_opts ro = {.now_sec = h->win->last_sec};
    cJSON *j = handler_window_json(h, 5, &ro);
    if (h->win->count > 0) {
        /* Counters render as raw numbers: read them back as a client
         * would. */
        check(j != NULL);
        char *s = cJSON_PrintUnformatted(j);
        check(s != NULL);
        cJSON *back = cJSON_Parse(s);
        check(back != NULL);
        if (modeled) {
            check(num(back, "xact", "counts", "total") == (double)model.total);
            check(num(back, "xact", "counts", "timed_out") == (double)model.timed_out);
            check(handler_dns_open_xacts(h) == model.nopen);
        }
        cJSON_Delete(back);
        free(s);
    }
    cJSON_Delete(j);
    handler_free(&h);
    return 0;
}
