/*
 * fixture.h - where the unit tests find tests/fixtures/.
 *
 * make check exports top_srcdir (see AM_TESTS_ENVIRONMENT); a test run by
 * hand from the source tree falls back to ".".  Header-only, for tests.
 */
#ifndef PKTVISOR_TEST_FIXTURE_H
#define PKTVISOR_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

static inline void fixture_path(char *out, size_t len, const char *name)
{
    const char *top = getenv("top_srcdir");
    if (top == NULL || top[0] == '\0')
        top = ".";
    snprintf(out, len, "%s/tests/fixtures/%s", top, name);
}

#endif
