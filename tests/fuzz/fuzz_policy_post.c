/*
 * fuzz_policy_post.c - libFuzzer target for policy documents posted to the
 * admin API (POST /api/v1/policies), through the path the agent takes.
 *
 * The input is the request body.  As in production, it goes:
 *   1. the HTTP worker's router (httpd_route_request, --admin-api, with
 *      Content-Type application/x-yaml), which must hand the request over
 *      (HTTPD_ADMIN_POLICY_ADD, status 0, no body);
 *   2. the worker's size check (on_admin in httpd/httpd_child.c: a body
 *      over PROC_MSG_TEXT_MAX is a 413 and never reaches the supervisor);
 *   3. the supervisor's policy_add (src/sup.c) on a copy of exactly len
 *      bytes, not NUL-terminated, as proc_msg_recv leaves it: config_parse
 *      (YAML) + config_add_policies + config_destroy against a long-lived
 *      configuration that holds a pcap tap "t", a mock tap "m" and a
 *      "default" policy (net + dns), then the reply listing the new names.
 * The process and segment parts (sup_policies_build, forks) are left out.
 *
 * Checked promises (visor_config.h, SPEC 5): a failure leaves a message
 * and the configuration as it was; a success adds policies whose tap
 * exists, whose names are unique and whose instance names and windows are
 * as promised, and never touches the taps or the "default" policy; posting
 * the same document again fails and changes nothing.  As in pktvisor, an
 * empty visor.policies map is a success that adds nothing (200 {}), and a
 * policy may have an empty handlers.modules map (no instance): the first
 * runs found the harness assuming otherwise (tests/fuzz/regress/
 * policy_post).  Then what was added goes again, the first one by name (a
 * DELETE) and the rest newest first (the supervisor's rollback), and the
 * base must be as before, so every input starts from the same state.  A
 * broken promise traps.
 *
 *   make fuzz   (builds tests/fuzz/fuzz_policy_post in the build tree)
 *   tests/fuzz/fuzz_policy_post -max_total_time=600 <scratch copy of
 *       tests/fuzz/corpus/policy_post>
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd_api.h"
#include "proc_msg.h"
#include "config_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_yaml[] = "version: \"1.0\"\n"
                                "visor:\n"
                                "  taps:\n"
                                "    t:\n"
                                "      input_type: pcap\n"
                                "      config: { pcap_file: \"/nonexistent.pcap\", host_spec: "
                                "\"10.0.0.0/8\", replay_pps: 4000 }\n"
                                "    m:\n"
                                "      input_type: mock\n"
                                "  policies:\n"
                                "    default:\n"
                                "      kind: collection\n"
                                "      input: { tap: t, input_type: pcap }\n"
                                "      handlers:\n"
                                "        modules: { net: { type: net }, dns: { type: dns } }\n";

static struct visor_config *base;

/* ---- the router's source: the write routes need none of its data ---- */

static size_t f_policy_count(void *ctx)
{
    (void)ctx;
    return 0;
}

static const char *f_policy_name(void *ctx, size_t p)
{
    (void)ctx;
    (void)p;
    return "";
}

static size_t f_instance_count(void *ctx, size_t p)
{
    (void)ctx;
    (void)p;
    return 0;
}

static int f_instance_get(void *ctx, size_t p, size_t i, struct httpd_instance *out)
{
    (void)ctx;
    (void)p;
    (void)i;
    (void)out;
    return -1;
}

static enum httpd_render_rc f_render(void *ctx, size_t p, size_t i, enum httpd_view view,
                                     uint64_t n, cJSON **out, char *err)
{
    (void)ctx;
    (void)p;
    (void)i;
    (void)view;
    (void)n;
    (void)out;
    snprintf(err, HTTPD_ERR_MAX, "no data");
    return HTTPD_RENDER_FAIL;
}

static const struct httpd_source src = {
    .policy_count = f_policy_count,
    .policy_name = f_policy_name,
    .instance_count = f_instance_count,
    .instance_get = f_instance_get,
    .render = f_render,
    .admin_api = true,
};

/* ---- the configuration ---- */

static void init(void)
{
    char err[512] = "";
    int rc = config_load_string(base_yaml, strlen(base_yaml), CONFIG_FORMAT_YAML, &base, err,
                                sizeof(err));
    if (rc != 0)
        fprintf(stderr, "fuzz_policy_post: base configuration: %s\n", err);
    check(rc == 0 && base != NULL);
}

/* The base as init() made it: taps t and m, the default policy intact. */
static void check_base(const struct visor_config *vc)
{
    check(vc->ntaps == 2 && vc->npolicies == 1);
    check(strcmp(vc->taps[0].name, "t") == 0 && strcmp(vc->taps[1].name, "m") == 0);
    const struct config_policy *d = config_find_policy(vc, "default");
    check(d == &vc->policies[0]);
    check(strcmp(d->tap, "t") == 0 && strcmp(d->input_name, "t-default") == 0);
    check(d->nmodules == 2 && strcmp(d->modules[0].name, "default-net") == 0 &&
          strcmp(d->modules[1].name, "default-dns") == 0);
    check(d->input.pcap_file != NULL && strcmp(d->input.pcap_file, "/nonexistent.pcap") == 0);
    check(d->window.num_periods == CONFIG_PERIODS_DEFAULT);
}

/* The HTTP worker's router: POST /api/v1/policies is handed over. */
static void route(void)
{
    struct httpd_request_info info = {.content_type = "application/x-yaml"};
    struct httpd_response res;
    check(httpd_route_request(&src, "POST", "/api/v1/policies", NULL, &info, &res) == 0);
    check(res.status == 0 && res.admin == HTTPD_ADMIN_POLICY_ADD && res.body == NULL);
    httpd_response_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (base == NULL)
        init();
    route();
    if (size > PROC_MSG_TEXT_MAX)
        return 0; /* 413 in the worker */

    /* The supervisor gets the body as bytes, without a terminating NUL. */
    char *text = malloc(size ? size : 1);
    check(text != NULL);
    if (size > 0)
        memcpy(text, data, size);

    struct visor_config *vc = base;
    char err[1024] = "";
    size_t before = vc->npolicies;
    config_t tree;
    config_init(&tree);
    int rc = config_parse(text, size, CONFIG_FORMAT_YAML, &tree, err, sizeof(err));
    if (rc == 0)
        rc = config_add_policies(vc, &tree, err, sizeof(err));
    if (rc != 0) {
        check(err[0] != '\0' && strlen(err) < sizeof(err));
        config_destroy(&tree);
        free(text);
        check_base(vc);
        return 0;
    }
    check(vc->npolicies >= before);
    for (size_t i = 0; i < vc->npolicies; i++)
        check_policy(vc, &vc->policies[i]);
    check(vc->ntaps == 2);

    /* The same document posted again: every name is taken.  An empty
     * visor.policies map is a success that adds nothing (200 {}, as in
     * pktvisor), and so is its repetition. */
    size_t after = vc->npolicies;
    err[0] = '\0';
    rc = config_add_policies(vc, &tree, err, sizeof(err));
    check(after > before ? rc == -1 && err[0] != '\0' : rc == 0);
    check(vc->npolicies == after);
    config_destroy(&tree);
    free(text);
    if (after == before) {
        check_base(vc);
        return 0;
    }

    /* The supervisor's reply: the new names, one a line. */
    char names[PROC_MSG_TEXT_MAX / 2] = "";
    size_t off = 0;
    for (size_t i = before; i < vc->npolicies && off < sizeof(names) - 66; i++)
        off += (size_t)snprintf(names + off, sizeof(names) - off, "%s\n", vc->policies[i].name);
    check(off > 0 && off < sizeof(names) && strlen(names) == off);

    /* DELETE of the first one added, then the rollback of the rest. */
    char first[CONFIG_NAME_MAX + 1];
    snprintf(first, sizeof(first), "%s", vc->policies[before].name);
    check(config_remove_policy(vc, first) == 0);
    check(config_find_policy(vc, first) == NULL);
    check(config_remove_policy(vc, first) == -1);
    while (vc->npolicies > before) {
        char name[CONFIG_NAME_MAX + 1];
        snprintf(name, sizeof(name), "%s", vc->policies[vc->npolicies - 1].name);
        size_t n = vc->npolicies;
        check(config_remove_policy(vc, name) == 0);
        check(vc->npolicies == n - 1 && config_find_policy(vc, name) == NULL);
    }
    check_base(vc);
    return 0;
}
