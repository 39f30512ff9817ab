/*
 * geo.c - MaxMind City / ASN lookups rendered as pktvisor's strings.
 */
#include "geo.h"

#include <inttypes.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define GEO_UNKNOWN "Unknown"

struct geo {
    MMDB_s db;
    enum geo_kind kind;
};

/* Bounded string builder: always NUL-terminated, silently truncates. */
struct sbuf {
    char *buf;
    size_t size;
    size_t len;
};

static void sb_add(struct sbuf *sb, const char *s, size_t n)
{
    size_t room;

    if (sb->size == 0)
        return;
    room = sb->size - 1 - sb->len;
    if (n > room)
        n = room;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

static size_t put_str(char *buf, size_t size, const char *s)
{
    struct sbuf sb = {buf, size, 0};

    if (size > 0)
        buf[0] = '\0';
    sb_add(&sb, s, strlen(s));
    return sb.len;
}

static bool kind_matches(enum geo_kind kind, const char *type)
{
    if (type == NULL)
        return false;
    if (kind == GEO_CITY)
        return strstr(type, "City") != NULL;
    /* ISP databases carry the same autonomous_system_* keys as ASN ones. */
    return strstr(type, "ASN") != NULL || strstr(type, "ISP") != NULL;
}

struct geo *geo_open(const char *path, enum geo_kind kind, char *err, size_t errlen)
{
    struct geo *g;
    const char *type;
    int status;

    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    g->kind = kind;

    errno = 0;
    status = MMDB_open(path, MMDB_MODE_MMAP, &g->db);
    if (status != MMDB_SUCCESS) {
        int saved = errno;
        /* libmaxminddb's I/O error text does not say why: add errno's. */
        if (err != NULL && errlen > 0 &&
            (status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR) && saved != 0)
            snprintf(err, errlen, "%s: %s: %s", path, MMDB_strerror(status), strerror(saved));
        else if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: %s", path, MMDB_strerror(status));
        free(g);
        return NULL;
    }

    type = g->db.metadata.database_type;
    if (!kind_matches(kind, type)) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: database type '%s' is not %s database", path,
                     type != NULL ? type : "", kind == GEO_CITY ? "a City" : "an ASN/ISP");
        MMDB_close(&g->db);
        free(g);
        return NULL;
    }
    return g;
}

void geo_close(struct geo **g)
{
    if (g == NULL || *g == NULL)
        return;
    MMDB_close(&(*g)->db);
    free(*g);
    *g = NULL;
}

/* Fetch a UTF-8 string at a NULL-terminated path; false when absent. */
static bool get_string(MMDB_entry_s *entry, MMDB_entry_data_s *out, ...)
{
    va_list ap;
    int status;

    va_start(ap, out);
    status = MMDB_vget_value(entry, out, ap);
    va_end(ap);
    return status == MMDB_SUCCESS && out->has_data && out->type == MMDB_DATA_TYPE_UTF8_STRING;
}

/* Append "/" (unless first) and the string; pktvisor adds the separator only
 * together with a part that exists, so missing parts leave no empty slot. */
static void add_part(struct sbuf *sb, const MMDB_entry_data_s *d, bool sep)
{
    if (sep)
        sb_add(sb, "/", 1);
    sb_add(sb, d->utf8_string, d->data_size);
}

static void render_city(MMDB_entry_s *entry, struct sbuf *sb)
{
    MMDB_entry_data_s d;

    if (get_string(entry, &d, "continent", "code", NULL))
        add_part(sb, &d, false);
    if (get_string(entry, &d, "country", "names", "en", NULL) ||
        get_string(entry, &d, "country", "iso_code", NULL))
        add_part(sb, &d, true);
    if (get_string(entry, &d, "subdivisions", "0", "iso_code", NULL))
        add_part(sb, &d, true);
    if (get_string(entry, &d, "city", "names", "en", NULL))
        add_part(sb, &d, true);
}

static void render_asn(MMDB_entry_s *entry, struct sbuf *sb)
{
    MMDB_entry_data_s d;
    char num[24];
    int n = -1;

    if (MMDB_get_value(entry, &d, "autonomous_system_number", NULL) == MMDB_SUCCESS && d.has_data) {
        switch (d.type) {
        case MMDB_DATA_TYPE_UINT16:
            n = snprintf(num, sizeof(num), "%" PRIu16, d.uint16);
            break;
        case MMDB_DATA_TYPE_UINT32:
            n = snprintf(num, sizeof(num), "%" PRIu32, d.uint32);
            break;
        case MMDB_DATA_TYPE_INT32:
            n = snprintf(num, sizeof(num), "%" PRId32, d.int32);
            break;
        case MMDB_DATA_TYPE_UINT64:
            n = snprintf(num, sizeof(num), "%" PRIu64, d.uint64);
            break;
        case MMDB_DATA_TYPE_UTF8_STRING:
            add_part(sb, &d, false);
            break;
        default:
            break;
        }
        if (n > 0)
            sb_add(sb, num, (size_t)n);
    }
    if (get_string(entry, &d, "autonomous_system_organization", NULL))
        add_part(sb, &d, true);
}

size_t geo_lookup(const struct geo *g, const struct ip_addr *a, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    struct sbuf sb = {buf, size, 0};
    MMDB_lookup_result_s res;
    int mmdb_error;

    if (size > 0)
        buf[0] = '\0';
    /* No database loaded: pktvisor leaves the string empty. */
    if (g == NULL)
        return 0;

    memset(&ss, 0, sizeof(ss));
    if (a->family == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, a->a.v4, 4);
    } else if (a->family == 6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, a->a.v6, 16);
    } else {
        return put_str(buf, size, GEO_UNKNOWN);
    }

    res = MMDB_lookup_sockaddr(&g->db, (const struct sockaddr *)&ss, &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS || !res.found_entry)
        return put_str(buf, size, GEO_UNKNOWN);

    if (g->kind == GEO_CITY)
        render_city(&res.entry, &sb);
    else
        render_asn(&res.entry, &sb);
    return sb.len;
}
