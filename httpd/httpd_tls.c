/*
 * httpd_tls.c - the OpenSSL server context and bufferevents of --tls (see
 * httpd_tls.h).  Every OpenSSL call of the HTTP server is here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "httpd_tls.h"

#define PREFIX "invalid TLS configuration: "

/* TLS 1.2 only: forward secrecy and AEAD (Mozilla's "intermediate" minus
 * finite-field DHE, which would need parameters). */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"

struct httpd_tls {
    SSL_CTX *ctx;
};

/* The earliest queued OpenSSL error, as text; clears the queue. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0)
        return "unknown error";
    const char *r = ERR_reason_error_string(e);
    if (r != NULL)
        return r;
    ERR_error_string_n(e, buf, len);
    return buf;
}

/* Never prompt for a passphrase: an encrypted key fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* A whole regular file of at most HTTPD_TLS_MAX_FILE bytes, NUL-ended. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, PREFIX "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, PREFIX "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > HTTPD_TLS_MAX_FILE) {
        snprintf(err, errlen, PREFIX "%s: not a regular file of at most %d bytes", path,
                 HTTPD_TLS_MAX_FILE);
        goto out;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    buf = malloc(cap + 1);
    if (buf == NULL) {
        snprintf(err, errlen, PREFIX "%s: out of memory", path);
        goto out;
    }
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, PREFIX "%s: %s", path, strerror(errno));
            OPENSSL_cleanse(buf, cap);
            free(buf);
            buf = NULL;
            goto out;
        }
        if (r == 0)
            break; /* shrank meanwhile: what is there */
        n += (size_t)r;
    }
    buf[n] = '\0';
    *len = n;
out:
    close(fd);
    return buf;
}

/* The first certificate is the server's, the rest its chain. */
static int load_cert(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
    char ebuf[256];
    size_t len;
    char *pem = read_file(path, &len, err, errlen);
    if (pem == NULL)
        return -1;
    int rc = -1;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = bio != NULL ? PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL) : NULL;
    if (x == NULL) {
        snprintf(err, errlen, PREFIX "%s: no PEM certificate (%s)", path,
                 ssl_reason(ebuf, sizeof(ebuf)));
        goto out;
    }
    if (SSL_CTX_use_certificate(ctx, x) != 1) {
        snprintf(err, errlen, PREFIX "%s: certificate refused (%s)", path,
                 ssl_reason(ebuf, sizeof(ebuf)));
        goto out;
    }
    X509 *ca;
    while ((ca = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
            X509_free(ca);
            snprintf(err, errlen, PREFIX "%s: chain certificate refused (%s)", path,
                     ssl_reason(ebuf, sizeof(ebuf)));
            goto out;
        }
    }
    /* The loop ends at the end of the data ("no start line") or at a
     * broken certificate. */
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
        snprintf(err, errlen, PREFIX "%s: bad chain certificate (%s)", path,
                 ssl_reason(ebuf, sizeof(ebuf)));
        goto out;
    }
    ERR_clear_error();
    rc = 0;
out:
    X509_free(x);
    BIO_free(bio);
    free(pem);
    return rc;
}

static int load_key(SSL_CTX *ctx, const char *path, const char *cert_path, char *err, size_t errlen)
{
    size_t len;
    char *pem = read_file(path, &len, err, errlen);
    if (pem == NULL)
        return -1;
    int rc = -1;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    if (k == NULL) {
        /* OpenSSL 3's reasons here ("unsupported", "interrupted or
         * cancelled") say less than this. */
        ERR_clear_error();
        snprintf(err, errlen, PREFIX "%s: %s", path,
                 strstr(pem, "ENCRYPTED") != NULL
                     ? "the private key is encrypted (no passphrase can be given)"
                     : "no PEM private key");
        goto out;
    }
    /* SSL_CTX_use_PrivateKey compares with a certificate of the key's type
     * only; the check compares with the certificate we loaded. */
    if (SSL_CTX_use_PrivateKey(ctx, k) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, PREFIX "private key %s does not match certificate %s", path,
                 cert_path);
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_free(k);
    BIO_free(bio);
    OPENSSL_cleanse(pem, len);
    free(pem);
    return rc;
}

struct httpd_tls *httpd_tls_new(const char *cert_file, const char *key_file, char *err,
                                size_t errlen)
{
    char ebuf[256];
    if (cert_file == NULL || key_file == NULL) {
        snprintf(err, errlen, PREFIX "a certificate and a private key are needed");
        return NULL;
    }
    struct httpd_tls *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, PREFIX "out of memory");
        return NULL;
    }
    ERR_clear_error();
    t->ctx = SSL_CTX_new(TLS_server_method());
    if (t->ctx == NULL) {
        snprintf(err, errlen, PREFIX "%s", ssl_reason(ebuf, sizeof(ebuf)));
        goto fail;
    }
    if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(t->ctx, TLS12_CIPHERS) != 1) {
        snprintf(err, errlen, PREFIX "%s", ssl_reason(ebuf, sizeof(ebuf)));
        goto fail;
    }
    /* Renegotiation is a CPU sink for a client; compression leaks (CRIME). */
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* Up to HTTPD_MAX_CONNECTIONS idle connections: no idle buffers. */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
    if (load_cert(t->ctx, cert_file, err, errlen) != 0 ||
        load_key(t->ctx, key_file, cert_file, err, errlen) != 0)
        goto fail;
    return t;
fail:
    httpd_tls_free(&t);
    return NULL;
}

void httpd_tls_free(struct httpd_tls **tp)
{
    struct httpd_tls *t = *tp;
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx); /* frees the key with its memory wiped */
    free(t);
    *tp = NULL;
}

struct bufferevent *httpd_tls_bufferevent_new(struct httpd_tls *t, struct event_base *base)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL) {
        ERR_clear_error();
        return NULL;
    }
    /* On failure libevent frees the SSL (BEV_OPT_CLOSE_ON_FREE). */
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        return NULL;
    /* A client closing without close_notify (most HTTP clients) ends the
     * connection like a clean close, not as an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

bool httpd_tls_bufferevent_is_tls(struct bufferevent *bev)
{
    return bufferevent_openssl_get_ssl(bev) != NULL;
}
