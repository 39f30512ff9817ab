/*
 * test_config.c - the configuration loader (src/visor_config.h): SPEC 5's
 * example, the IFACE default of SPEC 1.1, every error string, the typing
 * and clamping rules, libconfig syntax, and hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "visor_config.h"

/* SPEC 5's complete example, verbatim. */
static const char spec_example[] = "version: \"1.0\"\n"
                                   "visor:\n"
                                   "  taps:\n"
                                   "    anycast:\n"
                                   "      input_type: pcap\n"
                                   "      config:\n"
                                   "        iface: eth0\n"
                                   "  policies:\n"
                                   "    default_view:\n"
                                   "      kind: collection\n"
                                   "      input:\n"
                                   "        tap: anycast\n"
                                   "        input_type: pcap\n"
                                   "        config:\n"
                                   "          sample: value\n"
                                   "        filter:\n"
                                   "          bpf: \"tcp or udp\"\n"
                                   "      handlers:\n"
                                   "        window_config:\n"
                                   "          num_periods: 5\n"
                                   "          deep_sample_rate: 100\n"
                                   "        modules:\n"
                                   "          default_net:\n"
                                   "            type: net\n"
                                   "          default_dns:\n"
                                   "            type: dns\n"
                                   "          special_domain:\n"
                                   "            type: dns\n"
                                   "            filter:\n"
                                   "              only_qname_suffix:\n"
                                   "                - \".google.com\"\n"
                                   "                - \".ns1.com\"\n"
                                   "                - \"slack.com\"\n";

/* The same in libconfig syntax. */
static const char spec_example_libconfig[] =
    "version = \"1.0\";\n"
    "visor = {\n"
    "  taps = { anycast = { input_type = \"pcap\"; config = { iface = \"eth0\"; }; }; };\n"
    "  policies = {\n"
    "    default_view = {\n"
    "      kind = \"collection\";\n"
    "      input = { tap = \"anycast\"; input_type = \"pcap\";\n"
    "                config = { sample = \"value\"; };\n"
    "                filter = { bpf = \"tcp or udp\"; }; };\n"
    "      handlers = {\n"
    "        window_config = { num_periods = 5; deep_sample_rate = 100; };\n"
    "        modules = {\n"
    "          default_net = { type = \"net\"; };\n"
    "          default_dns = { type = \"dns\"; };\n"
    "          special_domain = { type = \"dns\";\n"
    "            filter = { only_qname_suffix = [ \".google.com\", \".ns1.com\", \"slack.com\" ]; "
    "}; };\n"
    "        };\n"
    "      };\n"
    "    };\n"
    "  };\n"
    "};\n";

/* A valid document with one tap "anycast" (pcap) and "mocktap" (mock),
 * followed by the policies given in flow style at indentation 4. */
#define HEAD                                                                                       \
    "version: \"1.0\"\n"                                                                           \
    "visor:\n"                                                                                     \
    "  taps:\n"                                                                                    \
    "    anycast: {input_type: pcap, config: {iface: eth0}}\n"                                     \
    "    mocktap: {input_type: mock}\n"                                                            \
    "  policies:\n"
#define MODS  "handlers: {modules: {n: {type: net}}}"
#define INPUT "input: {tap: anycast, input_type: pcap}"

static struct visor_config *load_ok(const char *text)
{
    struct visor_config *vc = NULL;
    char err[512] = "";
    if (config_load_string(text, strlen(text), CONFIG_FORMAT_AUTO, &vc, err, sizeof(err)) != 0)
        fail_msg("load failed: %s", err);
    assert_non_null(vc);
    return vc;
}

static void load_err(const char *text, size_t len, enum config_format fmt, const char *msg)
{
    struct visor_config *vc = NULL;
    char err[512] = "";
    assert_int_equal(config_load_string(text, len, fmt, &vc, err, sizeof(err)), -1);
    assert_null(vc);
    if (msg)
        assert_string_equal(err, msg);
    else
        assert_true(err[0] != '\0');
}

static const struct handler_opt *opt(const struct handler_opt *v, size_t n, const char *key)
{
    const struct handler_opt *o = config_opt_find(v, n, key);
    if (!o)
        fail_msg("option %s missing", key);
    return o;
}

static void assert_opt_string(const struct handler_opt *v, size_t n, const char *key,
                              const char *val)
{
    const struct handler_opt *o = opt(v, n, key);
    assert_int_equal(o->type, HOPT_STRING);
    assert_string_equal(o->s, val);
}

static void assert_opt_uint(const struct handler_opt *v, size_t n, const char *key, uint64_t val)
{
    const struct handler_opt *o = opt(v, n, key);
    assert_int_equal(o->type, HOPT_UINT);
    assert_int_equal(o->u, val);
}

static void check_spec_example(const struct visor_config *vc)
{
    assert_false(vc->verbose);
    assert_int_equal(vc->ntaps, 1);
    assert_string_equal(vc->taps[0].name, "anycast");
    assert_string_equal(vc->taps[0].input_type, "pcap");
    assert_int_equal(vc->taps[0].nconfig, 1);
    assert_opt_string(vc->taps[0].config, vc->taps[0].nconfig, "iface", "eth0");

    assert_int_equal(vc->npolicies, 1);
    const struct config_policy *p = &vc->policies[0];
    assert_string_equal(p->name, "default_view");
    assert_string_equal(p->kind, "collection");
    assert_string_equal(p->tap, "anycast");
    assert_string_equal(p->input_type, "pcap");
    assert_string_equal(p->input_name, "anycast-default_view");
    /* tap config, then filter, then input config */
    assert_int_equal(p->ninput_config, 3);
    assert_string_equal(p->input_config[0].key, "iface");
    assert_string_equal(p->input_config[1].key, "bpf");
    assert_string_equal(p->input_config[2].key, "sample");
    assert_opt_string(p->input_config, p->ninput_config, "iface", "eth0");
    assert_opt_string(p->input_config, p->ninput_config, "bpf", "tcp or udp");
    assert_opt_string(p->input_config, p->ninput_config, "sample", "value");
    assert_string_equal(p->input.iface, "eth0");
    assert_string_equal(p->input.bpf, "tcp or udp");
    assert_null(p->input.pcap_file);
    assert_int_equal(p->window.num_periods, 5);
    assert_int_equal(p->window.deep_sample_rate, 100);

    assert_int_equal(p->nmodules, 3);
    static const char *const names[] = {"default_view-default_net", "default_view-default_dns",
                                        "default_view-special_domain"};
    static const char *const types[] = {"net", "dns", "dns"};
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(p->modules[i].name, names[i]);
        assert_string_equal(p->modules[i].type, types[i]);
        assert_opt_uint(p->modules[i].opts, p->modules[i].nopts, "num_periods", 5);
        assert_opt_uint(p->modules[i].opts, p->modules[i].nopts, "deep_sample_rate", 100);
    }
    assert_string_equal(p->modules[2].key, "special_domain");
    const struct handler_opt *q = opt(p->modules[2].opts, p->modules[2].nopts, "only_qname_suffix");
    assert_int_equal(q->type, HOPT_LIST);
    assert_int_equal(q->nlist, 3);
    assert_string_equal(q->list[0], ".google.com");
    assert_string_equal(q->list[1], ".ns1.com");
    assert_string_equal(q->list[2], "slack.com");
    assert_int_equal(p->modules[0].nopts, 2);
}

static void test_spec_example(void **state)
{
    (void)state;
    struct visor_config *vc = load_ok(spec_example);
    check_spec_example(vc);
    config_free(&vc);
    assert_null(vc);
}

static void test_spec_example_pcap_file(void **state)
{
    (void)state;
    const char *text = "version: \"1.0\"\n"
                       "visor:\n"
                       "  config: {verbose: TRUE}\n"
                       "  taps:\n"
                       "    replay:\n"
                       "      input_type: pcap\n"
                       "      config:\n"
                       "        pcap_file: /var/lib/pktvisor/dns.pcap\n"
                       "        replay_pps: 1000\n"
                       "        host_spec: \"10.0.0.0/8,2001:db8::/64\"\n"
                       "  policies:\n"
                       "    default_view:\n"
                       "      kind: collection\n"
                       "      input: {tap: replay, input_type: pcap, filter: {bpf: \"udp\"}}\n"
                       "      handlers:\n"
                       "        modules:\n"
                       "          dns: {type: dns, filter: {only_rcode: 3, exclude_noerror: "
                       "false}}\n";
    struct visor_config *vc = load_ok(text);
    assert_true(vc->verbose);
    const struct config_policy *p = config_find_policy(vc, "default_view");
    assert_non_null(p);
    assert_string_equal(p->input_name, "replay-default_view");
    assert_string_equal(p->input.pcap_file, "/var/lib/pktvisor/dns.pcap");
    assert_int_equal(p->input.replay_pps, 1000);
    assert_string_equal(p->input.host_spec, "10.0.0.0/8,2001:db8::/64");
    assert_string_equal(p->input.bpf, "udp");
    assert_null(p->input.iface);
    assert_string_equal(p->modules[0].name, "default_view-dns");
    assert_opt_uint(p->modules[0].opts, p->modules[0].nopts, "only_rcode", 3);
    const struct handler_opt *o = opt(p->modules[0].opts, p->modules[0].nopts, "exclude_noerror");
    assert_int_equal(o->type, HOPT_BOOL);
    assert_false(o->b);
    config_free(&vc);
}

static void test_iface_default(void **state)
{
    (void)state;
    struct visor_config *vc = config_new();
    char err[256] = "";
    assert_non_null(vc);
    if (config_add_default(vc, "eth1", "192.168.0.0/24", "port 53", 7, 40, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(vc->ntaps, 1);
    assert_string_equal(vc->taps[0].name, "default");
    assert_int_equal(vc->npolicies, 1);
    const struct config_policy *p = &vc->policies[0];
    assert_string_equal(p->name, "default");
    assert_string_equal(p->input_name, "default-default");
    assert_string_equal(p->input.iface, "eth1");
    assert_string_equal(p->input.host_spec, "192.168.0.0/24");
    assert_string_equal(p->input.bpf, "port 53");
    assert_int_equal(p->window.num_periods, 7);
    assert_int_equal(p->window.deep_sample_rate, 40);
    assert_int_equal(p->nmodules, 4);
    static const char *const names[] = {"default-net", "default-dhcp", "default-dns",
                                        "default-pcap_stats"};
    static const char *const types[] = {"net", "dhcp", "dns", "pcap"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(p->modules[i].name, names[i]);
        assert_string_equal(p->modules[i].type, types[i]);
    }
    /* same validation path: a second default collides with the first */
    assert_int_equal(config_add_default(vc, "eth1", NULL, NULL, 5, 100, err, sizeof(err)), -1);
    assert_string_equal(err, "tap with name 'default' already defined");
    assert_int_equal(vc->ntaps, 1);
    config_free(&vc);
    assert_null(vc);
}

static void test_iface_default_clamps(void **state)
{
    (void)state;
    struct visor_config *vc = config_new();
    char err[256] = "";
    assert_int_equal(config_add_default(vc, "lo", NULL, NULL, 0, 0, err, sizeof(err)), 0);
    assert_int_equal(vc->policies[0].window.num_periods, 1);
    assert_int_equal(vc->policies[0].window.deep_sample_rate, 1);
    assert_string_equal(vc->policies[0].input.bpf, "");
    config_free(&vc);
    vc = config_new();
    assert_int_equal(config_add_default(vc, "lo", "", "", UINT64_MAX, 1000, err, sizeof(err)), 0);
    assert_int_equal(vc->policies[0].window.num_periods, 10);
    assert_int_equal(vc->policies[0].window.deep_sample_rate, 100);
    config_free(&vc);
    /* and an empty IFACE is refused by the same checks as a file */
    vc = config_new();
    assert_int_equal(config_add_default(vc, "", NULL, NULL, 5, 100, err, sizeof(err)), -1);
    assert_string_equal(err, "unable to instantiate tap 'default': missing config key 'iface' "
                             "(or 'pcap_file')");
    assert_int_equal(vc->ntaps, 0);
    assert_int_equal(vc->npolicies, 0);
    config_free(&vc);
}

/* ------------------------------------------------------------ error table */

struct err_case {
    const char *base; /* loaded first, or NULL */
    const char *doc;
    bool policies_only; /* config_add_policies instead of a whole document */
    const char *msg;
};

static void run_err_case(void **state)
{
    const struct err_case *c = *state;
    struct visor_config *vc = NULL;
    char err[512] = "";
    if (c->base) {
        vc = load_ok(c->base);
    } else {
        vc = config_new();
        assert_non_null(vc);
    }
    size_t ntaps = vc->ntaps, npol = vc->npolicies;
    config_t tree;
    config_init(&tree);
    if (config_parse(c->doc, strlen(c->doc), CONFIG_FORMAT_AUTO, &tree, err, sizeof(err)) == 0) {
        int rc = c->policies_only ? config_add_policies(vc, &tree, err, sizeof(err))
                                  : config_add_document(vc, &tree, err, sizeof(err));
        assert_int_equal(rc, -1);
    }
    config_destroy(&tree);
    assert_string_equal(err, c->msg);
    /* a failing document leaves nothing behind */
    assert_int_equal(vc->ntaps, ntaps);
    assert_int_equal(vc->npolicies, npol);
    config_free(&vc);
}

#define POLICY(body) HEAD "    p: {" body "}\n"

static const struct err_case err_cases[] = {
    {NULL, "version: \"2.0\"\nvisor: {}\n", false, "missing or unsupported version"},
    {NULL, "visor: {}\n", false, "missing or unsupported version"},
    {NULL, "version: \"1.0\"\n", false, "invalid schema"},
    {NULL, "version: \"1.0\"\nvisor: [a]\n", false, "invalid schema"},
    {NULL, "- a\n- b\n", false, "invalid schema"},
    {NULL, "version: \"1.0\"\nvisor:\n  taps:\n    t: {config: {iface: eth0}}\n", false,
     "missing or invalid tap type key 'input_type'"},
    {NULL, "version: \"1.0\"\nvisor:\n  taps:\n    t: {input_type: dnstap}\n", false,
     "Tap 't' requires input stream type 'dnstap' which is not available"},
    {NULL,
     "version: \"1.0\"\nvisor:\n  taps:\n    t: {input_type: pcap, config: {iface: {a: b}}}\n",
     false, "invalid value for key: iface"},
    {NULL,
     "version: \"1.0\"\nvisor:\n  taps:\n    t: {input_type: pcap, config: {replay_pps: x}}\n",
     false, "invalid value for key: replay_pps"},
    {NULL,
     "version: \"1.0\"\nvisor:\n  taps:\n    t: {input_type: pcap, config: {pcap_source: pf}}\n",
     false, "invalid value for key: pcap_source"},
    {NULL, "version: \"1.0\"\nvisor:\n  taps:\n    t: {input_type: pcap, config: eth0}\n", false,
     "tap configuration is not a map"},
    {NULL, "version: \"1.0\"\nvisor:\n  taps:\n    t: pcap\n", false,
     "expecting tap configuration map"},
    {NULL, HEAD "    p: collection\n", false, "expecting policy configuration map"},
    {spec_example,
     "version: \"1.0\"\nvisor:\n  policies:\n    default_view: {kind: collection, " INPUT ", " MODS
     "}\n",
     true, "policy with name 'default_view' already defined"},
    {NULL, POLICY(INPUT ", " MODS), false, "missing or invalid policy kind at key 'kind'"},
    {NULL, POLICY("kind: [collection], " INPUT ", " MODS), false,
     "missing or invalid policy kind at key 'kind'"},
    {NULL, POLICY("kind: summary, " INPUT ", " MODS), false, "unknown policy kind: summary"},
    {NULL, POLICY("kind: collection, " MODS), false,
     "missing or invalid policy input stream configuration at key 'input'"},
    {NULL, POLICY("kind: collection, input: anycast, " MODS), false,
     "missing or invalid policy input stream configuration at key 'input'"},
    {NULL, POLICY("kind: collection, input: {input_type: pcap}, " MODS), false,
     "missing or invalid tap at key 'input.tap'"},
    {NULL, POLICY("kind: collection, input: {tap: anycast}, " MODS), false,
     "missing or invalid input_type at key 'input.input_type'"},
    {NULL, POLICY("kind: collection, input: {tap: nope, input_type: pcap}, " MODS), false,
     "tap 'nope' does not exist"},
    {NULL,
     POLICY(
         "kind: collection, input: {tap: anycast, input_type: pcap, filter: {bpf: {a: 1}}}, " MODS),
     false, "invalid input filter for tap 'anycast': invalid value for key: bpf"},
    {NULL,
     POLICY("kind: collection, input: {tap: anycast, input_type: pcap, filter: {bpf: 53}}, " MODS),
     false, "invalid input filter for tap 'anycast': invalid value for key: bpf"},
    {NULL,
     POLICY(
         "kind: collection, input: {tap: anycast, input_type: pcap, config: {x: {y: z}}}, " MODS),
     false, "invalid input config for tap 'anycast': invalid value for key: x"},
    {NULL, POLICY("kind: collection, input: {tap: mocktap, input_type: pcap}, " MODS), false,
     "unable to instantiate tap 'mocktap': input_type for policy specified tap 'mocktap' doesn't "
     "match tap's defined input type: pcap/mock"},
    {NULL,
     POLICY("kind: collection, input: {tap: anycast, input_type: pcap, config: {pcap_file: "
            "f}}, " MODS),
     false,
     "unable to instantiate tap 'anycast': config keys 'iface' and 'pcap_file' are "
     "mutually exclusive"},
    {NULL,
     POLICY("kind: collection, input: {tap: anycast, input_type: pcap, config: {replay_pps: "
            "5}}, " MODS),
     false, "unable to instantiate tap 'anycast': config key 'replay_pps' requires 'pcap_file'"},
    {NULL,
     POLICY(
         "kind: collection, input: {tap: anycast, input_type: pcap, config: {iface: \"\"}}, " MODS),
     false, "unable to instantiate tap 'anycast': missing config key 'iface' (or 'pcap_file')"},
    {NULL, POLICY("kind: collection, " INPUT), false,
     "missing or invalid handler configuration at key 'handlers'"},
    {NULL, POLICY("kind: collection, " INPUT ", handlers: [net]"), false,
     "missing or invalid handler configuration at key 'handlers'"},
    {NULL, POLICY("kind: collection, " INPUT ", handlers: {window_config: {num_periods: 3}}"),
     false, "missing or invalid handler modules at key 'modules'"},
    {NULL,
     POLICY("kind: collection, " INPUT
            ", handlers: {window_config: {num_periods: x}, modules: {}}"),
     false, "invalid stream handler window config: invalid value for key: num_periods"},
    {NULL, POLICY("kind: collection, " INPUT ", handlers: {modules: {n: {config: {}}}}"), false,
     "missing or invalid stream handler type at key 'type'"},
    {NULL, POLICY("kind: collection, " INPUT ", handlers: {modules: {n: {type: {a: b}}}}"), false,
     "missing or invalid stream handler type at key 'type'"},
    {NULL, POLICY("kind: collection, " INPUT ", handlers: {modules: {n: {type: flow}}}"), false,
     "Policy 'p' requires stream handler type 'flow' which is not available"},
    {NULL,
     POLICY("kind: collection, " INPUT
            ", handlers: {modules: {n: {type: dns, config: {a: {b: c}}}}}"),
     false, "invalid stream handler config for handler 'n': invalid value for key: a"},
    {NULL,
     POLICY("kind: collection, " INPUT
            ", handlers: {modules: {n: {type: dns, filter: {only_qname_suffix: [{a: b}]}}}}"),
     false,
     "invalid stream handler filter config for handler 'n': invalid value for key: "
     "only_qname_suffix"},
    {NULL,
     HEAD "    a-b: {kind: collection, " INPUT ", handlers: {modules: {c: {type: net}}}}\n"
          "    a: {kind: collection, " INPUT ", handlers: {modules: {b-c: {type: net}}}}\n",
     false, "policy [a-b-c] creation failed (handler: a): module name 'a-b-c' already exists"},
    {NULL,
     "version: \"1.0\"\nvisor:\n  taps:\n    x: {input_type: mock}\n    x-a: {input_type: mock}\n"
     "  policies:\n"
     "    a-b: {kind: collection, input: {tap: x, input_type: mock}, " MODS "}\n"
     "    b: {kind: collection, input: {tap: x-a, input_type: mock}, handlers: {modules: {}}}\n",
     false, "policy [b] creation failed (input): module name 'x-a-b' already exists"},
    {NULL, "version: \"1.0\"\nvisor:\n  config: {verbose: 1}\n", false,
     "invalid value for key: verbose"},
    {NULL, "version: \"1.0\"\nvisor:\n  taps: {}\n", true, "no policies found in schema"},
    /* names: YAML keys are checked while reading, libconfig names when validating */
    {NULL, HEAD "    9p: {kind: collection}\n", false,
     "invalid key '9p' (line 7): keys must match [a-zA-Z_][a-zA-Z0-9_-]* and have at most 63 "
     "characters"},
    {NULL, "version = \"1.0\"; visor = { policies = { *p = { kind = \"collection\"; }; }; };\n",
     false, "invalid policy name '*p'"},
    {NULL, HEAD "    p: {kind: collection}\n    p: {kind: collection}\n", false,
     "duplicate key 'p' (line 8)"},
};

static const char *const err_names[] = {
    "version_wrong",
    "version_missing",
    "schema_no_visor",
    "schema_visor_not_map",
    "schema_top_sequence",
    "tap_no_input_type",
    "tap_input_unavailable",
    "tap_config_nested_map",
    "tap_config_replay_pps_type",
    "tap_config_pcap_source_value",
    "tap_config_not_map",
    "tap_not_map",
    "policy_not_map",
    "policy_already_defined",
    "policy_kind_missing",
    "policy_kind_not_scalar",
    "policy_kind_unknown",
    "policy_input_missing",
    "policy_input_not_map",
    "policy_input_tap_missing",
    "policy_input_type_missing",
    "policy_tap_missing",
    "policy_filter_nested_bpf",
    "policy_filter_bpf_type",
    "policy_input_config_nested",
    "policy_input_type_mismatch",
    "policy_iface_and_file",
    "policy_replay_without_file",
    "policy_no_iface",
    "policy_handlers_missing",
    "policy_handlers_not_map",
    "policy_modules_missing",
    "policy_window_config_type",
    "module_type_missing",
    "module_type_not_scalar",
    "module_type_unavailable",
    "module_config_nested",
    "module_filter_list_of_maps",
    "module_name_exists",
    "input_name_exists",
    "verbose_not_bool",
    "no_policies",
    "yaml_key_invalid",
    "libconfig_policy_name_invalid",
    "yaml_duplicate_key",
};

/* -------------------------------------------------------- typing, clamping */

static void test_scalar_typing(void **state)
{
    (void)state;
    const char *text = HEAD "    p:\n"
                            "      kind: collection\n"
                            "      input: {tap: anycast, input_type: pcap}\n"
                            "      handlers:\n"
                            "        modules:\n"
                            "          n:\n"
                            "            type: dns\n"
                            "            config:\n"
                            "              a: 123\n"
                            "              b: TRUE\n"
                            "              c: fAlse\n"
                            "              d: \"456\"\n"
                            "              e: 12a\n"
                            "              f: [1, x, true]\n"
                            "              g: 99999999999999999999\n"
                            "              h: -5\n"
                            "              i: 1.5\n"
                            "              j:\n"
                            "              k: yes\n"
                            "              l: 007\n"
                            "              m: []\n"
                            "              _n: under\n";
    struct visor_config *vc = load_ok(text);
    const struct config_module *m = &vc->policies[0].modules[0];
    assert_opt_uint(m->opts, m->nopts, "a", 123);
    const struct handler_opt *o = opt(m->opts, m->nopts, "b");
    assert_int_equal(o->type, HOPT_BOOL);
    assert_true(o->b);
    o = opt(m->opts, m->nopts, "c");
    assert_int_equal(o->type, HOPT_BOOL);
    assert_false(o->b);
    assert_opt_uint(m->opts, m->nopts, "d", 456); /* quoting does not matter */
    assert_opt_string(m->opts, m->nopts, "e", "12a");
    o = opt(m->opts, m->nopts, "f");
    assert_int_equal(o->type, HOPT_LIST); /* sequence elements stay strings */
    assert_int_equal(o->nlist, 3);
    assert_string_equal(o->list[0], "1");
    assert_string_equal(o->list[2], "true");
    assert_opt_string(m->opts, m->nopts, "g", "99999999999999999999");
    assert_opt_string(m->opts, m->nopts, "h", "-5");
    assert_opt_string(m->opts, m->nopts, "i", "1.5");
    assert_opt_string(m->opts, m->nopts, "j", "");
    assert_opt_string(m->opts, m->nopts, "k", "yes");
    assert_opt_uint(m->opts, m->nopts, "l", 7);
    o = opt(m->opts, m->nopts, "m");
    assert_int_equal(o->type, HOPT_LIST);
    assert_int_equal(o->nlist, 0);
    assert_opt_string(m->opts, m->nopts, "_n", "under");
    config_free(&vc);
}

static void test_merge_order(void **state)
{
    (void)state;
    const char *text = HEAD "    p:\n"
                            "      kind: collection\n"
                            "      input:\n"
                            "        tap: anycast\n"
                            "        input_type: pcap\n"
                            "        filter: {iface: eth1, bpf: a}\n"
                            "        config: {iface: eth2}\n"
                            "      handlers:\n"
                            "        window_config: {num_periods: 2, extra: w}\n"
                            "        modules:\n"
                            "          n:\n"
                            "            type: net\n"
                            "            config: {x: config, y: config, num_periods: 9, extra: c}\n"
                            "            filter: {y: filter}\n";
    struct visor_config *vc = load_ok(text);
    const struct config_policy *p = &vc->policies[0];
    assert_string_equal(p->input.iface, "eth2"); /* tap, then filter, then config */
    assert_string_equal(p->input.bpf, "a");
    const struct config_module *m = &p->modules[0];
    assert_opt_string(m->opts, m->nopts, "x", "config");
    assert_opt_string(m->opts, m->nopts, "y", "filter");  /* filter over config */
    assert_opt_string(m->opts, m->nopts, "extra", "w");   /* window_config last */
    assert_opt_uint(m->opts, m->nopts, "num_periods", 2); /* window_config last */
    assert_opt_uint(m->opts, m->nopts, "deep_sample_rate", 100);
    config_free(&vc);
}

static uint32_t periods_of(const char *win, uint32_t *deep)
{
    char text[1024];
    snprintf(text, sizeof(text),
             HEAD "    p: {kind: collection, " INPUT
                  ", handlers: {%s modules: {n: {type: net}}}}\n",
             win);
    struct visor_config *vc = load_ok(text);
    uint32_t n = vc->policies[0].window.num_periods;
    *deep = vc->policies[0].window.deep_sample_rate;
    const struct config_module *m = &vc->policies[0].modules[0];
    assert_opt_uint(m->opts, m->nopts, "num_periods", n);
    assert_opt_uint(m->opts, m->nopts, "deep_sample_rate", *deep);
    config_free(&vc);
    return n;
}

static void test_clamping(void **state)
{
    (void)state;
    uint32_t deep;
    assert_int_equal(periods_of("", &deep), 5);
    assert_int_equal(deep, 100);
    assert_int_equal(periods_of("window_config: {num_periods: 0, deep_sample_rate: 0},", &deep), 1);
    assert_int_equal(deep, 1);
    assert_int_equal(periods_of("window_config: {num_periods: 11, deep_sample_rate: 101},", &deep),
                     10);
    assert_int_equal(deep, 100);
    assert_int_equal(periods_of("window_config: {num_periods: 10, deep_sample_rate: 1},", &deep),
                     10);
    assert_int_equal(deep, 1);
    assert_int_equal(
        periods_of("window_config: {num_periods: 9223372036854775807, deep_sample_rate: 50},",
                   &deep),
        10);
    assert_int_equal(deep, 50);
    /* libconfig: negative numbers are not unsigned */
    const char *lc = "version = \"1.0\"; visor = { taps = { t = { input_type = \"mock\"; }; };\n"
                     "policies = { p = { kind = \"collection\"; input = { tap = \"t\"; input_type "
                     "= \"mock\"; };\n"
                     "handlers = { window_config = { num_periods = -3; }; modules = { }; }; }; }; "
                     "};\n";
    load_err(lc, strlen(lc), CONFIG_FORMAT_AUTO,
             "invalid stream handler window config: invalid value for key: num_periods");
}

/* ------------------------------------------------------------- libconfig */

static void assert_opts_equal(const struct handler_opt *a, size_t na, const struct handler_opt *b,
                              size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i].key, b[i].key);
        assert_int_equal(a[i].type, b[i].type);
        assert_int_equal(a[i].u, b[i].u);
        assert_int_equal(a[i].b, b[i].b);
        if (a[i].s || b[i].s)
            assert_string_equal(a[i].s, b[i].s);
        assert_int_equal(a[i].nlist, b[i].nlist);
        for (size_t k = 0; k < a[i].nlist; k++)
            assert_string_equal(a[i].list[k], b[i].list[k]);
    }
}

static void assert_config_equal(const struct visor_config *a, const struct visor_config *b)
{
    assert_int_equal(a->verbose, b->verbose);
    assert_int_equal(a->ntaps, b->ntaps);
    for (size_t i = 0; i < a->ntaps; i++) {
        assert_string_equal(a->taps[i].name, b->taps[i].name);
        assert_string_equal(a->taps[i].input_type, b->taps[i].input_type);
        assert_opts_equal(a->taps[i].config, a->taps[i].nconfig, b->taps[i].config,
                          b->taps[i].nconfig);
    }
    assert_int_equal(a->npolicies, b->npolicies);
    for (size_t i = 0; i < a->npolicies; i++) {
        const struct config_policy *p = &a->policies[i], *q = &b->policies[i];
        assert_string_equal(p->name, q->name);
        assert_string_equal(p->kind, q->kind);
        assert_string_equal(p->tap, q->tap);
        assert_string_equal(p->input_type, q->input_type);
        assert_string_equal(p->input_name, q->input_name);
        assert_opts_equal(p->input_config, p->ninput_config, q->input_config, q->ninput_config);
        assert_int_equal(p->window.num_periods, q->window.num_periods);
        assert_int_equal(p->window.deep_sample_rate, q->window.deep_sample_rate);
        assert_int_equal(p->nmodules, q->nmodules);
        for (size_t k = 0; k < p->nmodules; k++) {
            assert_string_equal(p->modules[k].key, q->modules[k].key);
            assert_string_equal(p->modules[k].type, q->modules[k].type);
            assert_string_equal(p->modules[k].name, q->modules[k].name);
            assert_opts_equal(p->modules[k].opts, p->modules[k].nopts, q->modules[k].opts,
                              q->modules[k].nopts);
        }
    }
}

static void test_libconfig_same_structs(void **state)
{
    (void)state;
    struct visor_config *y = load_ok(spec_example);
    struct visor_config *l = load_ok(spec_example_libconfig); /* detected by content */
    check_spec_example(l);
    assert_config_equal(y, l);
    config_free(&l);
    /* a list "( ... )" works like an array, and a leading-underscore name
     * is spelled "*_" in libconfig syntax */
    const char *lc = "version = \"1.0\"; visor = { taps = { *_t = { input_type = \"pcap\"; "
                     "config = { iface = \"eth0\"; }; }; };\n"
                     "policies = { p = { kind = \"collection\"; input = { tap = \"_t\"; "
                     "input_type = \"pcap\"; };\n"
                     "handlers = { modules = { m = { type = \"dns\"; filter = { only_qname_suffix "
                     "= ( \"a\", \"b\" ); only_rcode = 2; }; }; }; }; }; }; };\n";
    l = load_ok(lc);
    assert_string_equal(l->taps[0].name, "_t");
    assert_string_equal(l->policies[0].input_name, "_t-p");
    const struct config_module *m = &l->policies[0].modules[0];
    assert_int_equal(opt(m->opts, m->nopts, "only_qname_suffix")->nlist, 2);
    assert_opt_uint(m->opts, m->nopts, "only_rcode", 2);
    config_free(&l);
    config_free(&y);
}

static void test_libconfig_syntax_error(void **state)
{
    (void)state;
    const char *lc = "version = \"1.0\";\nvisor = { taps = ;\n";
    load_err(lc, strlen(lc), CONFIG_FORMAT_LIBCONFIG, NULL);
    struct visor_config *vc = NULL;
    char err[256];
    assert_int_equal(
        config_load_string(lc, strlen(lc), CONFIG_FORMAT_LIBCONFIG, &vc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "libconfig syntax error at line 2"));
    const char *inc = "version = \"1.0\";\n  @include \"/etc/passwd\"\n";
    load_err(inc, strlen(inc), CONFIG_FORMAT_LIBCONFIG,
             "libconfig @include is not allowed (line 2)");
    /* libconfig 1.5 leaks a string the grammar rejects: refused before */
    const char *str = "version = \"1.0\"; visor = { \"x\" };";
    load_err(str, strlen(str), CONFIG_FORMAT_LIBCONFIG,
             "libconfig syntax error at line 1: misplaced string");
    const char *flt = "version = \"1.0\"; visor = { config = { verbose = 1.0; }; };";
    load_err(flt, strlen(flt), CONFIG_FORMAT_AUTO, "invalid value for key: verbose");
}

static char *write_tmp(const char *suffix, const char *text)
{
    char *path = malloc(256);
    assert_non_null(path);
    snprintf(path, 256, "/tmp/test_config_XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_load_file_and_detection(void **state)
{
    (void)state;
    struct visor_config *vc = NULL;
    char err[512];
    static const char *const suffixes[] = {".yaml", ".YML", ".txt", ""};
    for (size_t i = 0; i < 4; i++) {
        char *path = write_tmp(suffixes[i], spec_example);
        assert_int_equal(config_load_file(path, CONFIG_FORMAT_AUTO, &vc, err, sizeof(err)), 0);
        check_spec_example(vc);
        config_free(&vc);
        unlink(path);
        free(path);
    }
    /* ':' assignments need the extension: by content they read as YAML */
    const char *colon = "// comment\nversion : \"1.0\";\nvisor : { };\n";
    char *path = write_tmp(".conf", colon);
    assert_int_equal(config_load_file(path, CONFIG_FORMAT_AUTO, &vc, err, sizeof(err)), 0);
    assert_int_equal(vc->npolicies, 0);
    config_free(&vc);
    unlink(path);
    free(path);
    /* a .cfg forces libconfig even for YAML text: a syntax error */
    path = write_tmp(".cfg", spec_example);
    assert_int_equal(config_load_file(path, CONFIG_FORMAT_AUTO, &vc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "libconfig syntax error"));
    unlink(path);
    free(path);
    /* detection skips '#' comments; "//" means libconfig */
    const char *c1 = "# yaml comment\n\nversion = \"1.0\"; visor = {};";
    vc = load_ok(c1);
    config_free(&vc);
    const char *c2 = "/* c */ version: \"1.0\"; visor: {};";
    vc = load_ok(c2);
    config_free(&vc);
    assert_int_equal(
        config_load_file("/nonexistent/x.yaml", CONFIG_FORMAT_AUTO, &vc, err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/x.yaml: No such file or directory");
    assert_null(vc);
}

/* ------------------------------------------------- transactions, admin API */

static void test_add_policies_transactional(void **state)
{
    (void)state;
    struct visor_config *vc = load_ok(spec_example);
    char err[512];
    config_t tree;
    const char *bad =
        "version: \"1.0\"\nvisor:\n  policies:\n"
        "    good: {kind: collection, input: {tap: anycast, input_type: pcap}, " MODS "}\n"
        "    bad: {kind: collection, input: {tap: missing, input_type: pcap}, " MODS "}\n";
    config_init(&tree);
    assert_int_equal(config_parse(bad, strlen(bad), CONFIG_FORMAT_YAML, &tree, err, sizeof(err)),
                     0);
    assert_int_equal(config_add_policies(vc, &tree, err, sizeof(err)), -1);
    assert_string_equal(err, "tap 'missing' does not exist");
    assert_int_equal(vc->npolicies, 1);
    assert_null(config_find_policy(vc, "good"));
    config_destroy(&tree);

    /* taps in a policies document are ignored: they must already exist */
    const char *ok =
        "version: \"1.0\"\nvisor:\n  taps: {other: {input_type: mock}}\n"
        "  policies:\n"
        "    good: {kind: collection, input: {tap: anycast, input_type: pcap}, " MODS "}\n"
        "    good2: {kind: collection, input: {tap: anycast, input_type: pcap}, " MODS "}\n";
    config_init(&tree);
    assert_int_equal(config_parse(ok, strlen(ok), CONFIG_FORMAT_AUTO, &tree, err, sizeof(err)), 0);
    assert_int_equal(config_add_policies(vc, &tree, err, sizeof(err)), 0);
    config_destroy(&tree);
    assert_int_equal(vc->npolicies, 3);
    assert_int_equal(vc->ntaps, 1);
    assert_string_equal(config_find_policy(vc, "good2")->modules[0].name, "good2-n");

    /* DELETE frees the names: the same policy can be added again */
    assert_int_equal(config_remove_policy(vc, "good"), 0);
    assert_int_equal(config_remove_policy(vc, "good"), -1);
    assert_int_equal(vc->npolicies, 2);
    assert_string_equal(vc->policies[1].name, "good2");
    config_init(&tree);
    assert_int_equal(config_parse(ok, strlen(ok), CONFIG_FORMAT_AUTO, &tree, err, sizeof(err)), 0);
    assert_int_equal(config_add_policies(vc, &tree, err, sizeof(err)), -1);
    assert_string_equal(err, "policy with name 'good2' already defined");
    config_destroy(&tree);
    assert_int_equal(vc->npolicies, 2);
    config_free(&vc);
}

/* ---------------------------------------------------------------- hostile */

static char *repeat(const char *unit, size_t n, const char *tail)
{
    size_t ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(ul * n + tl + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    memcpy(s + ul * n, tail, tl + 1);
    return s;
}

static void test_hostile_deep_nesting(void **state)
{
    (void)state;
    char *s = repeat("[", 10000, "");
    load_err(s, strlen(s), CONFIG_FORMAT_YAML, "invalid schema"); /* top level is not a map */
    free(s);
    s = repeat("[", 10000, "");
    memcpy(s, "a: ", 3);
    load_err(s, strlen(s), CONFIG_FORMAT_YAML,
             "configuration nested deeper than 32 levels (line 1)");
    free(s);
    s = repeat("{a: ", 10000, "");
    load_err(s, strlen(s), CONFIG_FORMAT_YAML,
             "configuration nested deeper than 32 levels (line 1)");
    free(s);
    /* block style: 10000 indented levels */
    char *b = malloc(1 << 20);
    size_t len = 0;
    for (int i = 0; i < 400; i++) {
        len += (size_t)snprintf(b + len, (1 << 20) - len, "%*sk:\n", i, "");
    }
    load_err(b, len, CONFIG_FORMAT_YAML, "configuration nested deeper than 32 levels (line 33)");
    free(b);
    s = repeat("a = {", 10000, "");
    load_err(s, strlen(s), CONFIG_FORMAT_LIBCONFIG,
             "configuration nested deeper than 32 levels (line 1)");
    free(s);
    /* 32 levels are fine: root, visor, 30 sequences */
    s = repeat("[", 30, "");
    char *t = malloc(strlen(s) + 64);
    snprintf(t, strlen(s) + 64, "version: \"1.0\"\nvisor: {x: %s", s);
    free(s);
    s = repeat("]", 30, "}\n");
    t = realloc(t, strlen(t) + strlen(s) + 1);
    strcat(t, s);
    free(s);
    struct visor_config *vc = load_ok(t);
    config_free(&vc);
    free(t);
    /* and one more is not */
    s = repeat("[", 31, "");
    t = malloc(strlen(s) + 64);
    snprintf(t, strlen(s) + 64, "version: \"1.0\"\nvisor: {x: %s", s);
    free(s);
    s = repeat("]", 31, "}\n");
    t = realloc(t, strlen(t) + strlen(s) + 1);
    strcat(t, s);
    free(s);
    load_err(t, strlen(t), CONFIG_FORMAT_YAML,
             "configuration nested deeper than 32 levels (line 2)");
    free(t);
}

static void test_hostile_size(void **state)
{
    (void)state;
    size_t n = 5u << 20;
    char *s = malloc(n);
    memset(s, 'a', n);
    load_err(s, n, CONFIG_FORMAT_AUTO, "configuration larger than 1048576 bytes");
    /* a file of 5 MiB too, without reading it all */
    char *path = strdup("/tmp/test_config_big_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, s, n), (ssize_t)n);
    close(fd);
    struct visor_config *vc = NULL;
    char err[512];
    assert_int_equal(config_load_file(path, CONFIG_FORMAT_AUTO, &vc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "configuration larger than 1048576 bytes"));
    unlink(path);
    free(path);
    free(s);
    /* many nodes under the size limit */
    s = repeat("- a\n", 20000, "");
    memcpy(s, "a:\n", 3);
    load_err(s, strlen(s), CONFIG_FORMAT_YAML, "configuration has more than 10000 nodes");
    free(s);
    s = repeat("k1 = 1;", 30000, "");
    load_err(s, strlen(s), CONFIG_FORMAT_LIBCONFIG, "configuration has more than 10000 nodes");
    free(s);
    s = repeat("1,", 30000, "");
    char *t = malloc(strlen(s) + 16);
    sprintf(t, "a = [%s1];", s);
    load_err(t, strlen(t), CONFIG_FORMAT_LIBCONFIG, "configuration has more than 10000 nodes");
    free(t);
    free(s);
}

static void test_hostile_yaml_features(void **state)
{
    (void)state;
    const char *laughs = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                         "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                         "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                         "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                         "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                         "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                         "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                         "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                         "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    load_err(laughs, strlen(laughs), CONFIG_FORMAT_AUTO, "YAML anchors are not supported (line 1)");
    const char *alias = "version: \"1.0\"\nvisor: *x\n";
    load_err(alias, strlen(alias), CONFIG_FORMAT_AUTO, NULL);
    const char *tag = "version: !!str 1.0\nvisor: {}\n";
    load_err(tag, strlen(tag), CONFIG_FORMAT_AUTO, "YAML tags are not supported (line 1)");
    const char *multi = "version: \"1.0\"\nvisor: {}\n---\nversion: \"1.0\"\nvisor: {}\n";
    load_err(multi, strlen(multi), CONFIG_FORMAT_AUTO,
             "multiple YAML documents are not supported (line 3)");
    const char *key = "version: \"1.0\"\n? [a, b]\n: c\n";
    load_err(key, strlen(key), CONFIG_FORMAT_AUTO, "YAML keys must be scalars (line 2)");
    const char *mkey = "{a: b}: c\n";
    load_err(mkey, strlen(mkey), CONFIG_FORMAT_AUTO, "YAML keys must be scalars (line 1)");
    const char *nul = "version: \"1.0\\0\"\nvisor: {}\n";
    load_err(nul, strlen(nul), CONFIG_FORMAT_AUTO, "NUL character in YAML scalar (line 1)");
    const char *syntax = "version: \"1.0\nvisor: {\n";
    load_err(syntax, strlen(syntax), CONFIG_FORMAT_AUTO, NULL);
    const char *scalar = "just a string\n";
    load_err(scalar, strlen(scalar), CONFIG_FORMAT_AUTO, "invalid schema");
}

static void test_hostile_bytes(void **state)
{
    (void)state;
    load_err("", 0, CONFIG_FORMAT_AUTO, "empty configuration");
    load_err("", 0, CONFIG_FORMAT_YAML, "empty configuration");
    load_err("# only a comment\n", 17, CONFIG_FORMAT_AUTO, "empty configuration");
    load_err("", 0, CONFIG_FORMAT_LIBCONFIG, "missing or unsupported version");
    const char bad_utf8[] = "version: \"1.0\"\nvisor: {config: {x: \"\xc3\x28\"}}\n";
    load_err(bad_utf8, sizeof(bad_utf8) - 1, CONFIG_FORMAT_AUTO,
             "configuration is not valid UTF-8");
    const char overlong[] = "a: \xc0\xaf\n";
    load_err(overlong, sizeof(overlong) - 1, CONFIG_FORMAT_YAML,
             "configuration is not valid UTF-8");
    const char surrogate[] = "a: \xed\xa0\x80\n";
    load_err(surrogate, sizeof(surrogate) - 1, CONFIG_FORMAT_LIBCONFIG,
             "configuration is not valid UTF-8");
    const char nul[] = "version: \"1.0\"\0visor: {}\n";
    load_err(nul, sizeof(nul) - 1, CONFIG_FORMAT_AUTO, "configuration contains a NUL byte");
    /* a UTF-8 byte order mark is fine in both formats */
    const char bom[] = "\xef\xbb\xbfversion = \"1.0\"; visor = {};";
    struct visor_config *vc = load_ok(bom);
    config_free(&vc);
    /* deterministic binary garbage */
    uint32_t x = 12345;
    unsigned char buf[4096];
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + (size_t)(round * 37 % 4096);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (unsigned char)(x >> 16);
        }
        for (int f = 0; f < 3; f++) {
            char err[512] = "";
            vc = NULL;
            assert_int_equal(config_load_string((const char *)buf, n, (enum config_format)f, &vc,
                                                err, sizeof(err)),
                             -1);
            assert_null(vc);
            assert_true(err[0] != '\0');
        }
    }
    /* printable garbage, which gets further into both parsers */
    static const char alphabet[] = "{}[]()=:;,\"'#-&*!?|>% \n\tab1_.";
    for (int round = 0; round < 500; round++) {
        size_t n = 1 + (size_t)(round * 13 % 600);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (unsigned char)alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
        }
        for (int f = 0; f < 3; f++) {
            char err[512] = "";
            vc = NULL;
            if (config_load_string((const char *)buf, n, (enum config_format)f, &vc, err,
                                   sizeof(err)) == 0)
                config_free(&vc);
            else
                assert_true(err[0] != '\0');
        }
    }
}

/* merging copies tap config into each policy: bounded, not multiplied */
static void test_hostile_amplification(void **state)
{
    (void)state;
    size_t cap = 1 << 20, len = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    len += (size_t)snprintf(t + len, cap - len,
                            "version: \"1.0\"\nvisor:\n  taps:\n    t:\n      input_type: pcap\n"
                            "      config:\n        iface: eth0\n        big:\n");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(t + len, cap - len, "          - x%d\n", i);
    len += (size_t)snprintf(t + len, cap - len, "  policies:\n");
    for (int i = 0; i < 30; i++)
        len += (size_t)snprintf(t + len, cap - len,
                                "    p%d: {kind: collection, input: {tap: t, input_type: pcap}, "
                                "handlers: {modules: {}}}\n",
                                i);
    load_err(t, len, CONFIG_FORMAT_YAML, "configuration expands to more than 100000 options");
    free(t);

    char keys[2048];
    len = 0;
    for (int i = 0; i < 65; i++)
        len += (size_t)snprintf(keys + len, sizeof(keys) - len, "k%d: 1, ", i);
    char doc[4096];
    snprintf(doc, sizeof(doc),
             HEAD "    p: {kind: collection, " INPUT
                  ", handlers: {modules: {n: {type: net, config: {%s}}}}}\n",
             keys);
    load_err(doc, strlen(doc), CONFIG_FORMAT_YAML,
             "invalid stream handler config for handler 'n': more than 64 keys");
}

static void test_free_null(void **state)
{
    (void)state;
    struct visor_config *vc = NULL;
    config_free(&vc);
    config_free(NULL);
    assert_null(config_find_tap(NULL, "x"));
}

/* workers (ours): default 1, 1..CONFIG_WORKERS_MAX, from the tap or the
 * policy's input config. */
static void test_workers(void **state)
{
    (void)state;
#define WTAP(cfg)                                                                                  \
    "version: \"1.0\"\nvisor:\n  taps:\n    t: {input_type: pcap, config: {iface: eth0" cfg        \
    "}}\n  policies:\n    p: {kind: collection, input: {tap: t, input_type: pcap}, handlers: "     \
    "{modules: {d: {type: dns}}}}\n"
    struct visor_config *vc = load_ok(WTAP(""));
    assert_int_equal(config_find_policy(vc, "p")->input.workers, 1);
    config_free(&vc);
    vc = load_ok(WTAP(", workers: 8"));
    assert_int_equal(config_find_policy(vc, "p")->input.workers, 8);
    config_free(&vc);
    size_t n = strlen(WTAP(", workers: 0"));
    load_err(WTAP(", workers: 0"), n, CONFIG_FORMAT_AUTO,
             "unable to instantiate tap 't': config key 'workers' must be between 1 and 8");
    n = strlen(WTAP(", workers: 9"));
    load_err(WTAP(", workers: 9"), n, CONFIG_FORMAT_AUTO,
             "unable to instantiate tap 't': config key 'workers' must be between 1 and 8");
    n = strlen(WTAP(", workers: two"));
    load_err(WTAP(", workers: two"), n, CONFIG_FORMAT_AUTO, "invalid value for key: workers");
#undef WTAP
}

int main(void)
{
    size_t nerr = sizeof(err_cases) / sizeof(err_cases[0]);
    assert_true(nerr == sizeof(err_names) / sizeof(err_names[0]));
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_spec_example_pcap_file),
        cmocka_unit_test(test_iface_default),
        cmocka_unit_test(test_iface_default_clamps),
        cmocka_unit_test(test_scalar_typing),
        cmocka_unit_test(test_merge_order),
        cmocka_unit_test(test_clamping),
        cmocka_unit_test(test_libconfig_same_structs),
        cmocka_unit_test(test_libconfig_syntax_error),
        cmocka_unit_test(test_load_file_and_detection),
        cmocka_unit_test(test_add_policies_transactional),
        cmocka_unit_test(test_hostile_deep_nesting),
        cmocka_unit_test(test_hostile_size),
        cmocka_unit_test(test_hostile_yaml_features),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_hostile_amplification),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_workers),
    };
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    struct CMUnitTest *tests = calloc(nfixed + nerr, sizeof(*tests));
    char(*names)[64] = calloc(nerr, sizeof(*names));
    if (!tests || !names)
        return 1;
    memcpy(tests, fixed, sizeof(fixed));
    /* one test case per error string, named after it */
    for (size_t i = 0; i < nerr; i++) {
        snprintf(names[i], sizeof(names[i]), "error_%s", err_names[i]);
        tests[nfixed + i] = (struct CMUnitTest){
            .name = names[i], .test_func = run_err_case, .initial_state = (void *)&err_cases[i]};
    }
    int rc = _cmocka_run_group_tests("test_config", tests, nfixed + nerr, NULL, NULL);
    free(tests);
    free(names);
    return rc;
}
