#include "sketch_ports.h"

#include <stdbool.h>
#include <stdio.h>

void ports_merge(struct ports *dst, const struct ports *src)
{
    for (size_t g = 0; g < PORTS_N / PORTS_GROUP; g++) {
        uint64_t m = 0;
        for (size_t i = g * PORTS_GROUP; i < (g + 1) * PORTS_GROUP; i++) {
            dst->count[i] += src->count[i];
            m = dst->count[i] > m ? dst->count[i] : m;
        }
        dst->group_max[g] = m;
    }
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

/* The tenth largest group maximum (0 with fewer than ten groups): those
 * are counts of ten different ports, so the tenth largest count is at
 * least this, and a group whose maximum is below it cannot rank. */
static uint64_t group_floor(const struct ports *t)
{
    uint64_t top[TOPN_REPORT] = {0}; /* descending */
    for (size_t g = 0; g < PORTS_N / PORTS_GROUP; g++) {
        uint64_t m = t->group_max[g];
        if (m <= top[TOPN_REPORT - 1])
            continue;
        size_t j = TOPN_REPORT - 1;
        for (; j > 0 && top[j - 1] < m; j--)
            top[j] = top[j - 1];
        top[j] = m;
    }
    return top[TOPN_REPORT - 1];
}

size_t ports_report(const struct ports *t, struct topn_item out[TOPN_REPORT],
                    char text[TOPN_REPORT][PORTS_TEXT_MAX])
{
    struct ranked best[TOPN_REPORT];
    size_t n = 0;
    uint64_t floor = group_floor(t);
    if (floor == 0)
        floor = 1; /* ports never seen do not rank */

    for (uint32_t g = 0; g < PORTS_N / PORTS_GROUP; g++) {
        if (t->group_max[g] < floor)
            continue;
        for (uint32_t p = g * PORTS_GROUP; p < (g + 1) * PORTS_GROUP; p++) {
            uint64_t c = t->count[p];
            if (c < floor || (n == TOPN_REPORT && c < best[n - 1].count))
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
    }
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(text[i], PORTS_TEXT_MAX, "%u", best[i].port);
        out[i].estimate = best[i].count;
        out[i].text = text[i];
        out[i].len = (size_t)len;
    }
    return n;
}
