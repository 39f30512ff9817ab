/*
 * pktvisord.c - the agent's entry point: options (SPEC 1.1), logging,
 * configuration, and everything that needs privileges before the
 * supervisor forks its children (sup.h): the listening socket, a first
 * open of each capture source (to fail early with a clear message and to
 * learn the interface's addresses and link type), the packet rings and the
 * metric segments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cap_source.h"
#include "config.h"
#include "geo.h"
#include "httpd_tls.h"
#include "log.h"
#include "metric_seg.h"
#include "privsep.h"
#include "proc_title.h"
#include "ring.h"
#include "sup.h"

static const char usage_text[] =
    "\n"
    "    Usage:\n"
    "      pktvisord [options] [IFACE]\n"
    "      pktvisord (-h | --help)\n"
    "      pktvisord --version\n"
    "\n"
    "    pktvisord summarizes network data streams.\n"
    "\n"
    "    IFACE, if specified, is either a network interface or an IP address (4 or 6). If this is "
    "specified,\n"
    "    a \"pcap\" input stream will be automatically created, with \"net\", \"dhcp\", \"dns\" "
    "and \"pcap\"\n"
    "    handler modules attached.\n"
    "\n"
    "    Base Options:\n"
    "      -d                          Daemonize; fork and continue running in the background\n"
    "      -h --help                   Show this screen\n"
    "      -v                          Verbose log output\n"
    "      --no-track                  Accepted for compatibility (nothing is ever sent)\n"
    "      --version                   Show version\n"
    "    Web Server Options:\n"
    "      -l HOST                     Run web server on the given host or IP [default: "
    "localhost]\n"
    "      -p PORT                     Run web server on the given port [default: 10853]\n"
    "      --tls                       Enable TLS on the web server\n"
    "      --tls-cert FILE             Use given TLS cert. Required if --tls is enabled.\n"
    "      --tls-key FILE              Use given TLS private key. Required if --tls is enabled.\n"
    "      --admin-api                 Enable admin REST API giving complete control plane "
    "functionality [default: false]\n"
    "    Geo Options:\n"
    "      --geo-city FILE             GeoLite2 City database to use for IP to Geo mapping\n"
    "      --geo-asn FILE              GeoLite2 ASN database to use for IP to ASN mapping\n"
    "    Configuration:\n"
    "      --config FILE               Use specified YAML configuration to configure options, "
    "Taps, and Collection Policies\n"
    "    Logging Options:\n"
    "      --log-file FILE             Log to the given output file name\n"
    "      --syslog                    Log to syslog\n"
    "    Prometheus Options:\n"
    "      --prometheus                Accepted for compatibility (/metrics is always on)\n"
    "      --prom-instance ID          Optionally set the 'instance' label to given ID\n"
    "    Handler Module Defaults:\n"
    "      --max-deep-sample N         Never deep sample more than N% of streams (an int "
    "between 0 and 100) [default: 100]\n"
    "      --periods P                 Hold this many 60 second time periods of history in "
    "memory [default: 5]\n"
    "    pcap Input Module Options:\n"
    "      -b BPF                      Filter packets using the given tcpdump compatible filter "
    "expression. Example: \"port 53\"\n"
    "      -H HOSTSPEC                 Specify subnets (comma separated) to consider HOST, in "
    "CIDR form. Example: \"10.0.1.0/24,10.0.2.1/32,2001:db8::/64\"\n"
    "                                  When IFACE is given, its own addresses are added.\n"
    "    Privilege Options:\n"
    "      --user USER                 Run the capture, aggregator and HTTP processes as USER "
    "[default: pktvisor, else nobody]\n"
    "      --chroot DIR                Empty root directory for them [default: "
    "/var/empty/pktvisord]; \"\" for none\n"
    "      --pid-file FILE             Write the supervisor's process id to FILE\n"
    "      --ring-size BYTES           Packet ring per tap (its workers share it), a power of "
    "two (k, M, G suffixes) [default: 256M]\n";

static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    exit(255);
}

enum {
    OPT_HELP = 256,
    OPT_NO_TRACK,
    OPT_VERSION,
    OPT_TLS,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_ADMIN_API,
    OPT_GEO_CITY,
    OPT_GEO_ASN,
    OPT_CONFIG,
    OPT_LOG_FILE,
    OPT_SYSLOG,
    OPT_PROMETHEUS,
    OPT_PROM_INSTANCE,
    OPT_MAX_DEEP_SAMPLE,
    OPT_PERIODS,
    OPT_USER,
    OPT_CHROOT,
    OPT_PID_FILE,
    OPT_RING_SIZE,
};

static const struct option long_opts[] = {
    {"help", no_argument, NULL, OPT_HELP},
    {"no-track", no_argument, NULL, OPT_NO_TRACK},
    {"version", no_argument, NULL, OPT_VERSION},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"admin-api", no_argument, NULL, OPT_ADMIN_API},
    {"geo-city", required_argument, NULL, OPT_GEO_CITY},
    {"geo-asn", required_argument, NULL, OPT_GEO_ASN},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"prometheus", no_argument, NULL, OPT_PROMETHEUS},
    {"prom-instance", required_argument, NULL, OPT_PROM_INSTANCE},
    {"max-deep-sample", required_argument, NULL, OPT_MAX_DEEP_SAMPLE},
    {"periods", required_argument, NULL, OPT_PERIODS},
    {"user", required_argument, NULL, OPT_USER},
    {"chroot", required_argument, NULL, OPT_CHROOT},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"ring-size", required_argument, NULL, OPT_RING_SIZE},
    {NULL, 0, NULL, 0},
};

static uint64_t parse_uint(const char *opt, const char *v, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n > max)
        usage_error("%s: invalid number '%s'", opt, v);
    return n;
}

static uint64_t parse_size(const char *v)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    unsigned shift = 0;
    if (v[0] < '0' || v[0] > '9' || errno != 0)
        usage_error("--ring-size: invalid size '%s'", v);
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift != 0)
        end++;
    if (*end != '\0' || n == 0 || n > (UINT64_C(1) << 34) >> shift)
        usage_error("--ring-size: invalid size '%s'", v);
    n <<= shift;
    if ((n & (n - 1)) != 0 || n < RING_MIN_SIZE)
        usage_error("--ring-size: %llu is not a power of two of at least %u bytes", n,
                    RING_MIN_SIZE);
    /* (at most 16 GiB: the ring is shared memory, all of it eventually resident) */
    return n;
}

/* argv's strings are overwritten by the process title: keep copies. */
static const char *dup_arg(const char *s)
{
    char *d = strdup(s);
    if (d == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return d;
}

/* An argument as an absolute path (valid after -d's chdir), in memory of
 * its own: no copy lost when agent_absolute_path() makes a new string. */
static const char *abs_arg(const char *arg)
{
    const char *p = agent_absolute_path(arg);
    return p == arg ? dup_arg(arg) : p;
}

static void parse_options(int argc, char **argv, struct agent_options *o)
{
    int c;
    o->host = "localhost";
    o->port = 10853;
    o->max_deep_sample = 100;
    o->periods = 5;
    o->chroot = PRIVSEP_DEFAULT_ROOT;
    o->ring_size = RING_DEFAULT_SIZE;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+dhvl:p:b:H:", long_opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->daemonize = true;
            break;
        case 'h':
        case OPT_HELP:
            printf("%s", usage_text);
            exit(0);
        case 'v':
            o->verbose = true;
            break;
        case OPT_VERSION:
            printf("pktvisor %s\n", PKTVISOR_VERSION);
            exit(0);
        case 'l':
            o->host = dup_arg(optarg);
            break;
        case 'p':
            o->port = (uint16_t)parse_uint("-p", optarg, 65535);
            if (o->port == 0)
                usage_error("-p: invalid port '%s'", optarg);
            break;
        case 'b':
            o->bpf = dup_arg(optarg);
            break;
        case 'H':
            o->host_spec = dup_arg(optarg);
            break;
        case OPT_NO_TRACK:
        case OPT_PROMETHEUS:
            break;
        case OPT_TLS:
            o->tls = true;
            break;
        case OPT_TLS_CERT:
            o->tls_cert = abs_arg(optarg);
            break;
        case OPT_TLS_KEY:
            o->tls_key = abs_arg(optarg);
            break;
        case OPT_ADMIN_API:
            o->admin_api = true;
            break;
        case OPT_GEO_CITY:
            o->geo_city = abs_arg(optarg);
            break;
        case OPT_GEO_ASN:
            o->geo_asn = abs_arg(optarg);
            break;
        case OPT_CONFIG:
            o->config = dup_arg(optarg);
            break;
        case OPT_LOG_FILE:
            o->log_file = abs_arg(optarg);
            break;
        case OPT_SYSLOG:
            o->syslog = true;
            break;
        case OPT_PROM_INSTANCE:
            o->prom_instance = dup_arg(optarg);
            break;
        case OPT_MAX_DEEP_SAMPLE:
            o->max_deep_sample = parse_uint("--max-deep-sample", optarg, UINT32_MAX);
            o->max_deep_sample = o->max_deep_sample < 1     ? 1
                                 : o->max_deep_sample > 100 ? 100
                                                            : o->max_deep_sample;
            break;
        case OPT_PERIODS:
            o->periods = parse_uint("--periods", optarg, UINT32_MAX);
            o->periods = o->periods < 1 ? 1 : o->periods > 10 ? 10 : o->periods;
            break;
        case OPT_USER:
            o->user = dup_arg(optarg);
            break;
        case OPT_CHROOT:
            o->chroot = dup_arg(optarg);
            break;
        case OPT_PID_FILE:
            o->pid_file = abs_arg(optarg);
            break;
        case OPT_RING_SIZE:
            o->ring_size = parse_size(optarg);
            break;
        case ':':
            usage_error("option %s requires an argument", argv[optind - 1]);
        default:
            usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        o->iface = dup_arg(argv[optind++]);
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}

static int listen_on(const char *host, uint16_t port, char *err, size_t errlen)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    char ports[8];
    int fd = -1;
    snprintf(ports, sizeof(ports), "%u", (unsigned)port);
    if (getaddrinfo(host, ports, &hints, &res) == 0) {
        for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
            int one = 1;
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd < 0)
                continue;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
                close(fd);
                fd = -1;
            }
        }
        freeaddrinfo(res);
    }
    if (fd < 0)
        err_set(err, errlen, "unable to bind to %s:%u", host, (unsigned)port);
    return fd;
}

/* The caller's process exits with the daemon's start-up verdict: 0 once the
 * daemon writes a byte to *ready (daemon_ready), 1 if it dies first. */
static int daemonize(int *ready)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        char c;
        close(fds[1]);
        ssize_t n;
        do
            n = read(fds[0], &c, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 ? 0 : 1);
    }
    close(fds[0]);
    *ready = fds[1];
    if (setsid() < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    umask(022);
    if (chdir("/") != 0)
        return -1;
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return -1;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    return 0;
}

static void daemon_ready(int *ready)
{
    if (*ready < 0)
        return;
    ssize_t n = write(*ready, "", 1);
    (void)n;
    close(*ready);
    *ready = -1;
}

static int write_pid_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    ssize_t w = write(fd, buf, (size_t)n);
    close(fd);
    return w == n ? 0 : -1;
}

static void agent_free(struct agent *a)
{
    for (size_t i = 0; i < a->ninputs; i++) {
        ring_free(&a->inputs[i].ring);
        cap_source_close(&a->inputs[i].src);
    }
    for (size_t i = 0; i < a->ninst; i++)
        segment_free(&a->inst[i].seg);
    if (a->listen_fd >= 0)
        close(a->listen_fd);
    config_free(&a->cfg);
}

int main(int argc, char **argv)
{
    static struct agent a;
    char err[1024];
    struct timespec ts;

    a.listen_fd = -1;
    a.log_pipe[0] = a.log_pipe[1] = -1;
    parse_options(argc, argv, &a.opt);
    proc_title_init(argc, argv);
    struct agent_options *o = &a.opt;

    if (o->tls && (o->tls_cert == NULL || o->tls_key == NULL)) {
        fprintf(stderr, "you must specify --tls-key and --tls-cert to use --tls\n");
        return 1;
    }
    if (o->log_file != NULL) {
        if (log_init("pktvisord", LOG_TO_FILE, o->log_file, o->verbose) != 0) {
            fprintf(stderr, "Log init failed: %s: %s\n", o->log_file, strerror(errno));
            return 1;
        }
    } else {
        log_init("pktvisord", o->syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR, NULL, o->verbose);
    }
    log_info("pktvisor %s starting up", PKTVISOR_VERSION);
    if (o->tls) {
        /* Refuse a bad certificate or key now, and keep nothing of it: the
         * HTTP worker loads its own context before its privilege drop
         * (httpd_tls.h), and the other children never hold the key. */
        struct httpd_tls *tls = httpd_tls_new(o->tls_cert, o->tls_key, err, sizeof(err));
        if (tls == NULL) {
            log_warnx("%s", err);
            return 1;
        }
        httpd_tls_free(&tls);
    }

    a.cfg = config_new();
    if (a.cfg == NULL)
        fatalx("out of memory");
    if (o->config != NULL) {
        config_free(&a.cfg);
        if (config_load_file(o->config, CONFIG_FORMAT_AUTO, &a.cfg, err, sizeof(err)) != 0) {
            log_warnx("configuration error: %s", err);
            return 1;
        }
        if (a.cfg->verbose)
            log_set_verbose(true);
    }
    if (o->iface != NULL && config_add_default(a.cfg, o->iface, o->host_spec, o->bpf, o->periods,
                                               o->max_deep_sample, err, sizeof(err)) != 0) {
        log_warnx("configuration error: %s", err);
        return 1;
    }
    if (a.cfg->npolicies == 0 && !o->admin_api) {
        log_warnx("Nothing to do: specify --admin-api, --config or IFACE.");
        fprintf(stderr, "%s", usage_text);
        return 1;
    }
    for (int k = 0; k < 2; k++) {
        const char *path = k == 0 ? o->geo_city : o->geo_asn;
        if (path == NULL)
            continue;
        struct geo *g = geo_open(path, k == 0 ? GEO_CITY : GEO_ASN, err, sizeof(err));
        if (g == NULL) {
            log_warnx("Fatal error: %s", err);
            return 1;
        }
        geo_close(&g);
    }

    a.drop = geteuid() == 0;
    if (a.drop) {
        if (privsep_lookup_user(o->user, &a.user, err, sizeof(err)) != 0) {
            log_warnx("%s", err);
            return 1;
        }
        if (o->chroot[0] != '\0' && privsep_empty_root(o->chroot, err, sizeof(err)) != 0) {
            log_warnx("%s", err);
            return 1;
        }
        log_info("children run as %s (uid %ld)%s%s", a.user.name, (long)a.user.uid,
                 o->chroot[0] != '\0' ? " in " : "", o->chroot);
    } else {
        log_warnx("not started as root: the children keep uid %ld, without chroot; only "
                  "their system call filters confine them",
                  (long)geteuid());
    }

    if (sup_policies_build(&a, 0, false, err, sizeof(err)) != 0) {
        log_warnx("configuration error: %s", err);
        agent_free(&a);
        return 1;
    }
    a.listen_fd = listen_on(o->host, o->port, err, sizeof(err));
    if (a.listen_fd < 0) {
        log_warnx("%s", err);
        agent_free(&a);
        return 1;
    }
    if (pipe2(a.log_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_warn("pipe");
        agent_free(&a);
        return 1;
    }
    int ready = -1;
    if (o->daemonize && daemonize(&ready) != 0) {
        log_warn("failed to daemonize");
        return 1;
    }
    if (o->pid_file != NULL && write_pid_file(o->pid_file) != 0) {
        log_warn("cannot write the pid file %s", o->pid_file);
        agent_free(&a);
        return 1;
    }
    daemon_ready(&ready);
    clock_gettime(CLOCK_REALTIME, &ts);
    a.start_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    proc_title_set("pktvisord: supervisor");
    log_info("web server listening on %s:%u%s", o->host, (unsigned)o->port,
             o->tls ? " (HTTPS)" : "");

    int status = sup_run(&a);
    if (o->pid_file != NULL)
        unlink(o->pid_file);
    agent_free(&a);
    return status;
}
