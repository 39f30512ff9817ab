/*
 * httpd_server.c - evhttp around httpd_route(), with the connection cap and
 * request deadline libevent 2.1 lacks (see httpd_server.h for how
 * connections are counted), over TLS when configured (httpd_tls.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "httpd_server.h"
#include "httpd_tls.h"
#include "log.h"

#define SWEEP_MS 100
/* Room for connections accepted in one batch after the cap was reached. */
#define CAP_SLACK 128

struct conn {
    struct bufferevent *bev; /* we hold a reference */
    int64_t deadline_ms;     /* the current request must be complete by then */
};

struct httpd_server {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound; /* NULL once stopped */
    struct event *sweep_ev;
    const struct httpd_source *src;
    struct httpd_tls *tls; /* borrowed; NULL: plain HTTP */
    struct conn *conns;
    unsigned nconns, max_conns, cap_slots;
    int timeout_sec;
    uint16_t port;
    bool paused;   /* listener disabled at the cap */
    bool stopping; /* httpd_server_stop() was called */
    bool stop_reported;
    int64_t stop_deadline_ms;
    void (*stop_done)(void *arg);
    void *stop_arg;
    struct httpd_server_stats stats;
    httpd_admin_fn on_admin;
    void *admin_arg;
    struct httpd_pending *pending; /* admin requests not answered yet */
};

struct httpd_pending {
    struct httpd_server *s;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    enum evhttp_cmd_type cmd;
    bool dead; /* the client went away: evhttp freed req */
    struct httpd_pending *next;
    char method[16];
    char path[256];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* evhttp clears every callback of a connection's bufferevent only when it
 * frees the connection (while it writes, only the read callback is
 * cleared). */
static bool conn_freed(struct bufferevent *bev)
{
    bufferevent_data_cb r, w;
    bufferevent_event_cb e;
    void *arg;
    bufferevent_getcb(bev, &r, &w, &e, &arg);
    return r == NULL && w == NULL && e == NULL;
}

static void set_listening(struct httpd_server *s, bool on)
{
    if (s->bound == NULL || s->paused == !on)
        return;
    struct evconnlistener *l = evhttp_bound_socket_get_listener(s->bound);
    if (on)
        evconnlistener_enable(l);
    else
        evconnlistener_disable(l);
    s->paused = !on;
}

/* Drop our reference to connections evhttp has freed; resume accepting
 * below the cap. */
static void reclaim(struct httpd_server *s)
{
    for (unsigned i = 0; i < s->nconns; i++) {
        struct conn *c = &s->conns[i];
        if (conn_freed(c->bev)) {
            bufferevent_disable(c->bev, EV_READ | EV_WRITE);
            bufferevent_decref(c->bev);
            s->conns[i--] = s->conns[--s->nconns];
        }
    }
    if (!s->stopping && s->nconns < s->max_conns)
        set_listening(s, true);
}

static void sweep(struct httpd_server *s)
{
    int64_t now = now_ms();
    for (unsigned i = 0; i < s->nconns; i++) {
        struct conn *c = &s->conns[i];
        if (!conn_freed(c->bev) && now >= c->deadline_ms) {
            /* evhttp handles this as its own timeout: the connection is
             * freed right away, inside this call.  Deadline 0 marks a
             * connection refused at accept. */
            if (c->deadline_ms != 0)
                s->stats.timed_out++;
            bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
        }
    }
    reclaim(s);
    if (s->stopping && !s->stop_reported && (s->nconns == 0 || now >= s->stop_deadline_ms)) {
        s->stop_reported = true;
        if (s->stop_done != NULL)
            s->stop_done(s->stop_arg);
    }
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sweep(arg);
}

/* evhttp asks us for each new connection's bufferevent. */
static struct bufferevent *new_conn_cb(struct event_base *base, void *arg)
{
    struct httpd_server *s = arg;
    /* Before evhttp registers the new socket (see httpd_server.h); no
     * deadline work here, evhttp is midway through an accept. */
    reclaim(s);
    /* Plain: no BEV_OPT_CLOSE_ON_FREE, so evhttp closes the socket itself
     * when it frees the connection, not when our reference goes.  TLS:
     * the bufferevent owns its SSL and socket (httpd_server.h). */
    struct bufferevent *bev = NULL;
    bool tls_failed = false;
    if (s->tls != NULL) {
        bev = httpd_tls_bufferevent_new(s->tls, base);
        tls_failed = bev == NULL;
    }
    if (bev == NULL)
        bev = bufferevent_socket_new(base, -1, 0);
    if (bev == NULL)
        return NULL; /* evhttp makes its own: uncounted; with TLS refused by request_cb */
    s->stats.accepted++;
    if (s->nconns >= s->cap_slots)
        return bev; /* uncounted: only if the accept batch outran the slack */
    bufferevent_incref(bev);
    struct conn *c = &s->conns[s->nconns++];
    c->bev = bev;
    c->deadline_ms = now_ms() + (int64_t)s->timeout_sec * 1000;
    if (s->nconns > s->max_conns || s->stopping || tls_failed) {
        /* Over the cap, stopping, or plain on a TLS server: closed at the
         * next sweep. */
        c->deadline_ms = 0;
        s->stats.refused++;
        event_active(s->sweep_ev, EV_TIMEOUT, 0);
    }
    if (s->nconns >= s->max_conns)
        set_listening(s, false);
    return bev;
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "UNKNOWN";
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 404:
        return "Not Found";
    case 425:
        return "Too Early";
    case 500:
        return "Internal Server Error";
    default:
        return NULL; /* evhttp's phrase */
    }
}

/* The path for the log line: printable ASCII, the rest escaped, cut. */
static void log_path(const char *in, char *out, size_t outsz)
{
    size_t o = 0;
    for (; *in != '\0' && o + 5 < outsz; in++) {
        unsigned char c = (unsigned char)*in;
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
    }
    if (*in != '\0' && o + 4 < outsz)
        o += (size_t)snprintf(out + o, outsz - o, "...");
    out[o] = '\0';
}

static void send_response(struct httpd_server *s, struct evhttp_request *req,
                          enum evhttp_cmd_type cmd, const char *method, const char *path,
                          int status, const char *content_type, const char *data, size_t len)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *body = NULL;
    char clen[32];
    if (content_type != NULL)
        evhttp_add_header(h, "Content-Type", content_type);
    if (s->stopping)
        evhttp_add_header(h, "Connection", "close");
    if (cmd == EVHTTP_REQ_HEAD) {
        /* evhttp sends no body for HEAD; the length is the GET's. */
        snprintf(clen, sizeof(clen), "%zu", len);
        evhttp_add_header(h, "Content-Length", clen);
    } else if (len > 0 && (body = evbuffer_new()) != NULL && evbuffer_add(body, data, len) != 0) {
        evbuffer_free(body);
        body = NULL;
        status = 500;
    }
    /* No Nagle: evhttp writes a large body in 16 KiB pieces, and the last
     * one would wait for the client's delayed ACK (40 ms per scrape). */
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    int one = 1;
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    evhttp_send_reply(req, status, reason(status), body);
    if (body != NULL)
        evbuffer_free(body);

    /* The deadline restarts for the connection's next request. */
    for (unsigned i = 0; bev != NULL && i < s->nconns; i++)
        if (s->conns[i].bev == bev && s->conns[i].deadline_ms != 0)
            s->conns[i].deadline_ms = now_ms() + (int64_t)s->timeout_sec * 1000;

    char p[256];
    log_path(path, p, sizeof(p));
    if (status >= 200 && status < 300)
        log_debug("REQUEST: %s %s %d", method, p, status);
    else
        log_info("REQUEST: %s %s %d", method, p, status);
}

/* A pending request's client went away: evhttp frees the request. */
static void pending_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct httpd_server *s = arg;
    for (struct httpd_pending *p = s->pending; p != NULL; p = p->next)
        if (p->evcon == evcon)
            p->dead = true;
}

static void hand_over(struct httpd_server *s, struct evhttp_request *req, enum evhttp_cmd_type cmd,
                      const char *method, const char *path, const struct httpd_response *route)
{
    struct httpd_pending *p = s->on_admin != NULL ? calloc(1, sizeof(*p)) : NULL;
    if (p == NULL) {
        send_response(s, req, cmd, method, path, s->on_admin != NULL ? 500 : 404, NULL, NULL, 0);
        return;
    }
    p->s = s;
    p->req = req;
    p->cmd = cmd;
    p->evcon = evhttp_request_get_connection(req);
    snprintf(p->method, sizeof(p->method), "%s", method);
    snprintf(p->path, sizeof(p->path), "%s", path);
    p->next = s->pending;
    s->pending = p;
    if (p->evcon != NULL)
        evhttp_connection_set_closecb(p->evcon, pending_conn_closed, s);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    s->on_admin(s->admin_arg, p, route, body != NULL ? body : "", body != NULL ? len : 0);
}

void httpd_server_answer(struct httpd_pending **pp, int status, const char *content_type,
                         const char *body, size_t len)
{
    struct httpd_pending *p = *pp;
    if (p == NULL)
        return;
    *pp = NULL;
    struct httpd_server *s = p->s;
    for (struct httpd_pending **q = &s->pending; *q != NULL; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            break;
        }
    if (!p->dead) {
        if (p->evcon != NULL)
            evhttp_connection_set_closecb(p->evcon, NULL, NULL);
        send_response(s, p->req, p->cmd, p->method, p->path, status, content_type, body, len);
    }
    free(p);
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    struct httpd_server *s = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *method = method_name(cmd);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    struct httpd_response res;

    s->stats.requests++;
    /* With TLS, nothing is answered in clear text: a connection whose TLS
     * bufferevent could not be made (out of memory) is refused. */
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    if (s->tls != NULL && (bev == NULL || !httpd_tls_bufferevent_is_tls(bev))) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        evhttp_send_reply(req, 503, "Service Unavailable", NULL);
        log_warnx("REQUEST: %s refused: no TLS on the connection", method);
        return;
    }
    struct httpd_request_info info = {
        .content_type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type"),
    };
    httpd_route_request(s->src, method, path != NULL ? path : "", query, &info, &res);
    if (res.admin != HTTPD_ADMIN_NONE) {
        hand_over(s, req, cmd, method, path != NULL ? path : "", &res);
        return;
    }
    send_response(s, req, cmd, method, path != NULL ? path : "", res.status, res.content_type,
                  res.body, res.body_len);
    httpd_response_free(&res);
}

static uint16_t local_port(evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

struct httpd_server *httpd_server_new(struct event_base *base,
                                      const struct httpd_server_config *cfg, char *err,
                                      size_t errlen)
{
    struct httpd_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        if (cfg->listen_fd >= 0)
            close(cfg->listen_fd);
        return NULL;
    }
    s->base = base;
    s->src = cfg->source;
    s->on_admin = cfg->on_admin;
    s->admin_arg = cfg->admin_arg;
    s->tls = cfg->tls;
    s->max_conns = cfg->max_connections > 0 ? cfg->max_connections : HTTPD_MAX_CONNECTIONS;
    s->cap_slots = s->max_conns + CAP_SLACK;
    s->timeout_sec = cfg->timeout_sec > 0 ? cfg->timeout_sec : HTTPD_TIMEOUT_SEC;
    s->conns = calloc(s->cap_slots, sizeof(*s->conns));
    s->http = evhttp_new(base);
    s->sweep_ev = event_new(base, -1, EV_PERSIST, sweep_cb, s);
    if (s->conns == NULL || s->http == NULL || s->sweep_ev == NULL) {
        snprintf(err, errlen, "out of memory");
        if (cfg->listen_fd >= 0)
            close(cfg->listen_fd);
        goto fail;
    }
    evhttp_set_max_headers_size(s->http, HTTPD_MAX_HEADERS_SIZE);
    evhttp_set_max_body_size(s->http, HTTPD_MAX_BODY_SIZE);
    evhttp_set_timeout(s->http, s->timeout_sec);
    evhttp_set_default_content_type(s->http, NULL); /* no type on an empty 404 */
    /* Every method reaches the router, which answers 404 (httpd_api.h). */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_bevcb(s->http, new_conn_cb, s);
    evhttp_set_gencb(s->http, request_cb, s);

    if (cfg->listen_fd >= 0) {
        evutil_make_socket_nonblocking(cfg->listen_fd);
        s->bound = evhttp_accept_socket_with_handle(s->http, cfg->listen_fd);
        if (s->bound == NULL) {
            snprintf(err, errlen, "unable to listen on the socket handed over: %s",
                     strerror(errno));
            close(cfg->listen_fd);
            goto fail;
        }
    } else {
        const char *host = cfg->host != NULL ? cfg->host : "localhost";
        s->bound = evhttp_bind_socket_with_handle(s->http, host, cfg->port);
        if (s->bound == NULL) {
            snprintf(err, errlen, "unable to bind to %s:%u", host, (unsigned)cfg->port);
            goto fail;
        }
    }
    s->port = local_port(evhttp_bound_socket_get_fd(s->bound));
    struct timeval tv = {0, SWEEP_MS * 1000};
    event_add(s->sweep_ev, &tv);
    return s;
fail:
    httpd_server_free(&s);
    return NULL;
}

uint16_t httpd_server_port(const struct httpd_server *s)
{
    return s->port;
}

void httpd_server_get_stats(const struct httpd_server *s, struct httpd_server_stats *out)
{
    *out = s->stats;
    out->connections = s->nconns;
}

void httpd_server_stop(struct httpd_server *s, int grace_sec, void (*done)(void *arg), void *arg)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->stop_done = done;
    s->stop_arg = arg;
    s->stop_deadline_ms = now_ms() + (int64_t)grace_sec * 1000;
    if (s->bound != NULL) {
        evhttp_del_accept_socket(s->http, s->bound); /* closes the listening socket */
        s->bound = NULL;
    }
    event_active(s->sweep_ev, EV_TIMEOUT, 0);
}

void httpd_server_free(struct httpd_server **sp)
{
    struct httpd_server *s = *sp;
    if (s == NULL)
        return;
    if (s->sweep_ev != NULL)
        event_free(s->sweep_ev);
    if (s->http != NULL)
        evhttp_free(s->http); /* frees every connection (and pending request) */
    while (s->pending != NULL) {
        struct httpd_pending *p = s->pending;
        s->pending = p->next;
        free(p);
    }
    for (unsigned i = 0; i < s->nconns; i++) {
        bufferevent_disable(s->conns[i].bev, EV_READ | EV_WRITE);
        bufferevent_decref(s->conns[i].bev);
    }
    free(s->conns);
    free(s);
    *sp = NULL;
}
