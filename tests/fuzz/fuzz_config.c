/*
 * fuzz_config.c - libFuzzer target for the configuration loader.
 *
 * The first byte chooses the format (auto, YAML, libconfig), the rest is
 * the text.  A document that loads is checked against the promises of
 * visor_config.h (names, instance names, clamped windows) and applied once
 * more as an admin API policies document on top of itself, which must fail
 * without changing anything (every policy name is taken); a document that
 * fails must leave a message.  A broken promise traps.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iaggregator \
 *       src/visor_config.c tests/fuzz/fuzz_config.c -lyaml -lconfig -o /tmp/fuzz_config
 *   /tmp/fuzz_config -max_total_time=180 tests/fuzz/corpus/config
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_config(const struct visor_config *vc)
{
    for (size_t i = 0; i < vc->ntaps; i++) {
        const struct config_tap *t = &vc->taps[i];
        check(t->name[0] && strlen(t->name) <= CONFIG_NAME_MAX);
        check(strcmp(t->input_type, "pcap") == 0 || strcmp(t->input_type, "mock") == 0);
        check(config_find_tap(vc, t->name) == t);
    }
    for (size_t i = 0; i < vc->npolicies; i++)
        check_policy(vc, &vc->policies[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum config_format fmt = (enum config_format)(data[0] % 3);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char err[512] = "";
    struct visor_config *vc = NULL;

    if (config_load_string(text, len, fmt, &vc, err, sizeof(err)) != 0) {
        check(vc == NULL && err[0] != '\0');
        return 0;
    }
    check(vc != NULL);
    check_config(vc);

    config_t tree;
    config_init(&tree);
    check(config_parse(text, len, fmt, &tree, err, sizeof(err)) == 0);
    size_t ntaps = vc->ntaps, npol = vc->npolicies;
    err[0] = '\0';
    int rc = config_add_policies(vc, &tree, err, sizeof(err));
    /* the same policies again: a duplicate name, or none at all */
    if (npol > 0)
        check(rc == -1 && err[0] != '\0');
    else
        check(rc == 0 || err[0] != '\0');
    check(vc->ntaps == ntaps && vc->npolicies == npol);
    config_destroy(&tree);

    if (npol > 0) {
        char name[CONFIG_NAME_MAX + 1];
        snprintf(name, sizeof(name), "%s", vc->policies[0].name);
        check(config_remove_policy(vc, name) == 0);
        check(config_find_policy(vc, name) == NULL);
    }
    config_free(&vc);
    check(vc == NULL);
    return 0;
}
