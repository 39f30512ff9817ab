#include "sketch_ports.h"

#include <stdbool.h>
#include <stdio.h>

void ports_merge(struct ports *dst, const struct ports *src)
{
    for (size_t i = 0; i < PORTS_N; i++)
        dst->count[i] += src->count[i];
}

/* A number whose order is the order of the ports' decimal texts: the
 * digits scaled to five places, then the length ("5" < "50" < "53" <
 * "530"). */
static uint32_t text_order(uint32_t port)
{
    uint32_t digits = 1, scaled = port;
    for (uint32_t v = port; v >= 10; v /= 10)
        digits++;
    for (uint32_t d = digits; d < 5; d++)
        scaled *= 10;
    return scaled * 8 + digits;
}

struct ranked {
    uint64_t count;
    uint32_t order;
    uint32_t port;
};

static bool ranks_before(const struct ranked *a, const struct ranked *b)
{
    return a->count != b->count ? a->count > b->count : a->order < b->order;
}

size_t ports_report(const struct ports *t, struct topn_item out[TOPN_REPORT],
                    char text[TOPN_REPORT][PORTS_TEXT_MAX])
{
    struct ranked best[TOPN_REPORT];
    size_t n = 0;

    for (uint32_t p = 0; p < PORTS_N; p++) {
        uint64_t c = t->count[p];
        /* Most ports are below the current tenth: one compare each. */
        if (c == 0 || (n == TOPN_REPORT && c < best[n - 1].count))
            continue;
        struct ranked r = {c, text_order(p), p};
        if (n == TOPN_REPORT && !ranks_before(&r, &best[n - 1]))
            continue;
        size_t j = n < TOPN_REPORT ? n++ : n - 1;
        while (j > 0 && ranks_before(&r, &best[j - 1])) {
            best[j] = best[j - 1];
            j--;
        }
        best[j] = r;
    }
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(text[i], PORTS_TEXT_MAX, "%u", best[i].port);
        out[i].estimate = best[i].count;
        out[i].text = text[i];
        out[i].len = (size_t)len;
    }
    return n;
}
