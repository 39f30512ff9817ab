/*
 * httpd_server.h - the HTTP worker's server: libevent evhttp around
 * httpd_route().
 *
 * The server listens on HOST:PORT (-l/-p) or on a listening socket the
 * supervisor bound while privileged and handed over (DESIGN.md section 3),
 * and answers each request with httpd_route() over the configured source.
 *
 * Limits against hostile clients (libevent 2.1 has no connection cap and
 * only an inactivity timeout, so two of them are ours):
 * - request line + headers at most 8 KiB, body at most 64 KiB (evhttp
 *   answers 4xx and closes);
 * - inactivity 10 s (evhttp), and a deadline: each request must be
 *   complete within timeout_sec of the connection's accept or of its
 *   previous response, so a client dribbling one byte at a time (which
 *   resets an inactivity timer forever) is cut off too;
 * - at most max_connections connections: at the cap the listener stops
 *   accepting (new clients wait in the kernel backlog) until one closes;
 *   a connection accepted in the same accept batch beyond the cap is
 *   closed at once and counted as refused.
 *
 * How connections are counted: evhttp creates each connection's
 * bufferevent through our callback, where we take a reference on it; when
 * evhttp frees the connection it clears the bufferevent's callbacks, which
 * a sweep (every 100 ms and before each accept) notices, dropping our
 * reference and the count.  The sweep runs before evhttp registers a new
 * connection's socket, so a freed connection's events never linger on a
 * reused descriptor of a new connection; evhttp itself closes the socket
 * when it frees the connection, so clients see the close at once.
 * Constraint: nothing else in the process may register events on new
 * descriptors in this event base between sweeps (true in the HTTP worker,
 * whose other descriptors are opened before the server starts).
 *
 * HTTPS: with cfg->tls, each connection's bufferevent is an OpenSSL one
 * (httpd_tls.h) made in that same callback, so the counting, the cap, the
 * deadline (which covers the handshake) and the stop work alike.  It owns
 * its SSL object and its socket (BEV_OPT_CLOSE_ON_FREE: libevent frees the
 * SSL only then), so evhttp shuts the socket down for writing when it frees
 * the connection (the client sees the end at once) and the descriptor is
 * closed when the sweep drops our reference; it cannot be reused before,
 * which keeps the constraint above.  A failed handshake (a plain HTTP
 * client, say) is a connection error: closed, nothing answered.  Nothing
 * is ever answered in clear text on a TLS server: were an OpenSSL
 * bufferevent impossible to make (out of memory), the connection is
 * refused.
 *
 * Admin requests (httpd_api.h: res->admin) are handed to on_admin with
 * their body and answered later with httpd_server_answer(): the HTTP worker
 * asks the supervisor meanwhile.  A client that closes its connection first
 * just never gets the answer (the connection's close callback marks the
 * request dead; evhttp frees it).
 * Each request is logged as "REQUEST: <method> <path> <status>" (log_debug
 * for 2xx, log_info otherwise; the path escaped and cut at 200 bytes).
 *
 * Graceful stop: httpd_server_stop() closes the listening socket, answers
 * further requests on open connections with "Connection: close", and calls
 * the callback once every connection has closed or the grace period ran
 * out; the caller then frees the server (which closes what is left).
 *
 * Ownership: httpd_server_new() returns a server owned by the caller, freed
 * by httpd_server_free() (NULLs the pointer), which must run before the
 * event base is freed.  The source and the TLS context are borrowed and
 * must outlive the server.  A handed-over listening socket is adopted
 * (closed by the server).  One thread: the event base's.
 */
#ifndef PKTVISOR_HTTPD_SERVER_H
#define PKTVISOR_HTTPD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "httpd_api.h"

struct httpd_tls;

#define HTTPD_MAX_HEADERS_SIZE 8192
#define HTTPD_MAX_BODY_SIZE    65536
#define HTTPD_TIMEOUT_SEC      10
#define HTTPD_MAX_CONNECTIONS  1024

/* An admin request handed to on_admin, answered later (httpd_server_answer). */
struct httpd_pending;

/* route: the router's verdict (route->admin, route->admin_name); body: the
 * request body (len bytes, valid during the call only). */
typedef void (*httpd_admin_fn)(void *arg, struct httpd_pending *req,
                               const struct httpd_response *route, const char *body, size_t len);

struct httpd_server_config {
    const char *host;         /* -l; used when listen_fd < 0 */
    uint16_t port;            /* -p; 0 picks a free port (tests) */
    int listen_fd;            /* >= 0: a bound, listening socket to adopt */
    unsigned max_connections; /* 0: HTTPD_MAX_CONNECTIONS */
    int timeout_sec;          /* 0: HTTPD_TIMEOUT_SEC */
    const struct httpd_source *source;
    struct httpd_tls *tls;   /* HTTPS with this context (httpd_tls.h); NULL: HTTP */
    httpd_admin_fn on_admin; /* NULL: admin operations answer 404 */
    void *admin_arg;
};

struct httpd_server_stats {
    unsigned connections; /* open now */
    uint64_t accepted;
    uint64_t refused;   /* closed at accept: over the cap */
    uint64_t timed_out; /* cut off by the request deadline */
    uint64_t requests;
};

struct httpd_server;

/* NULL with a message in err ("unable to bind to HOST:PORT", ...). */
struct httpd_server *httpd_server_new(struct event_base *base,
                                      const struct httpd_server_config *cfg, char *err,
                                      size_t errlen);
/* The port the server listens on (the chosen one when port was 0). */
uint16_t httpd_server_port(const struct httpd_server *s);
void httpd_server_get_stats(const struct httpd_server *s, struct httpd_server_stats *out);
/* Stop accepting; done(arg) runs once when all connections have closed or
 * grace_sec has passed.  Calling it twice does nothing the second time. */
void httpd_server_stop(struct httpd_server *s, int grace_sec, void (*done)(void *arg), void *arg);
void httpd_server_free(struct httpd_server **s);

/* Answer a request handed to on_admin (body: len bytes, or NULL) and
 * release it; *req becomes NULL.  When the client has gone meanwhile, only
 * the release happens.  Pending requests of a freed server are released
 * unanswered. */
void httpd_server_answer(struct httpd_pending **req, int status, const char *content_type,
                         const char *body, size_t len);

#endif
