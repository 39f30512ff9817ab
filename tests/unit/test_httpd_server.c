/*
 * The HTTP worker's server (httpd_server.h) over real loopback sockets.
 *
 * Each test forks a child that runs the server on a listening socket the
 * parent bound to 127.0.0.1 with an ephemeral port (the supervisor's
 * hand-over path); the parent speaks HTTP by hand and parses status line,
 * headers and body.  The bind path, its error and the graceful stop run in
 * the test process itself.  Only loopback.
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
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handler.h"
#include "httpd_server.h"

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

static struct child spawn(unsigned max_conns, int timeout_sec)
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
                                          .source = &source};
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

/* Read to EOF and parse.  status 0: no response at all. */
static struct http_reply read_reply(int fd)
{
    struct http_reply r;
    memset(&r, 0, sizeof(r));
    r.clen = -1;
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
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    handler_free(&net);
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
