/*
 * pktvisor-pcap - summarize a capture file (SPEC 1.2).
 *
 * One process, no ring: frames read with libpcap (pcap and pcapng) go
 * through the same pipeline and handlers as in pktvisord's aggregators.
 * The JSON document goes to stdout; logs, progress and errors to stderr.
 * Every error exits 255 with one "Fatal error: ..." line and nothing on
 * stdout; a file cut off inside a record is summarized up to the last
 * complete record, with a warning.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "geo.h"
#include "hostspec.h"
#include "log.h"
#include "pcap_mmap.h"
#include "pipeline.h"

#define EXIT_FATAL 255

static const char usage_text[] =
    "Usage:\n"
    "  pktvisor-pcap [options] PCAP\n"
    "  pktvisor-pcap (-h | --help)\n"
    "  pktvisor-pcap --version\n"
    "\n"
    "Summarize a packet capture file (pcap or pcapng) as JSON on stdout.\n"
    "\n"
    "Options:\n"
    "  --max-deep-sample N   Never deep sample more than N% of packets (an int between 0 and\n"
    "                        100) [default: 100]\n"
    "  --periods P           Hold this many 60 second time periods of history in memory. Use\n"
    "                        1 to summarize all data. [default: 5]\n"
    "  -b BPF                Filter packets using the given BPF string\n"
    "  --geo-city FILE       GeoLite2 City database to use for IP to Geo mapping\n"
    "  --geo-asn FILE        GeoLite2 ASN database to use for IP to ASN mapping\n"
    "  -H HOSTSPEC           Specify subnets (comma separated) to consider HOST, in CIDR form.\n"
    "                        In pcap mode there is no interface, so -H is required to know\n"
    "                        the direction (in/out) of packets.\n"
    "  --dns-exclude-noerror        DNS handler: drop messages with RCODE NOERROR\n"
    "  --dns-only-rcode N           DNS handler: keep only messages with RCODE N (0, 2, 3 or 5)\n"
    "  --dns-only-qname-suffix S    DNS handler: keep only names ending with S (comma separated)\n"
    "  --dns-only-qname NAME        DNS handler: keep only these names (comma separated)\n"
    "  --handlers LIST       Run only these handlers (comma separated among net, dns, dhcp)\n"
    "                        [default: net,dns,dhcp]\n"
    "  -v                    Verbose log output\n"
    "  -h --help             Show this screen\n"
    "  --version             Show version\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    fputs("Fatal error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_FATAL);
}

static _Noreturn void usage_error(const char *msg)
{
    if (msg != NULL)
        fprintf(stderr, "%s\n", msg);
    fputs(usage_text, stderr);
    exit(EXIT_FATAL);
}

static long parse_int(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        die("%s: not an integer: %s", opt, s);
    return v;
}

struct options {
    long deep_sample;
    long periods;
    const char *bpf;
    const char *geo_city;
    const char *geo_asn;
    const char *hostspec;
    int verbose;
    const char *file;
    /* DNS handler filters (SPEC 4.6), as handler options. */
    struct handler_opt dns_opts[4];
    size_t dns_nopts;
    const char *suffix_list[64];
    const char *name_list[64];
    /* --handlers (our extension): the modules to run, in output order. */
    const char *modules[3];
    size_t nmodules;
};

/* Split a comma-separated value into v (the string is modified). */
static size_t split_list(char *s, const char **v, size_t max, const char *opt)
{
    size_t n = 0;
    for (char *tok = strtok(s, ","); tok != NULL; tok = strtok(NULL, ",")) {
        if (n == max)
            die("%s: more than %zu names", opt, max);
        v[n++] = tok;
    }
    return n;
}

static void add_dns_opt(struct options *o, struct handler_opt opt)
{
    for (size_t i = 0; i < o->dns_nopts; i++)
        if (strcmp(o->dns_opts[i].key, opt.key) == 0) {
            o->dns_opts[i] = opt;
            return;
        }
    o->dns_opts[o->dns_nopts++] = opt;
}

/* --handlers LIST: known names only, each once; kept in the default order
 * so that the document does not depend on how the list was written. */
static void parse_handlers(char *s, struct options *o)
{
    static const char *const known[] = {"net", "dns", "dhcp"};
    bool want[3] = {false, false, false};
    const char *v[8];
    size_t n = split_list(s, v, 8, "--handlers");
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < 3 && strcmp(v[i], known[k]) != 0)
            k++;
        if (k == 3)
            die("--handlers: unknown handler: %s (known: net, dns, dhcp)", v[i]);
        want[k] = true;
    }
    o->nmodules = 0;
    for (size_t k = 0; k < 3; k++)
        if (want[k])
            o->modules[o->nmodules++] = known[k];
    if (o->nmodules == 0)
        die("--handlers: no handler named");
}

static void parse_options(int argc, char **argv, struct options *o)
{
    enum {
        OPT_DEEP = 256,
        OPT_PERIODS,
        OPT_CITY,
        OPT_ASN,
        OPT_VERSION,
        OPT_NOERROR,
        OPT_RCODE,
        OPT_SUFFIX,
        OPT_QNAME,
        OPT_HANDLERS,
    };
    static const struct option longopts[] = {
        {"max-deep-sample", required_argument, NULL, OPT_DEEP},
        {"periods", required_argument, NULL, OPT_PERIODS},
        {"geo-city", required_argument, NULL, OPT_CITY},
        {"geo-asn", required_argument, NULL, OPT_ASN},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"dns-exclude-noerror", no_argument, NULL, OPT_NOERROR},
        {"dns-only-rcode", required_argument, NULL, OPT_RCODE},
        {"dns-only-qname-suffix", required_argument, NULL, OPT_SUFFIX},
        {"dns-only-qname", required_argument, NULL, OPT_QNAME},
        {"handlers", required_argument, NULL, OPT_HANDLERS},
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.deep_sample = 100,
                          .periods = 5,
                          .bpf = "",
                          .hostspec = "",
                          .modules = {"net", "dns", "dhcp"},
                          .nmodules = 3};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":b:H:vh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DEEP:
            o->deep_sample = parse_int("--max-deep-sample", optarg);
            break;
        case OPT_PERIODS:
            o->periods = parse_int("--periods", optarg);
            break;
        case OPT_CITY:
            o->geo_city = optarg;
            break;
        case OPT_ASN:
            o->geo_asn = optarg;
            break;
        case 'b':
            o->bpf = optarg;
            break;
        case 'H':
            o->hostspec = optarg;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        case OPT_VERSION:
            printf("pktvisor %s\n", PKTVISOR_VERSION);
            exit(0);
        case OPT_NOERROR:
            add_dns_opt(
                o, (struct handler_opt){.key = "exclude_noerror", .type = HOPT_BOOL, .b = true});
            break;
        case OPT_RCODE: {
            long v = parse_int("--dns-only-rcode", optarg);
            if (v < 0)
                die("--dns-only-rcode: not an rcode: %s", optarg);
            add_dns_opt(
                o, (struct handler_opt){.key = "only_rcode", .type = HOPT_UINT, .u = (uint64_t)v});
            break;
        }
        case OPT_SUFFIX: {
            size_t n = split_list(optarg, o->suffix_list, 64, "--dns-only-qname-suffix");
            add_dns_opt(o, (struct handler_opt){.key = "only_qname_suffix",
                                                .type = HOPT_LIST,
                                                .list = o->suffix_list,
                                                .nlist = n});
            break;
        }
        case OPT_QNAME: {
            size_t n = split_list(optarg, o->name_list, 64, "--dns-only-qname");
            add_dns_opt(
                o, (struct handler_opt){
                       .key = "only_qname", .type = HOPT_LIST, .list = o->name_list, .nlist = n});
            break;
        }
        case OPT_HANDLERS:
            parse_handlers(optarg, o);
            break;
        case ':': {
            char msg[128];
            snprintf(msg, sizeof(msg), "option %s requires an argument", argv[optind - 1]);
            usage_error(msg);
        }
        default: {
            char msg[128];
            snprintf(msg, sizeof(msg), "unknown option: %s", argv[optind - 1]);
            usage_error(msg);
        }
        }
    }
    if (optind != argc - 1)
        usage_error(optind >= argc ? "missing PCAP" : "too many arguments");
    o->file = argv[optind];
    /* SPEC 1.2: 1 is summary mode, otherwise the window must be [2, 10]. */
    if (o->periods != 1 && (o->periods < 2 || o->periods > WINDOW_MAX_PERIODS))
        die("invalid metrics period, specify [2, 10]");
    if (o->deep_sample < 1)
        o->deep_sample = 1;
    if (o->deep_sample > 100)
        o->deep_sample = 100;
}

static void log_input_info(const struct hostspec *hs)
{
    char buf[128];
    for (uint32_t i = 0; i < hs->n; i++) {
        hostspec_format(hs, i, buf, sizeof(buf));
        log_debug("host_ips: %s", buf);
    }
    if (hs->n == 0)
        log_debug("no -H given: every packet's direction is unknown");
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct progress {
    double last_report;
    uint64_t last_count;
};

static void progress(struct progress *pr, const struct pipeline *pl)
{
    if ((pl->frames & 0xffff) != 0)
        return;
    double now = now_mono();
    if (now - pr->last_report >= 1.0) {
        log_info("processed %" PRIu64 " packets (%.0f/s)", pl->frames,
                 (double)(pl->frames - pr->last_count) / (now - pr->last_report));
        pr->last_report = now;
        pr->last_count = pl->frames;
    }
}

/* Read every record; returns false when the file ended inside a record.
 * With mm (a plain classic pcap file, no filter) the records are read in
 * place; libpcap takes over where mm gives up, after the same records. */
static bool read_capture(pcap_t *pc, struct pcap_mmap *mm, struct pipeline *pl, const char *file)
{
    int linktype = pcap_datalink(pc);
    int nsec_res = pcap_get_tstamp_precision(pc) == PCAP_TSTAMP_PRECISION_NANO;
    struct progress pr = {.last_report = now_mono()};
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc = 0;

    if (mm != NULL) {
        struct pcap_mmap_rec r;
        while (!stop_requested && (rc = pcap_mmap_next(mm, &r)) > 0) {
            pipeline_frame(pl, linktype, r.data, r.caplen, r.len, r.sec, r.nsec);
            progress(&pr, pl);
        }
        if (rc == 0 || stop_requested)
            goto done;
        for (uint64_t k = pcap_mmap_count(mm); k > 0; k--)
            if (pcap_next_ex(pc, &hdr, &data) != 1)
                die("%s: changed while being read", file);
    }
    while (!stop_requested && (rc = pcap_next_ex(pc, &hdr, &data)) >= 0) {
        if (rc == 0)
            continue;
        int64_t nsec = nsec_res ? hdr->ts.tv_usec : (int64_t)hdr->ts.tv_usec * 1000;
        pipeline_frame(pl, linktype, data, hdr->caplen, hdr->len, hdr->ts.tv_sec, nsec);
        progress(&pr, pl);
    }
done:
    if (stop_requested) {
        log_info("stopped by signal: summarizing what was read");
        return true;
    }
    if (rc == PCAP_ERROR) {
        const char *msg = pcap_geterr(pc);
        /* libpcap says "truncated" for a file cut inside a record; anything
         * else (a corrupt length, a bad block) means we cannot trust it. */
        if (strstr(msg, "truncated") == NULL)
            die("%s: %s", file, msg);
        log_warnx("%s: %s: summarizing the %" PRIu64 " complete records before it", file, msg,
                  pl->frames);
        return false;
    }
    return true;
}

static void report_decode_health(const struct decoder *dec)
{
    const struct decode_stats *s = decoder_stats(dec);
    uint64_t bad = s->truncated + s->malformed + s->unknown_linktype;
    uint64_t frag_lost = s->frag_evicted + s->frag_timeout + s->frag_invalid;
    void (*out)(const char *, ...) = bad + frag_lost > 0 ? log_warnx : log_debug;
    out("decode: %" PRIu64 " truncated, %" PRIu64 " malformed, %" PRIu64
        " unsupported link type; fragments: %" PRIu64 " seen, %" PRIu64
        " datagrams reassembled, %" PRIu64 " evicted, %" PRIu64 " timed out, %" PRIu64 " invalid",
        s->truncated, s->malformed, s->unknown_linktype, s->fragments, s->reassembled,
        s->frag_evicted, s->frag_timeout, s->frag_invalid);
}

static void print_document(const struct pipeline *pl, long periods)
{
    cJSON *doc = cJSON_CreateObject();
    char key[8];
    snprintf(key, sizeof(key), "%ldm", periods);
    cJSON *win = cJSON_AddObjectToObject(doc, key);
    if (win == NULL)
        die("out of memory");
    struct render_opts ro = {.now_sec = pl->last_sec, .show_live = false};
    for (uint32_t i = 0; i < pl->nhandlers; i++) {
        const struct handler *h = pl->handlers[i];
        cJSON *j = periods == 1 ? handler_bucket_json(h, 0, &ro)
                                : handler_window_json(h, (uint32_t)periods, &ro);
        if (j == NULL && periods == 1)
            j = handler_window_json(h, 1, &ro); /* empty capture */
        if (j == NULL)
            die("out of memory");
        cJSON_AddItemToObject(win, h->type->table->schema_key, j);
    }
    json_sort_keys(doc);
    char *text = cJSON_PrintUnformatted(doc);
    if (text == NULL)
        die("out of memory");
    if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
        die("writing the document: %s", strerror(errno));
    cJSON_free(text);
    cJSON_Delete(doc);
}

int main(int argc, char **argv)
{
    struct options o;
    char err[PCAP_ERRBUF_SIZE + 512];

    parse_options(argc, argv, &o);
    log_init("pktvisor-pcap", LOG_TO_STDERR, NULL, o.verbose);

    struct hostspec *hosts = calloc(1, sizeof(*hosts));
    if (hosts == NULL)
        die("out of memory");
    if (hostspec_parse(hosts, o.hostspec, err, sizeof(err)) != 0)
        die("%s", err);

    struct geo *city = NULL, *asn = NULL;
    if (o.geo_city != NULL && (city = geo_open(o.geo_city, GEO_CITY, err, sizeof(err))) == NULL)
        die("%s", err);
    if (o.geo_asn != NULL && (asn = geo_open(o.geo_asn, GEO_ASN, err, sizeof(err))) == NULL)
        die("%s", err);

    char pcap_err[PCAP_ERRBUF_SIZE];
    pcap_t *pc =
        pcap_open_offline_with_tstamp_precision(o.file, PCAP_TSTAMP_PRECISION_NANO, pcap_err);
    if (pc == NULL) {
        /* libpcap names the file in some messages and not in others. */
        if (strncmp(pcap_err, o.file, strlen(o.file)) == 0)
            die("%s", pcap_err);
        die("%s: %s", o.file, pcap_err);
    }
    if (!decode_linktype_supported(pcap_datalink(pc)))
        die("%s: unsupported link type %d (%s)", o.file, pcap_datalink(pc),
            pcap_datalink_val_to_name(pcap_datalink(pc)) != NULL
                ? pcap_datalink_val_to_name(pcap_datalink(pc))
                : "unknown");
    if (o.bpf[0] != '\0') {
        struct bpf_program prog;
        if (pcap_compile(pc, &prog, o.bpf, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
            pcap_setfilter(pc, &prog) != 0)
            die("Cannot set BPF filter to pcap file: %s", pcap_geterr(pc));
        pcap_freecode(&prog);
    }

    struct pipeline *pl = pipeline_new(hosts);
    if (pl == NULL)
        die("out of memory");
    struct handler_config hc = {
        .num_periods = (uint32_t)o.periods,
        .deep_sample_rate = (uint32_t)o.deep_sample,
        .geo_city = city,
        .geo_asn = asn,
    };
    /* SPEC 1.2: net, dns and dhcp; the pcap stats handler has nothing to
     * report for a file.  --handlers may choose fewer. */
    const char *const *modules = o.modules;
    for (size_t i = 0; i < o.nmodules; i++) {
        char name[64];
        snprintf(name, sizeof(name), "default-%s", modules[i]);
        bool dns = strcmp(modules[i], "dns") == 0;
        hc.opts = dns ? o.dns_opts : NULL;
        hc.nopts = dns ? o.dns_nopts : 0;
        struct handler *h = handler_new(handler_type_find(modules[i]), name, &hc, err, sizeof(err));
        if (h == NULL)
            die("%s: %s", name, err);
        if (pipeline_add(pl, h) != 0)
            die("too many handlers");
    }

    log_input_info(hosts);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* In place when nothing needs libpcap per record (a BPF filter does). */
    struct pcap_mmap *mm = o.bpf[0] == '\0' ? pcap_mmap_open(o.file) : NULL;
    if (mm != NULL && pcap_mmap_linktype(mm) != pcap_datalink(pc))
        pcap_mmap_close(&mm);
    read_capture(pc, mm, pl, o.file);
    pcap_mmap_close(&mm);
    pipeline_finish(pl);
    log_info("processed %" PRIu64 " packets", pl->frames);
    report_decode_health(pl->dec);
    print_document(pl, o.periods);

    pcap_close(pc);
    pipeline_free(&pl);
    geo_close(&city);
    geo_close(&asn);
    free(hosts);
    return 0;
}
