/*
 * bench_sizes - bytes of one bucket of each handler type, and of one
 * handler instance's block (header, window of P buckets, resume area).
 *
 *   bench_sizes [PERIODS]      (default 5)
 *
 * One line per type: "NAME BUCKET_BYTES BLOCK_BYTES RESUME_BYTES".  The
 * bucket size is the metric table's bucket_size (sizeof the type's bucket
 * struct, generated from its .def file); the block is what an aggregator
 * publishes in its metric segment (handler_block_size), i.e. the memory an
 * instance's window costs.  Used by tests/bench/run.
 */
#include <stdio.h>
#include <stdlib.h>

#include "handler.h"

int main(int argc, char **argv)
{
    long periods = argc > 1 ? strtol(argv[1], NULL, 10) : 5;
    if (periods < 1 || periods > WINDOW_MAX_PERIODS) {
        fprintf(stderr, "bench_sizes: PERIODS must be 1..%d\n", WINDOW_MAX_PERIODS);
        return 2;
    }
    static const char *const types[] = {"net", "dns", "dhcp", "pcap"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const struct handler_type *t = handler_type_find(types[i]);
        if (t == NULL) {
            fprintf(stderr, "bench_sizes: no handler type %s\n", types[i]);
            return 1;
        }
        printf("%s %zu %zu %zu\n", t->name, t->table->bucket_size,
               handler_block_size(t, (uint32_t)periods), t->resume_size);
    }
    return 0;
}
