/*
 * The HTTP worker's server (httpd_server.h) over real loopback sockets.
 *
 * Each test forks a child that runs the server on a listening socket the
 * parent bound to 127.0.0.1 with an ephemeral port (the supervisor's
 * hand-over path); the parent speaks HTTP by hand and parses status line,
 * headers and body.  The bind path, its error and the graceful stop run in
 * the test process itself.  Only loopback.
 *
 * HTTPS: certificates and keys are made with OpenSSL's API in a temporary
 * directory; the client is OpenSSL's, verifying the server's certificate
 * against the one we made.  One TLS test runs the server in this process
 * and the clients in a child, so the sanitizers' leak check covers the
 * server's SSL objects and sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "handler.h"
#include "httpd_server.h"
#include "httpd_tls.h"

/* --- a one-policy source ------------------------------------------------ */

static struct handler *net;

static size_t s_policy_count(void *ctx)
{
    (void)ctx;
    return 1;
}

static const char *s_policy_name(void *ctx, size_t p)
{
    (void)ctx;
    (void)p;
    return "default";
}

static size_t s_instance_count(void *ctx, size_t p)
{
    (void)ctx;
    (void)p;
    return 1;
}

static int s_instance_get(void *ctx, size_t p, size_t i, struct httpd_instance *out)
{
    (void)ctx;
    (void)p;
    (void)i;
    out->name = net->name;
    out->schema_key = "packets";
    out->running = true;
    return 0;
}

static enum httpd_render_rc s_render(void *ctx, size_t p, size_t i, enum httpd_view view,
                                     uint64_t n, cJSON **out, char *err)
{
    (void)ctx;
    (void)p;
    (void)i;
    struct render_opts ro = {.now_sec = 100};
    return httpd_window_render(net->type->table, net->win, view, n, &ro, out, err);
}

static const struct httpd_source source = {
    .policy_count = s_policy_count,
    .policy_name = s_policy_name,
    .instance_count = s_instance_count,
    .instance_get = s_instance_get,
    .render = s_render,
};

/* --- the server in a child ---------------------------------------------- */

struct child {
    pid_t pid;
    uint16_t port;
};

static int listen_lo(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 512), 0);
    socklen_t sl = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static struct child live_child; /* reaped by the test teardown, even on failure */

/* tls: the server's context, made by the parent before the fork (NULL:
 * plain HTTP). */
static struct child spawn_tls(unsigned max_conns, int timeout_sec, struct httpd_tls *tls)
{
    struct child c;
    int fd = listen_lo(&c.port);
    c.pid = fork();
    assert_true(c.pid >= 0);
    if (c.pid == 0) {
        struct event_base *base = event_base_new();
        struct httpd_server_config cfg = {.listen_fd = fd,
                                          .max_connections = max_conns,
                                          .timeout_sec = timeout_sec,
                                          .source = &source,
                                          .tls = tls};
        char err[256];
        struct httpd_server *s = httpd_server_new(base, &cfg, err, sizeof(err));
        if (s == NULL) {
            fprintf(stderr, "child: %s\n", err);
            _exit(1);
        }
        event_base_dispatch(base);
        _exit(0);
    }
    close(fd);
    live_child = c;
    return c;
}

static struct child spawn(unsigned max_conns, int timeout_sec)
{
    return spawn_tls(max_conns, timeout_sec, NULL);
}

static void reap(struct child *c)
{
    int st;
    kill(c->pid, SIGTERM);
    assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
    live_child.pid = 0;
}

static int reap_teardown(void **state)
{
    (void)state;
    if (live_child.pid > 0)
        reap(&live_child);
    return 0;
}

/* --- a hand-written client ---------------------------------------------- */

static int connect_lo(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void send_all(int fd, const char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the server may close on us: the reply tells */
        b += w;
        n -= (size_t)w;
    }
}

struct http_reply {
    int status;
    char ctype[128];
    long clen; /* -1: no Content-Length */
    char *body;
    size_t body_len;
    char head[8192];
};

/* Parse a whole reply (buf: n bytes, room for a NUL; freed).  status 0:
 * no response at all. */
static struct http_reply parse_reply(char *buf, size_t n)
{
    struct http_reply r;
    memset(&r, 0, sizeof(r));
    r.clen = -1;
    buf[n] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end == NULL || sscanf(buf, "HTTP/1.%*d %d", &r.status) != 1) {
        free(buf);
        return r;
    }
    size_t hl = (size_t)(end - buf);
    snprintf(r.head, sizeof(r.head), "%.*s", (int)hl, buf);
    for (char *line = strstr(r.head, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        char *l = line + 2;
        if (strncasecmp(l, "Content-Type: ", 14) == 0)
            sscanf(l + 14, "%127[^\r]", r.ctype);
        if (strncasecmp(l, "Content-Length: ", 16) == 0)
            r.clen = strtol(l + 16, NULL, 10);
    }
    r.body_len = n - hl - 4;
    r.body = malloc(r.body_len + 1);
    memcpy(r.body, end + 4, r.body_len);
    r.body[r.body_len] = '\0';
    free(buf);
    return r;
}

/* Read to EOF and parse. */
static struct http_reply read_reply(int fd)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        ssize_t g = recv(fd, buf + n, cap - n, 0);
        if (g <= 0)
            break;
        n += (size_t)g;
    }
    return parse_reply(buf, n);
}

static struct http_reply request(uint16_t port, const char *method, const char *path)
{
    char req[2048];
    int fd = connect_lo(port);
    int n =
        snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                 method, path);
    send_all(fd, req, (size_t)n);
    struct http_reply r = read_reply(fd);
    close(fd);
    return r;
}

static void expect(uint16_t port, const char *method, const char *path, int status,
                   const char *ctype)
{
    struct http_reply r = request(port, method, path);
    if (r.status != status)
        fail_msg("%s %s: status %d, want %d", method, path, r.status, status);
    assert_string_equal(r.ctype, ctype);
    assert_int_equal(r.clen, (long)r.body_len);
    free(r.body);
}

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- tests -------------------------------------------------------------- */

static void test_routes(void **state)
{
    (void)state;
    struct child c = spawn(0, 0);
    struct http_reply r = request(c.port, "GET", "/api/v1/metrics/app");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_non_null(strstr(r.body, "\"version\":\"3.3.0\""));
    assert_int_equal(r.clen, (long)r.body_len);
    free(r.body);

    expect(c.port, "GET", "/api/v1/metrics/bucket/0", 200, "application/json");
    expect(c.port, "GET", "/api/v1/metrics/window/3", 200, "application/json");
    expect(c.port, "GET", "/api/v1/metrics/window/1", 500, "text/plain");
    expect(c.port, "GET", "/api/v1/policies", 200, "application/json");
    expect(c.port, "GET", "/api/v1/policies/default/metrics/bucket/0?x=1", 200, "application/json");
    expect(c.port, "GET", "/api/v1/policies/default/metrics/bucket/3", 425, "application/json");
    expect(c.port, "GET", "/api/v1/policies/nope", 404, "application/json");
    expect(c.port, "GET", "/api/v1/taps", 200, "application/json");
    expect(c.port, "GET", "/nope", 404, ""); /* empty body, no type */
    expect(c.port, "GET", "/api/v1/policies/%2e%2e/metrics/app", 404, "");
    expect(c.port, "POST", "/api/v1/policies", 404, "");
    expect(c.port, "DELETE", "/api/v1/policies/default", 404, "");
    expect(c.port, "OPTIONS", "/api/v1/metrics/app", 404, "");
    expect(c.port, "GET", "http://127.0.0.1/api/v1/metrics/app", 200, "application/json");

    /* HEAD: the GET's headers and length, no body. */
    struct http_reply g = request(c.port, "GET", "/api/v1/policies/default/metrics/window/2");
    struct http_reply h = request(c.port, "HEAD", "/api/v1/policies/default/metrics/window/2");
    assert_int_equal(h.status, 200);
    assert_string_equal(h.ctype, "application/json");
    assert_int_equal(h.clen, (long)g.body_len);
    assert_int_equal(h.body_len, 0);
    free(g.body);
    free(h.body);

    /* Two requests on one keep-alive connection. */
    int fd = connect_lo(c.port);
    const char *two = "GET /api/v1/metrics/rates HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /api/v1/metrics/app HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, two, strlen(two));
    r = read_reply(fd);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"warning\""));
    assert_non_null(strstr(r.body, "HTTP/1.1 200"));
    assert_non_null(strstr(r.body, "\"up_time_min\""));
    free(r.body);
    close(fd);

    /* Garbage is a 400 from evhttp, and the server goes on. */
    fd = connect_lo(c.port);
    send_all(fd, "\x01\x02 garbage\r\n\r\n", 14);
    r = read_reply(fd);
    assert_true(r.status == 0 || (r.status >= 400 && r.status < 500));
    free(r.body);
    close(fd);
    expect(c.port, "GET", "/api/v1/metrics/app", 200, "application/json");
    reap(&c);
}

static void test_limits(void **state)
{
    (void)state;
    struct child c = spawn(0, 0);
    /* Headers over 8 KiB: 4xx, and the next client is served. */
    size_t big = 9000;
    char *req = malloc(big + 256);
    assert_non_null(req);
    int n = snprintf(req, 256, "GET /api/v1/metrics/app HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', big);
    memcpy(req + n + big, "\r\n\r\n", 5);
    int fd = connect_lo(c.port);
    send_all(fd, req, strlen(req));
    struct http_reply r = read_reply(fd);
    close(fd);
    if (r.status < 400 || r.status >= 500)
        fail_msg("oversized headers: status %d", r.status);
    free(r.body);

    /* A request line over 8 KiB too. */
    snprintf(req, 256, "GET /");
    memset(req + 5, 'a', big);
    memcpy(req + 5 + big, " HTTP/1.1\r\nHost: x\r\n\r\n", 23);
    fd = connect_lo(c.port);
    send_all(fd, req, strlen(req));
    r = read_reply(fd);
    close(fd);
    assert_true(r.status == 0 || (r.status >= 400 && r.status < 500));
    free(r.body);

    /* A body over 64 KiB. */
    size_t body = 70000;
    char *post = malloc(body + 256);
    assert_non_null(post);
    n = snprintf(post, 256,
                 "POST /api/v1/policies HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", body);
    memset(post + n, 'y', body);
    fd = connect_lo(c.port);
    send_all(fd, post, (size_t)n + body);
    r = read_reply(fd);
    close(fd);
    assert_true(r.status == 0 || (r.status >= 400 && r.status < 500));
    assert_true(r.status != 0); /* evhttp answers 413 */
    free(r.body);
    free(post);
    free(req);

    expect(c.port, "GET", "/api/v1/metrics/app", 200, "application/json");

    /* 200 idle connections do not keep another client waiting. */
    int idle[200];
    for (int i = 0; i < 200; i++)
        idle[i] = connect_lo(c.port);
    int64_t t0 = ms_now();
    expect(c.port, "GET", "/api/v1/policies", 200, "application/json");
    assert_true(ms_now() - t0 < 2000);
    for (int i = 0; i < 200; i++)
        close(idle[i]);
    reap(&c);
}

/* A client sending a byte every 300 ms never trips an inactivity timer;
 * the request deadline (2 s here) cuts it off. */
static void test_slow_sender(void **state)
{
    (void)state;
    struct child c = spawn(0, 2);
    int fd = connect_lo(c.port);
    const char *req = "GET /api/v1/metrics/app HTTP/1.1\r\nX-Slow: ";
    send_all(fd, req, strlen(req));
    int64_t t0 = ms_now();
    bool closed = false;
    while (ms_now() - t0 < 6000) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 300) > 0) {
            /* EOF, a reset, or an error reply: cut off either way. */
            closed = true;
            break;
        }
        if (send(fd, "a", 1, MSG_NOSIGNAL) != 1) {
            closed = true;
            break;
        }
    }
    int64_t took = ms_now() - t0;
    close(fd);
    assert_true(closed);
    assert_true(took >= 1500 && took < 4500);
    expect(c.port, "GET", "/api/v1/metrics/app", 200, "application/json");
    reap(&c);
}

/* At the cap, the next client waits until a connection closes. */
static void test_connection_cap(void **state)
{
    (void)state;
    struct child c = spawn(5, 0);
    int idle[5];
    for (int i = 0; i < 5; i++)
        idle[i] = connect_lo(c.port);
    usleep(300000);              /* let the server accept them */
    int fd = connect_lo(c.port); /* queued in the backlog */
    const char *req = "GET /api/v1/metrics/app HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, req, strlen(req));
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 500), 0); /* not served */
    close(idle[0]);
    int64_t t0 = ms_now();
    struct http_reply r = read_reply(fd);
    assert_int_equal(r.status, 200);
    assert_true(ms_now() - t0 < 2000);
    free(r.body);
    close(fd);
    for (int i = 1; i < 5; i++)
        close(idle[i]);
    reap(&c);
}

static void stopped(void *arg)
{
    event_base_loopbreak(arg);
}

/* In process: bind by host and port, the bind error, a graceful stop. */
static void test_bind_and_stop(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct httpd_server_config cfg = {
        .host = "127.0.0.1", .port = 0, .listen_fd = -1, .source = &source};
    char err[256];
    struct httpd_server *s = httpd_server_new(base, &cfg, err, sizeof(err));
    assert_non_null(s);
    uint16_t port = httpd_server_port(s);
    assert_true(port != 0);

    cfg.port = port; /* taken */
    struct httpd_server *s2 = httpd_server_new(base, &cfg, err, sizeof(err));
    assert_null(s2);
    char want[64];
    snprintf(want, sizeof(want), "unable to bind to 127.0.0.1:%u", (unsigned)port);
    assert_string_equal(err, want);
    cfg.host = "256.1.1.1";
    assert_null(httpd_server_new(base, &cfg, err, sizeof(err)));

    /* An idle client holds the stop until the grace period (1 s) ends. */
    int fd = connect_lo(port);
    struct timeval tv = {0, 200000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    struct httpd_server_stats st;
    httpd_server_get_stats(s, &st);
    assert_int_equal(st.connections, 1);
    int64_t t0 = ms_now();
    httpd_server_stop(s, 1, stopped, base);
    httpd_server_stop(s, 1, stopped, base); /* no-op */
    event_base_dispatch(base);
    assert_true(ms_now() - t0 >= 900);
    /* No longer listening. */
    int c2 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(c2, (struct sockaddr *)&a, sizeof(a)), -1);
    close(c2);
    httpd_server_free(&s);
    assert_null(s);
    close(fd);
    event_base_free(base);
}

/* --- HTTPS -------------------------------------------------------------- */

enum { F_CERT, F_KEY, F_CERT2, F_KEY2, F_ECKEY, F_ENCKEY, F_CHAIN, F_BOTH, F_GARBAGE, F_N };
static const char *const tls_names[F_N] = {
    "cert.pem",    "key.pem",   "cert2.pem", "key2.pem",    "eckey.pem",
    "enc_key.pem", "chain.pem", "both.pem",  "garbage.pem",
};
static char tls_dir[64];
static char tls_file[F_N][128];

static EVP_PKEY *gen_key(int type)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(type, NULL);
    assert_non_null(c);
    assert_int_equal(EVP_PKEY_keygen_init(c), 1);
    if (type == EVP_PKEY_RSA)
        assert_true(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) > 0);
    else
        assert_true(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, NID_X9_62_prime256v1) > 0);
    assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
    EVP_PKEY_CTX_free(c);
    return k;
}

static void add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* What "openssl req -x509 -newkey ... -days 1 -subj /CN=localhost" makes. */
static X509 *self_signed(EVP_PKEY *k, long serial)
{
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    assert_int_equal(X509_set_pubkey(x, k), 1);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    assert_int_equal(X509_set_issuer_name(x, n), 1);
    add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    return x;
}

static void write_pem(int f, X509 *x, X509 *x2, EVP_PKEY *k, bool encrypt)
{
    FILE *fp = fopen(tls_file[f], "w");
    assert_non_null(fp);
    if (x != NULL)
        assert_int_equal(PEM_write_X509(fp, x), 1);
    if (x2 != NULL)
        assert_int_equal(PEM_write_X509(fp, x2), 1);
    if (k != NULL)
        assert_int_equal(PEM_write_PrivateKey(fp, k, encrypt ? EVP_aes_128_cbc() : NULL,
                                              encrypt ? (unsigned char *)"secret" : NULL,
                                              encrypt ? 6 : 0, NULL, NULL),
                         1);
    assert_int_equal(fclose(fp), 0);
}

static void make_tls_files(void)
{
    snprintf(tls_dir, sizeof(tls_dir), "/tmp/test_httpd_tls.XXXXXX");
    assert_non_null(mkdtemp(tls_dir));
    for (int i = 0; i < F_N; i++)
        snprintf(tls_file[i], sizeof(tls_file[i]), "%s/%s", tls_dir, tls_names[i]);
    EVP_PKEY *k = gen_key(EVP_PKEY_RSA), *k2 = gen_key(EVP_PKEY_RSA), *ec = gen_key(EVP_PKEY_EC);
    X509 *x = self_signed(k, 1), *x2 = self_signed(k2, 2);
    write_pem(F_CERT, x, NULL, NULL, false);
    write_pem(F_KEY, NULL, NULL, k, false);
    write_pem(F_CERT2, x2, NULL, NULL, false);
    write_pem(F_KEY2, NULL, NULL, k2, false);
    write_pem(F_ECKEY, NULL, NULL, ec, false);
    write_pem(F_ENCKEY, NULL, NULL, k, true);
    write_pem(F_CHAIN, x, x2, NULL, false);
    write_pem(F_BOTH, x, NULL, k, false);
    FILE *fp = fopen(tls_file[F_GARBAGE], "w");
    assert_non_null(fp);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", fp);
    fclose(fp);
    X509_free(x);
    X509_free(x2);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(ec);
}

static void remove_tls_files(void)
{
    if (tls_dir[0] == '\0')
        return;
    for (int i = 0; i < F_N; i++)
        unlink(tls_file[i]);
    rmdir(tls_dir);
}

/* A client context trusting ca_file; max_version 0: OpenSSL's range. */
static SSL_CTX *client_ctx(const char *ca_file, int max_version)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    assert_non_null(c);
    assert_int_equal(SSL_CTX_load_verify_locations(c, ca_file, NULL), 1);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    if (max_version != 0) {
        SSL_CTX_set_security_level(c, 0); /* let it offer the old version */
        SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
        SSL_CTX_set_max_proto_version(c, max_version);
    }
    return c;
}

struct tls_result {
    int rc; /* 0, or -1: connect or handshake failed (why says) */
    char why[256];
    int version; /* negotiated protocol */
    struct http_reply reply;
};

/* One HTTPS connection: handshake (verifying "localhost"), send req, read
 * to EOF.  No cmocka asserts: a forked child runs it too. */
static struct tls_result https_exchange(SSL_CTX *ctx, uint16_t port, const char *req)
{
    struct tls_result t;
    memset(&t, 0, sizeof(t));
    t.rc = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        snprintf(t.why, sizeof(t.why), "connect: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return t;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    ERR_clear_error();
    if (SSL_connect(ssl) != 1) {
        unsigned long e = ERR_get_error();
        snprintf(t.why, sizeof(t.why), "handshake: %s (verify: %s)",
                 e != 0 ? ERR_reason_error_string(e) : "no error queued",
                 X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
        ERR_clear_error();
        goto out;
    }
    t.version = SSL_version(ssl);
    if (req != NULL && SSL_write(ssl, req, (int)strlen(req)) != (int)strlen(req)) {
        snprintf(t.why, sizeof(t.why), "SSL_write failed");
        goto out;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (; buf != NULL;) {
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (nb == NULL)
                break;
            buf = nb;
        }
        int g = SSL_read(ssl, buf + n, (int)(cap - n));
        if (g <= 0)
            break; /* EOF, with or without close_notify */
        n += (size_t)g;
    }
    ERR_clear_error();
    if (buf == NULL) {
        snprintf(t.why, sizeof(t.why), "out of memory");
        goto out;
    }
    t.reply = parse_reply(buf, n);
    t.rc = 0;
out:
    SSL_free(ssl);
    close(fd);
    return t;
}

#define GET_APP "GET /api/v1/metrics/app HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"

static void test_tls_config(void **state)
{
    (void)state;
    char err[512];
    struct httpd_tls *t = httpd_tls_new(tls_file[F_CERT], tls_file[F_KEY], err, sizeof(err));
    assert_non_null(t);
    httpd_tls_free(&t);
    assert_null(t);
    httpd_tls_free(&t); /* no-op */

    /* A chain after the certificate; one file holding certificate and key. */
    t = httpd_tls_new(tls_file[F_CHAIN], tls_file[F_KEY], err, sizeof(err));
    assert_non_null(t);
    httpd_tls_free(&t);
    t = httpd_tls_new(tls_file[F_BOTH], tls_file[F_BOTH], err, sizeof(err));
    assert_non_null(t);
    httpd_tls_free(&t);

    static const struct {
        int cert, key;
        const char *want; /* after the prefix */
    } bad[] = {
        {F_CERT, F_KEY2, "does not match"},             /* another RSA key */
        {F_CERT, F_ECKEY, "does not match"},            /* another type of key */
        {F_CERT, F_ENCKEY, "private key is encrypted"}, /* encrypted: refused, no prompt */
        {F_KEY, F_KEY, "no PEM certificate"},           /* a key as the certificate */
        {F_CERT, F_CERT, "no PEM private key"},         /* a certificate as the key */
        {F_GARBAGE, F_KEY, "no PEM certificate"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        t = httpd_tls_new(tls_file[bad[i].cert], tls_file[bad[i].key], err, sizeof(err));
        if (t != NULL)
            fail_msg("%s + %s accepted", tls_names[bad[i].cert], tls_names[bad[i].key]);
        if (strncmp(err, "invalid TLS configuration: ", 27) != 0 ||
            strstr(err, bad[i].want) == NULL)
            fail_msg("%s + %s: \"%s\"", tls_names[bad[i].cert], tls_names[bad[i].key], err);
    }

    /* Files that are not there or not files. */
    char want[256];
    assert_null(httpd_tls_new("/nonexistent/cert.pem", tls_file[F_KEY], err, sizeof(err)));
    assert_string_equal(
        err, "invalid TLS configuration: /nonexistent/cert.pem: No such file or directory");
    assert_null(httpd_tls_new(tls_file[F_CERT], "/nonexistent/key.pem", err, sizeof(err)));
    assert_string_equal(
        err, "invalid TLS configuration: /nonexistent/key.pem: No such file or directory");
    assert_null(httpd_tls_new(tls_dir, tls_file[F_KEY], err, sizeof(err)));
    snprintf(want, sizeof(want), "invalid TLS configuration: %s: not a regular file", tls_dir);
    assert_memory_equal(err, want, strlen(want));
    assert_null(httpd_tls_new(NULL, tls_file[F_KEY], err, sizeof(err)));
    assert_memory_equal(err, "invalid TLS configuration: ", 27);
}

/* The server in a child; clients here. */
static void test_tls_serve(void **state)
{
    (void)state;
    char err[512];
    struct httpd_tls *tls = httpd_tls_new(tls_file[F_CERT], tls_file[F_KEY], err, sizeof(err));
    assert_non_null(tls);
    struct child c = spawn_tls(0, 2, tls);
    httpd_tls_free(&tls); /* the child has its copy */
    SSL_CTX *cli = client_ctx(tls_file[F_CERT], 0);

    struct tls_result t = https_exchange(cli, c.port, GET_APP);
    if (t.rc != 0)
        fail_msg("%s", t.why);
    assert_true(t.version >= TLS1_2_VERSION);
    assert_int_equal(t.reply.status, 200);
    assert_string_equal(t.reply.ctype, "application/json");
    assert_int_equal(t.reply.clen, (long)t.reply.body_len);
    assert_non_null(strstr(t.reply.body, "\"version\":\"3.3.0\""));
    free(t.reply.body);

    /* Two requests on one TLS connection. */
    t = https_exchange(cli, c.port,
                       "GET /api/v1/metrics/rates HTTP/1.1\r\nHost: x\r\n\r\n" GET_APP);
    assert_int_equal(t.rc, 0);
    assert_int_equal(t.reply.status, 200);
    assert_non_null(strstr(t.reply.body, "HTTP/1.1 200"));
    assert_non_null(strstr(t.reply.body, "\"up_time_min\""));
    free(t.reply.body);

    /* A client that does not trust the certificate, and one that offers
     * TLS 1.1 at most, fail the handshake. */
    SSL_CTX *other = client_ctx(tls_file[F_CERT2], 0);
    t = https_exchange(other, c.port, GET_APP);
    assert_int_equal(t.rc, -1);
    assert_non_null(strstr(t.why, "verify"));
    SSL_CTX_free(other);
    SSL_CTX *old = client_ctx(tls_file[F_CERT], TLS1_1_VERSION);
    t = https_exchange(old, c.port, GET_APP);
    assert_int_equal(t.rc, -1);
    SSL_CTX_free(old);

    /* Plain HTTP: no HTTP answer, closed at once (not at the deadline). */
    int64_t t0 = ms_now();
    struct http_reply r = request(c.port, "GET", "/api/v1/metrics/app");
    assert_int_equal(r.status, 0);
    assert_true(ms_now() - t0 < 1500);
    free(r.body);

    /* A client dribbling a ClientHello is cut off by the deadline (2 s). */
    int fd = connect_lo(c.port);
    send_all(fd, "\x16\x03\x01\x02\x00\x01", 6); /* a record of 512 bytes follows */
    t0 = ms_now();
    bool closed = false;
    while (ms_now() - t0 < 6000) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 300) > 0 || send(fd, "\x00", 1, MSG_NOSIGNAL) != 1) {
            closed = true;
            break;
        }
    }
    int64_t took = ms_now() - t0;
    close(fd);
    assert_true(closed);
    if (took < 1500 || took >= 4500)
        fail_msg("cut off after %lld ms", (long long)took);

    /* And the server goes on. */
    t = https_exchange(cli, c.port, GET_APP);
    assert_int_equal(t.rc, 0);
    assert_int_equal(t.reply.status, 200);
    free(t.reply.body);
    SSL_CTX_free(cli);
    reap(&c);
}

struct waiter {
    pid_t pid;
    int status;
    int64_t give_up_ms;
    struct event_base *base;
};

static void wait_cb(evutil_socket_t fd, short what, void *arg)
{
    struct waiter *w = arg;
    (void)fd;
    (void)what;
    if (waitpid(w->pid, &w->status, WNOHANG) == w->pid) {
        w->pid = 0;
        event_base_loopbreak(w->base);
    } else if (ms_now() > w->give_up_ms) {
        event_base_loopbreak(w->base);
    }
}

/* The clients of the in-process test: 3 HTTPS requests, plain HTTP, a
 * connection closed without a word.  The exit status names the step that
 * failed. */
static int tls_clients(uint16_t port)
{
    SSL_CTX *cli = SSL_CTX_new(TLS_client_method());
    if (cli == NULL || SSL_CTX_load_verify_locations(cli, tls_file[F_CERT], NULL) != 1)
        return 10;
    SSL_CTX_set_verify(cli, SSL_VERIFY_PEER, NULL);
    for (int i = 0; i < 3; i++) {
        struct tls_result t = https_exchange(cli, port, GET_APP);
        if (t.rc != 0 || t.reply.status != 200) {
            fprintf(stderr, "client: HTTPS %d: %s, status %d\n", i, t.why, t.reply.status);
            return 11 + i;
        }
        free(t.reply.body);
    }
    SSL_CTX_free(cli);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return 20;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const char *req = GET_APP;
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
        return 21;
    char buf[4096], first[8] = "";
    ssize_t n, total = 0;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        if (total == 0)
            snprintf(first, sizeof(first), "%.*s", (int)n, buf);
        total += n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 22; /* not closed */
    if (strncmp(first, "HTTP/", 5) == 0)
        return 23; /* answered in clear text */
    close(fd);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return 24;
    close(fd);
    return 0;
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

/* The server in this process: every SSL object and socket of the server
 * is released (the sanitizer build checks for leaks, we count
 * descriptors). */
static void test_tls_in_process(void **state)
{
    (void)state;
    char err[512];
    int fds = open_fds();
    struct httpd_tls *tls = httpd_tls_new(tls_file[F_CERT], tls_file[F_KEY], err, sizeof(err));
    assert_non_null(tls);
    struct event_base *base = event_base_new();
    assert_non_null(base);
    struct httpd_server_config cfg = {
        .host = "127.0.0.1", .port = 0, .listen_fd = -1, .source = &source, .tls = tls};
    struct httpd_server *s = httpd_server_new(base, &cfg, err, sizeof(err));
    assert_non_null(s);
    uint16_t port = httpd_server_port(s);

    struct waiter w = {.base = base, .give_up_ms = ms_now() + 20000};
    w.pid = fork();
    assert_true(w.pid >= 0);
    if (w.pid == 0)
        _exit(tls_clients(port));
    struct event *ev = event_new(base, -1, EV_PERSIST, wait_cb, &w);
    struct timeval tick = {0, 20000};
    event_add(ev, &tick);
    event_base_dispatch(base);
    if (w.pid != 0) {
        kill(w.pid, SIGKILL);
        waitpid(w.pid, &w.status, 0);
        fail_msg("the clients did not finish");
    }
    assert_true(WIFEXITED(w.status));
    assert_int_equal(WEXITSTATUS(w.status), 0);

    /* Every connection is released by the sweeps. */
    struct httpd_server_stats st;
    for (int i = 0; i < 50; i++) {
        struct timeval tv = {0, 100000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
        httpd_server_get_stats(s, &st);
        if (st.connections == 0)
            break;
    }
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.accepted, 5);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.refused, 0);

    event_free(ev);
    httpd_server_stop(s, 1, stopped, base);
    event_base_dispatch(base);
    httpd_server_free(&s);
    httpd_tls_free(&tls);
    event_base_free(base);
    assert_int_equal(open_fds(), fds);
}

static int setup(void **state)
{
    (void)state;
    struct handler_config cfg = {.num_periods = 3, .deep_sample_rate = 100};
    char err[256];
    net = handler_new(&handler_net, "default-net", &cfg, err, sizeof(err));
    assert_non_null(net);
    struct packet p;
    memset(&p, 0, sizeof(p));
    p.ts_sec = 90;
    handler_feed(net, &p);
    signal(SIGPIPE, SIG_IGN);
    make_tls_files();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    handler_free(&net);
    remove_tls_files();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_routes, reap_teardown),
        cmocka_unit_test_teardown(test_limits, reap_teardown),
        cmocka_unit_test_teardown(test_slow_sender, reap_teardown),
        cmocka_unit_test_teardown(test_connection_cap, reap_teardown),
        cmocka_unit_test(test_bind_and_stop),
        cmocka_unit_test(test_tls_config),
        cmocka_unit_test_teardown(test_tls_serve, reap_teardown),
        cmocka_unit_test(test_tls_in_process),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
