/*
 * httpd_tls.h - HTTPS for the HTTP worker (--tls, SPEC 1.1): an OpenSSL
 * server context loaded from a PEM certificate (chain) and private key, and
 * the OpenSSL bufferevents that httpd_server wraps each accepted
 * connection in.
 *
 * Policy: TLS 1.2 minimum, TLS 1.2 limited to ECDHE key exchange with AEAD
 * ciphers (TLS 1.3 suites are OpenSSL's defaults), no renegotiation, no
 * compression.  The key must match the certificate; an encrypted key is
 * refused (nobody is there to type a passphrase) instead of prompting.
 * The files are read once, by httpd_tls_new(); the buffer that held the
 * key is wiped.
 *
 * Who loads it in pktvisord: the supervisor (root, before any fork) calls
 * httpd_tls_new() only to refuse a bad configuration at start, then frees
 * it; the HTTP worker loads its own context after fork and before its
 * privilege drop (after it, chrooted and unprivileged, it cannot read the
 * files).  So the private key is in the HTTP worker's memory only, never
 * in the capture or aggregator processes that parse hostile packets, and a
 * respawned worker reads the current files.
 *
 * Ownership: httpd_tls_new() returns a context owned by the caller, freed
 * by httpd_tls_free() (NULLs the pointer).  A server borrows it
 * (httpd_server_config.tls): it must outlive the server.  Each bufferevent
 * from httpd_tls_bufferevent_new() owns its SSL object and its socket
 * (BEV_OPT_CLOSE_ON_FREE): both go when the last reference to the
 * bufferevent goes.  One thread.
 */
#ifndef PKTVISOR_HTTPD_TLS_H
#define PKTVISOR_HTTPD_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

/* Bigger files are refused (a certificate chain is a few KiB). */
#define HTTPD_TLS_MAX_FILE (1024 * 1024)

struct httpd_tls;

/* NULL with "invalid TLS configuration: <reason>" in err. */
struct httpd_tls *httpd_tls_new(const char *cert_file, const char *key_file, char *err,
                                size_t errlen);
void httpd_tls_free(struct httpd_tls **t);

/* A server-side (accepting) OpenSSL bufferevent without a socket yet
 * (evhttp sets it); NULL when out of memory. */
struct bufferevent *httpd_tls_bufferevent_new(struct httpd_tls *t, struct event_base *base);
/* Whether bev is one of those (an OpenSSL bufferevent). */
bool httpd_tls_bufferevent_is_tls(struct bufferevent *bev);

#endif
