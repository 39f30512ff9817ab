/*
 * config_check.h - what visor_config.h promises of a loaded policy, as the
 * configuration fuzz targets check it (fuzz_config, fuzz_policy_post).  A
 * broken promise traps, so the fuzzer records the input.  Header-only:
 * each target is one source file.
 */
#ifndef PKTVISOR_FUZZ_CONFIG_CHECK_H
#define PKTVISOR_FUZZ_CONFIG_CHECK_H

#include <stdio.h>
#include <string.h>

#include "visor_config.h"

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

/* Names, instance names, clamped windows, options. */
static void check_policy(const struct visor_config *vc, const struct config_policy *p)
{
    char buf[160];
    check(p->name != NULL && p->name[0] != '\0' && strlen(p->name) <= CONFIG_NAME_MAX);
    check(config_find_policy(vc, p->name) == p);
    const struct config_tap *t = config_find_tap(vc, p->tap);
    check(t != NULL && strcmp(t->input_type, p->input_type) == 0);
    check(strcmp(p->kind, "collection") == 0);
    snprintf(buf, sizeof(buf), "%s-%s", p->tap, p->name);
    check(strcmp(buf, p->input_name) == 0);
    check(p->window.num_periods >= 1 && p->window.num_periods <= CONFIG_PERIODS_MAX);
    check(p->window.deep_sample_rate >= 1 && p->window.deep_sample_rate <= 100);
    /* handlers.modules may be an empty map (visor_config.c, as pktvisor). */
    for (size_t k = 0; k < p->nmodules; k++) {
        const struct config_module *m = &p->modules[k];
        snprintf(buf, sizeof(buf), "%s-%s", p->name, m->key);
        check(strcmp(buf, m->name) == 0 && strlen(m->name) < 128);
        const struct handler_opt *o = config_opt_find(m->opts, m->nopts, "num_periods");
        check(o != NULL && o->type == HOPT_UINT && o->u == p->window.num_periods);
        for (size_t j = 0; j < m->nopts; j++) {
            const struct handler_opt *x = &m->opts[j];
            check(x->key != NULL);
            check(x->type != HOPT_STRING || x->s != NULL);
            for (size_t l = 0; l < x->nlist; l++)
                check(x->list[l] != NULL);
        }
    }
    for (size_t j = 0; j < p->ninput_config; j++)
        check(p->input_config[j].key != NULL);
}

#endif
