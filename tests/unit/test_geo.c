/*
 * test_geo.c - geo_open type checks and lookup strings on the MaxMind test
 * databases in tests/fixtures.
 *
 * Every expected string was derived with mmdblookup (mmdb-bin), one query per
 * field: the command is written next to each value with PATH standing for
 * the lookup path, e.g.
 *   mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 89.160.20.112 continent code
 * "no match" is mmdblookup's "The lookup path does not match the data": the
 * field is absent and adds nothing.  "Could not find an entry" => "Unknown".
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen under -std=c17 */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo.h"

static struct geo *open_fixture(const char *name, enum geo_kind kind)
{
    char path[4096], err[512] = "";
    struct geo *g;

    fixture_path(path, sizeof(path), name);
    g = geo_open(path, kind, err, sizeof(err));
    if (g == NULL)
        fail_msg("geo_open(%s): %s", path, err);
    return g;
}

static void set_addr(struct ip_addr *a, const char *s)
{
    memset(a, 0, sizeof(*a));
    if (strchr(s, ':') != NULL) {
        a->family = 6;
        assert_int_equal(inet_pton(AF_INET6, s, a->a.v6), 1);
    } else {
        a->family = 4;
        assert_int_equal(inet_pton(AF_INET, s, a->a.v4), 1);
    }
}

static void expect_lookup(const struct geo *g, const char *ip, const char *want)
{
    struct ip_addr a;
    char buf[256];
    size_t n;

    set_addr(&a, ip);
    memset(buf, 'x', sizeof(buf));
    n = geo_lookup(g, &a, buf, sizeof(buf));
    if (strcmp(buf, want) != 0)
        fail_msg("%s: got '%s', want '%s'", ip, buf, want);
    assert_int_equal(n, strlen(want));
}

static void expect_open_error(const char *path, enum geo_kind kind, const char *want)
{
    char err[512] = "";

    assert_null(geo_open(path, kind, err, sizeof(err)));
    /* File errors may add errno's reason after the expected text. */
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("got '%s', want '%s...'", err, want);
}

/* ---- City ---- */

static void test_city_geoip2(void **state)
{
    struct geo *g = open_fixture("GeoIP2-City-Test.mmdb", GEO_CITY);

    (void)state;
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 81.2.69.142 PATH
     *   continent code: "EU" | country names en: "United Kingdom" |
     *   subdivisions 0 iso_code: "ENG" | city names en: "London" */
    expect_lookup(g, "81.2.69.142", "EU/United Kingdom/ENG/London");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 89.160.20.112 PATH
     *   continent code: "EU" | country names en: "Sweden" | subdivisions 0 iso_code: "E" |
     *   city names en: "Linköping" */
    expect_lookup(g, "89.160.20.112", "EU/Sweden/E/Link\xc3\xb6ping");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 2.125.160.216 PATH
     *   continent code: "EU" | country names en: "United Kingdom" |
     *   subdivisions 0 iso_code: "ENG" | city names en: "Boxford" */
    expect_lookup(g, "2.125.160.216", "EU/United Kingdom/ENG/Boxford");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 216.160.83.56 PATH
     *   continent code: "NA" | country names en: "United States" |
     *   subdivisions 0 iso_code: "WA" | city names en: "Milton" */
    expect_lookup(g, "216.160.83.56", "NA/United States/WA/Milton");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 175.16.199.0 PATH
     *   continent code: "AS" | country names en: "China" | subdivisions 0 iso_code: "22" |
     *   city names en: "Changchun" */
    expect_lookup(g, "175.16.199.0", "AS/China/22/Changchun");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 2001:218:: PATH
     *   continent code: "AS" | country names en: "Japan" | subdivisions 0 iso_code: no match |
     *   city names en: no match */
    expect_lookup(g, "2001:218::", "AS/Japan");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 2a02:d280:: PATH
     *   continent code: "EU" | country names en: "Czech Republic" |
     *   subdivisions 0 iso_code: no match | city names en: no match */
    expect_lookup(g, "2a02:d280::", "EU/Czech Republic");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 214.0.0.1 PATH
     *   continent code: "AS" | country names en: "Singapore" |
     *   subdivisions 0 iso_code: no match | city names en: "Singapore"
     * (a missing part leaves no empty slot) */
    expect_lookup(g, "214.0.0.1", "AS/Singapore/Singapore");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 214.78.124.1 PATH
     *   continent code: "NA" | country names en: "United States" |
     *   subdivisions 0 iso_code: "CA" | city names en: no match */
    expect_lookup(g, "214.78.124.1", "NA/United States/CA");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 2.3.3.1 PATH
     *   continent code: "EU" | country names en: no match | country iso_code: no match |
     *   subdivisions 0 iso_code: no match | city names en: no match */
    expect_lookup(g, "2.3.3.1", "EU");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 214.1.1.1 PATH
     *   continent code: no match | country names en: no match | country iso_code: no match |
     *   subdivisions 0 iso_code: no match | city names en: no match
     * (an entry that holds none of the fields: pktvisor renders "", not "Unknown") */
    expect_lookup(g, "214.1.1.1", "");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 2001:480::
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "2001:480::", "Unknown");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 1.128.0.0
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "1.128.0.0", "Unknown");
    /* mmdblookup --file tests/fixtures/GeoIP2-City-Test.mmdb --ip 1.1.1.1
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "1.1.1.1", "Unknown");
    geo_close(&g);
    assert_null(g);
}

static void test_city_geolite2(void **state)
{
    struct geo *g = open_fixture("GeoLite2-City-Test.mmdb", GEO_CITY);

    (void)state;
    /* mmdblookup --file tests/fixtures/GeoLite2-City-Test.mmdb --ip 81.2.69.142 PATH
     *   continent code: "EU" | country names en: "United Kingdom" |
     *   subdivisions 0 iso_code: "ENG" | city names en: "London" */
    expect_lookup(g, "81.2.69.142", "EU/United Kingdom/ENG/London");
    /* mmdblookup --file tests/fixtures/GeoLite2-City-Test.mmdb --ip 89.160.20.112 PATH
     *   continent code: "EU" | country names en: "Sweden" | subdivisions 0 iso_code: "E" |
     *   city names en: "Linköping" */
    expect_lookup(g, "89.160.20.112", "EU/Sweden/E/Link\xc3\xb6ping");
    /* mmdblookup --file tests/fixtures/GeoLite2-City-Test.mmdb --ip 2001:218:: PATH
     *   continent code: "AS" | country names en: "Japan" | subdivisions 0 iso_code: no match |
     *   city names en: no match */
    expect_lookup(g, "2001:218::", "AS/Japan");
    /* mmdblookup --file tests/fixtures/GeoLite2-City-Test.mmdb --ip 2001:480:: PATH
     *   continent code: "NA" | country names en: "United States" |
     *   subdivisions 0 iso_code: "CA" | city names en: "San Diego"
     * (absent from the GeoIP2 City test database) */
    expect_lookup(g, "2001:480::", "NA/United States/CA/San Diego");
    /* mmdblookup --file tests/fixtures/GeoLite2-City-Test.mmdb --ip 2.125.160.216 PATH
     *   continent code: "EU" | country names en: "United Kingdom" |
     *   subdivisions 0 iso_code: "ENG" | city names en: "Boxford" */
    expect_lookup(g, "2.125.160.216", "EU/United Kingdom/ENG/Boxford");
    /* mmdblookup --file tests/fixtures/GeoLite2-City-Test.mmdb --ip 216.160.83.56 PATH
     *   continent code: "NA" | country names en: "United States" |
     *   subdivisions 0 iso_code: "WA" | city names en: "Milton" */
    expect_lookup(g, "216.160.83.56", "NA/United States/WA/Milton");
    /* mmdblookup --file tests/fixtures/GeoLite2-City-Test.mmdb --ip 67.43.156.0 PATH
     *   continent code: "AS" | country names en: "Bhutan" | subdivisions 0 iso_code: no match |
     *   city names en: no match */
    expect_lookup(g, "67.43.156.0", "AS/Bhutan");
    /* mmdblookup --file tests/fixtures/GeoLite2-City-Test.mmdb --ip 1.128.0.0
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "1.128.0.0", "Unknown");
    /* mmdblookup --file tests/fixtures/GeoLite2-City-Test.mmdb --ip 1.1.1.1
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "1.1.1.1", "Unknown");
    geo_close(&g);
}

/* ---- ASN / ISP ---- */

static void test_asn_geolite2(void **state)
{
    struct geo *g = open_fixture("GeoLite2-ASN-Test.mmdb", GEO_ASN);

    (void)state;
    /* mmdblookup --file tests/fixtures/GeoLite2-ASN-Test.mmdb --ip 1.128.0.0 PATH
     *   autonomous_system_number: 1221 <uint32> | autonomous_system_organization: "Telstra Pty Ltd"
     */
    expect_lookup(g, "1.128.0.0", "1221/Telstra Pty Ltd");
    /* mmdblookup --file tests/fixtures/GeoLite2-ASN-Test.mmdb --ip 89.160.20.112 PATH
     *   autonomous_system_number: 29518 <uint32> | autonomous_system_organization: "Bredband2 AB"
     */
    expect_lookup(g, "89.160.20.112", "29518/Bredband2 AB");
    /* mmdblookup --file tests/fixtures/GeoLite2-ASN-Test.mmdb --ip 216.160.83.56 PATH
     *   autonomous_system_number: 209 <uint32> | autonomous_system_organization: no match */
    expect_lookup(g, "216.160.83.56", "209");
    /* mmdblookup --file tests/fixtures/GeoLite2-ASN-Test.mmdb --ip 2600:6000:: PATH
     *   autonomous_system_number: 237 <uint32> | autonomous_system_organization: "Merit Network
     * Inc." */
    expect_lookup(g, "2600:6000::", "237/Merit Network Inc.");
    /* mmdblookup --file tests/fixtures/GeoLite2-ASN-Test.mmdb --ip 2001:1700:: PATH
     *   autonomous_system_number: 6730 <uint32> | autonomous_system_organization: "Sunrise
     * Communications AG" */
    expect_lookup(g, "2001:1700::", "6730/Sunrise Communications AG");
    /* mmdblookup --file tests/fixtures/GeoLite2-ASN-Test.mmdb --ip 81.2.69.142
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "81.2.69.142", "Unknown");
    /* mmdblookup --file tests/fixtures/GeoLite2-ASN-Test.mmdb --ip 2001:218::
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "2001:218::", "Unknown");
    /* mmdblookup --file tests/fixtures/GeoLite2-ASN-Test.mmdb --ip 2001:480::
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "2001:480::", "Unknown");
    /* mmdblookup --file tests/fixtures/GeoLite2-ASN-Test.mmdb --ip 1.1.1.1
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "1.1.1.1", "Unknown");
    geo_close(&g);
}

static void test_asn_isp(void **state)
{
    struct geo *g = open_fixture("GeoIP2-ISP-Test.mmdb", GEO_ASN);

    (void)state;
    /* mmdblookup --file tests/fixtures/GeoIP2-ISP-Test.mmdb --ip 1.128.0.0 PATH
     *   autonomous_system_number: 1221 <uint32> | autonomous_system_organization: "Telstra Pty Ltd"
     */
    expect_lookup(g, "1.128.0.0", "1221/Telstra Pty Ltd");
    /* mmdblookup --file tests/fixtures/GeoIP2-ISP-Test.mmdb --ip 89.160.20.112 PATH
     *   autonomous_system_number: 29518 <uint32> | autonomous_system_organization: "Bredband2 AB"
     */
    expect_lookup(g, "89.160.20.112", "29518/Bredband2 AB");
    /* mmdblookup --file tests/fixtures/GeoIP2-ISP-Test.mmdb --ip 216.160.83.56 PATH
     *   autonomous_system_number: 209 <uint32> | autonomous_system_organization: no match */
    expect_lookup(g, "216.160.83.56", "209");
    /* mmdblookup --file tests/fixtures/GeoIP2-ISP-Test.mmdb --ip 2600:6000:: PATH
     *   autonomous_system_number: 237 <uint32> | autonomous_system_organization: "Merit Network
     * Inc." */
    expect_lookup(g, "2600:6000::", "237/Merit Network Inc.");
    /* mmdblookup --file tests/fixtures/GeoIP2-ISP-Test.mmdb --ip 1.0.128.0 PATH
     *   autonomous_system_number: no match | autonomous_system_organization: no match
     * (an entry with ISP data only: the string is empty, as in pktvisor) */
    expect_lookup(g, "1.0.128.0", "");
    /* mmdblookup --file tests/fixtures/GeoIP2-ISP-Test.mmdb --ip 81.2.69.142
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "81.2.69.142", "Unknown");
    /* mmdblookup --file tests/fixtures/GeoIP2-ISP-Test.mmdb --ip 2001:480::
     *   => Could not find an entry for this IP address */
    expect_lookup(g, "2001:480::", "Unknown");
    geo_close(&g);
}

/* ---- lookup edge cases ---- */

static void test_lookup_edges(void **state)
{
    struct geo *g = open_fixture("GeoIP2-City-Test.mmdb", GEO_CITY);
    struct ip_addr a;
    char buf[8];

    (void)state;
    /* No address family: nothing to look up. */
    memset(&a, 0, sizeof(a));
    assert_int_equal(geo_lookup(g, &a, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "Unknown");

    /* Truncation keeps the buffer terminated; the length is what was kept. */
    set_addr(&a, "81.2.69.142");
    assert_int_equal(geo_lookup(g, &a, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "EU/Unit");
    assert_int_equal(geo_lookup(g, &a, buf, 1), 0);
    assert_string_equal(buf, "");
    assert_int_equal(geo_lookup(g, &a, buf, 0), 0);

    /* No database loaded. */
    buf[0] = 'x';
    assert_int_equal(geo_lookup(NULL, &a, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");

    geo_close(&g);
    geo_close(&g); /* NULL handle is fine */
    geo_close(NULL);
}

/* ---- open errors ---- */

static void test_open_wrong_type(void **state)
{
    char path[4096], want[4200];

    (void)state;
    /* mmdblookup --file FIX"GeoIP2-City-Test.mmdb" --ip 1.1.1.1 --verbose
     *   => Type: GeoIP2-City */
    fixture_path(path, sizeof(path), "GeoIP2-City-Test.mmdb");
    snprintf(want, sizeof(want), "%s: database type 'GeoIP2-City' is not an ASN/ISP database",
             path);
    expect_open_error(path, GEO_ASN, want);

    /* ... GeoLite2-City-Test.mmdb --verbose => Type: GeoLite2-City */
    fixture_path(path, sizeof(path), "GeoLite2-City-Test.mmdb");
    snprintf(want, sizeof(want), "%s: database type 'GeoLite2-City' is not an ASN/ISP database",
             path);
    expect_open_error(path, GEO_ASN, want);

    /* ... GeoLite2-ASN-Test.mmdb --verbose => Type: GeoLite2-ASN */
    fixture_path(path, sizeof(path), "GeoLite2-ASN-Test.mmdb");
    snprintf(want, sizeof(want), "%s: database type 'GeoLite2-ASN' is not a City database", path);
    expect_open_error(path, GEO_CITY, want);

    /* ... GeoIP2-ISP-Test.mmdb --verbose => Type: GeoIP2-ISP */
    fixture_path(path, sizeof(path), "GeoIP2-ISP-Test.mmdb");
    snprintf(want, sizeof(want), "%s: database type 'GeoIP2-ISP' is not a City database", path);
    expect_open_error(path, GEO_CITY, want);
}

static void test_open_missing(void **state)
{
    char path[4096], want[4200];

    (void)state;
    fixture_path(path, sizeof(path), "no-such-file.mmdb");
    snprintf(want, sizeof(want), "%s: %s", path, MMDB_strerror(MMDB_FILE_OPEN_ERROR));
    expect_open_error(path, GEO_CITY, want);
    expect_open_error(path, GEO_ASN, want);
}

static void test_open_not_mmdb(void **state)
{
    char path[4096], want[4200];

    (void)state;
    /* A capture file has no MaxMind metadata marker. */
    fixture_path(path, sizeof(path), "dns_ipv4_udp.pcap");
    snprintf(want, sizeof(want), "%s: %s", path, MMDB_strerror(MMDB_INVALID_METADATA_ERROR));
    expect_open_error(path, GEO_CITY, want);

    /* An empty file cannot even be mapped. */
    char tmpl[] = "/tmp/test_geo_XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    close(fd);
    snprintf(want, sizeof(want), "%s: %s", tmpl, MMDB_strerror(MMDB_IO_ERROR));
    expect_open_error(tmpl, GEO_ASN, want);
    unlink(tmpl);
}

/* ---- a hand-built database for what the fixtures lack ----
 *
 * No test database has a country without an English name, or a record with a
 * country but no continent, and all are IPv6 trees.  This writes the smallest
 * valid MaxMind DB (format 2.0): an IPv4 tree of one node whose left record
 * (first address bit 0, 0.0.0.0/1) points at a data map and whose right record
 * (128.0.0.0/1) is empty. */

struct mbuf {
    uint8_t b[1024];
    size_t n;
};

static void mb_bytes(struct mbuf *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

/* Control byte(s) for a value of this type and size (< 285). */
static void mb_ctrl(struct mbuf *m, unsigned type, unsigned size)
{
    uint8_t c[3];
    size_t n = 0;

    assert_true(size < 285);
    c[n++] = (uint8_t)((type <= 7 ? type : 0) << 5 | (size < 29 ? size : 29));
    if (type > 7)
        c[n++] = (uint8_t)(type - 7);
    if (size >= 29)
        c[n++] = (uint8_t)(size - 29);
    mb_bytes(m, c, n);
}

static void mb_str(struct mbuf *m, const char *s)
{
    mb_ctrl(m, 2, (unsigned)strlen(s));
    mb_bytes(m, s, strlen(s));
}

static void mb_map(struct mbuf *m, unsigned pairs)
{
    mb_ctrl(m, 7, pairs);
}

/* Unsigned integer of the given MaxMind type (5 uint16, 6 uint32, 9 uint64),
 * big-endian in as few bytes as needed. */
static void mb_uint(struct mbuf *m, unsigned type, uint64_t v)
{
    uint8_t be[8];
    unsigned n = 0;

    for (uint64_t x = v; x != 0; x >>= 8)
        n++;
    for (unsigned i = 0; i < n; i++)
        be[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    mb_ctrl(m, type, n);
    mb_bytes(m, be, n);
}

static void write_db(char *path, const char *db_type, const struct mbuf *data)
{
    static const uint8_t zero16[16];
    struct mbuf meta = {.n = 0};
    uint8_t tree[6];
    uint32_t left = 1 + 16; /* node_count + separator + data offset 0 */
    uint32_t right = 1;     /* == node_count: empty */
    FILE *f;
    int fd;

    /* 24-bit records: left then right, big-endian. */
    tree[0] = (uint8_t)(left >> 16);
    tree[1] = (uint8_t)(left >> 8);
    tree[2] = (uint8_t)left;
    tree[3] = (uint8_t)(right >> 16);
    tree[4] = (uint8_t)(right >> 8);
    tree[5] = (uint8_t)right;

    mb_bytes(&meta, "\xab\xcd\xefMaxMind.com", 14);
    mb_map(&meta, 9);
    mb_str(&meta, "node_count");
    mb_uint(&meta, 6, 1);
    mb_str(&meta, "record_size");
    mb_uint(&meta, 5, 24);
    mb_str(&meta, "ip_version");
    mb_uint(&meta, 5, 4);
    mb_str(&meta, "database_type");
    mb_str(&meta, db_type);
    mb_str(&meta, "languages");
    mb_ctrl(&meta, 11, 1);
    mb_str(&meta, "en");
    mb_str(&meta, "binary_format_major_version");
    mb_uint(&meta, 5, 2);
    mb_str(&meta, "binary_format_minor_version");
    mb_uint(&meta, 5, 0);
    mb_str(&meta, "build_epoch");
    mb_uint(&meta, 9, 1700000000);
    mb_str(&meta, "description");
    mb_map(&meta, 0);

    strcpy(path, "/tmp/test_geo_db_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(tree, 1, sizeof(tree), f), sizeof(tree));
    assert_int_equal(fwrite(zero16, 1, sizeof(zero16), f), sizeof(zero16));
    assert_int_equal(fwrite(data->b, 1, data->n, f), data->n);
    assert_int_equal(fwrite(meta.b, 1, meta.n, f), meta.n);
    assert_int_equal(fclose(f), 0);
}

static void test_built_city(void **state)
{
    struct mbuf d = {.n = 0};
    char path[64];
    struct geo *g;
    char err[256] = "";

    (void)state;
    /* {country: {iso_code: "XX", names: {de: "Xland"}}, city: {names: {en: "Town"}}} */
    mb_map(&d, 2);
    mb_str(&d, "country");
    mb_map(&d, 2);
    mb_str(&d, "iso_code");
    mb_str(&d, "XX");
    mb_str(&d, "names");
    mb_map(&d, 1);
    mb_str(&d, "de");
    mb_str(&d, "Xland");
    mb_str(&d, "city");
    mb_map(&d, 1);
    mb_str(&d, "names");
    mb_map(&d, 1);
    mb_str(&d, "en");
    mb_str(&d, "Town");
    write_db(path, "Test-City-Built", &d);

    g = geo_open(path, GEO_CITY, err, sizeof(err));
    if (g == NULL)
        fail_msg("%s", err);
    /* No English country name: the ISO code stands in.  No continent: the
     * separator still comes with the country, as pktvisor appended it. */
    expect_lookup(g, "10.0.0.1", "/XX/Town");
    /* Right half of the tree is empty. */
    expect_lookup(g, "200.0.0.1", "Unknown");
    /* An IPv6 address in an IPv4-only database is a lookup error. */
    expect_lookup(g, "2001:db8::1", "Unknown");
    geo_close(&g);

    g = geo_open(path, GEO_ASN, err, sizeof(err));
    assert_null(g);
    unlink(path);
}

static void test_built_asn(void **state)
{
    struct mbuf d = {.n = 0};
    char path[64];
    struct geo *g;
    char err[256] = "";

    (void)state;
    /* {autonomous_system_number: 64512 as uint16,
     *  autonomous_system_organization: "Example Net"} */
    mb_map(&d, 2);
    mb_str(&d, "autonomous_system_number");
    mb_uint(&d, 5, 64512);
    mb_str(&d, "autonomous_system_organization");
    mb_str(&d, "Example Net");
    write_db(path, "Test-ISP-Built", &d);

    g = geo_open(path, GEO_ASN, err, sizeof(err));
    if (g == NULL)
        fail_msg("%s", err);
    expect_lookup(g, "10.0.0.1", "64512/Example Net");
    expect_lookup(g, "200.0.0.1", "Unknown");
    geo_close(&g);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_city_geoip2),  cmocka_unit_test(test_city_geolite2),
        cmocka_unit_test(test_asn_geolite2), cmocka_unit_test(test_asn_isp),
        cmocka_unit_test(test_lookup_edges), cmocka_unit_test(test_open_wrong_type),
        cmocka_unit_test(test_open_missing), cmocka_unit_test(test_open_not_mmdb),
        cmocka_unit_test(test_built_city),   cmocka_unit_test(test_built_asn),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
