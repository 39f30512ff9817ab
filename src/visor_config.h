/*
 * visor_config.h - the agent's configuration: pktvisor's YAML (SPEC 5) or
 * libconfig syntax, read into one libconfig tree and validated in one place
 * into plain C structs (DESIGN.md section 6).
 *
 * (Named visor_config.h, not config.h: a src/config.h would shadow the
 * autoconf config.h that src/pktvisor_pcap.c includes with quotes.)
 *
 * Two steps:
 *   1. config_parse(): text -> libconfig config_t tree.  YAML is read with
 *      libyaml's event API: maps become groups, sequences lists (their
 *      scalars strings), scalars are typed by SPEC 5's rule (`[0-9]+`
 *      unsigned integer up to 2^63-1 stored as int64, true/false in any case
 *      boolean, anything else string; quoting does not change the type, as
 *      in pktvisor).  Anchors, aliases, tags, several documents and
 *      non-scalar keys are rejected.  A key starting with '_' is stored as
 *      "*_..." because libconfig names cannot start with '_'; the validator
 *      undoes this, and libconfig-syntax files spell such names "*_name".
 *      Limits for hostile input: CONFIG_MAX_INPUT bytes, CONFIG_MAX_DEPTH
 *      nested maps/sequences, CONFIG_MAX_NODES nodes; the input must be
 *      UTF-8 without NUL bytes; libconfig's @include is refused.  Because
 *      merging copies tap config into every policy and window_config into
 *      every module, a config map holds at most CONFIG_MAX_OPTS keys and a
 *      document expands to at most CONFIG_MAX_UNITS options.
 *   2. config_add_*(): tree -> struct visor_config, one validation path for
 *      the file, the IFACE shortcut (SPEC 1.1 step 7, built as a tree) and
 *      the admin API's POST /api/v1/policies.  Every config_add_* call is
 *      transactional: it adds all taps and policies of its document or
 *      nothing, and the error strings are SPEC 5's.
 *
 * Format detection (CONFIG_FORMAT_AUTO): a file named *.yaml or *.yml is
 * YAML, *.conf or *.cfg libconfig; otherwise the content decides: libconfig
 * when the first thing after blanks and '#' comment lines is a "//" or
 * "/ *" comment or a name followed by '=', YAML in every other case.  (So a
 * libconfig file written with ':' assignments needs its extension or an
 * explicit format.)
 *
 * Values: tap config, merged input config and handler options are arrays of
 * struct handler_opt (aggregator/handler.h); libconfig-syntax values map to
 * them as int >= 0 -> HOPT_UINT, bool -> HOPT_BOOL, string -> HOPT_STRING
 * (strings are not re-typed), array or list of strings -> HOPT_LIST; a
 * nested group, a float or a negative number is "invalid value for key: K".
 * An empty list has nlist 0 and list NULL.
 *
 * Tap input types: "pcap" and "mock" (SPEC 5 lists both as available in
 * pktvisor 3.3; "mock" needs no config keys, what it generates is the
 * input's business).  Known pcap keys are type-checked: iface, host_spec,
 * bpf, pcap_file (strings), pcap_source (libpcap|af_packet|mock),
 * replay_pps (unsigned, only with pcap_file), debug (bool), workers
 * (ours: 1..CONFIG_WORKERS_MAX capture workers); other keys pass through.  A pcap input needs
 * exactly one of iface and pcap_file, unless pcap_source is mock.
 *
 * Ownership and lifetime: a struct visor_config and every string and array
 * reachable from it are owned by that struct and live until config_free(),
 * which NULLs the caller's pointer.  The struct config_input pointers point
 * into the policy's own input_config strings.  A failed config_add_* leaves
 * the struct exactly as it was.  Not thread-safe; the supervisor owns it.
 */
#ifndef PKTVISOR_VISOR_CONFIG_H
#define PKTVISOR_VISOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "handler.h"

#define CONFIG_MAX_INPUT (1024 * 1024) /* bytes of configuration text */
#define CONFIG_MAX_DEPTH 32            /* nested maps and sequences */
#define CONFIG_MAX_NODES 10000         /* maps, sequences and scalars */
#define CONFIG_NAME_MAX  63            /* so "<policy>-<key>" fits handler name[128] */
#define CONFIG_MAX_OPTS  64            /* keys in one config/filter/window_config map */
#define CONFIG_MAX_UNITS 100000        /* options + list elements after merging */

#define CONFIG_PERIODS_DEFAULT     5
#define CONFIG_PERIODS_MAX         10
#define CONFIG_DEEP_SAMPLE_DEFAULT 100
#define CONFIG_WORKERS_MAX         8 /* a tap's capture workers */

enum config_format { CONFIG_FORMAT_AUTO, CONFIG_FORMAT_YAML, CONFIG_FORMAT_LIBCONFIG };

struct config_tap {
    char *name;
    char *input_type; /* "pcap" or "mock" */
    struct handler_opt *config;
    size_t nconfig;
};

/* The known keys of a merged pcap input config; NULL / 0 when absent. */
struct config_input {
    const char *iface;
    const char *host_spec;
    const char *bpf;
    const char *pcap_source; /* libpcap | af_packet | mock */
    const char *pcap_file;
    uint64_t replay_pps;
    uint64_t workers; /* capture workers (ours): 1..CONFIG_WORKERS_MAX, default 1 */
    bool debug;
};

struct config_window {
    uint32_t num_periods;      /* clamped to 1..10, default 5 */
    uint32_t deep_sample_rate; /* clamped to 1..100, default 100 */
};

struct config_module {
    char *key;  /* the key under handlers.modules, e.g. "special_domain" */
    char *type; /* net | dns | dhcp | pcap */
    char *name; /* instance name "<policy>-<key>" */
    /* config, then filter, then window_config (whose clamped num_periods
     * and deep_sample_rate are always present). */
    struct handler_opt *opts;
    size_t nopts;
};

struct config_policy {
    char *name;
    char *kind;       /* "collection" */
    char *tap;        /* name of an existing tap */
    char *input_type; /* equals the tap's */
    char *input_name; /* input stream instance "<tap>-<policy>" */
    /* tap config, then input filter, then input config */
    struct handler_opt *input_config;
    size_t ninput_config;
    struct config_input input;
    struct config_window window;
    struct config_module *modules;
    size_t nmodules;
};

struct visor_config {
    bool verbose; /* visor.config.verbose */
    struct config_tap *taps;
    size_t ntaps;
    struct config_policy *policies;
    size_t npolicies;
};

/* An empty configuration (no taps, no policies); NULL when out of memory. */
struct visor_config *config_new(void);
void config_free(struct visor_config **vc);

/* Text -> tree.  tree must be config_init()ed by the caller, who destroys
 * it.  0, or -1 with a message in err. */
int config_parse(const char *text, size_t len, enum config_format fmt, config_t *tree, char *err,
                 size_t errlen);

/* Apply a whole document (version, visor.config, visor.taps,
 * visor.policies) to vc: all or nothing. */
int config_add_document(struct visor_config *vc, const config_t *tree, char *err, size_t errlen);

/* POST /api/v1/policies: a document with version and visor.policies whose
 * taps already exist in vc; visor.taps and visor.config are ignored.  All
 * policies or none. */
int config_add_policies(struct visor_config *vc, const config_t *tree, char *err, size_t errlen);

/* SPEC 1.1 step 7: the default tap and policy for IFACE, built as a tree
 * and validated by config_add_document().  host_spec and bpf may be NULL
 * (empty); periods and deep_sample_rate are clamped like the file's. */
int config_add_default(struct visor_config *vc, const char *iface, const char *host_spec,
                       const char *bpf, uint64_t periods, uint64_t deep_sample_rate, char *err,
                       size_t errlen);

/* Parse and apply to a new configuration.  *out is set only on success. */
int config_load_string(const char *text, size_t len, enum config_format fmt,
                       struct visor_config **out, char *err, size_t errlen);
/* The same for a file; CONFIG_FORMAT_AUTO looks at the extension first. */
int config_load_file(const char *path, enum config_format fmt, struct visor_config **out, char *err,
                     size_t errlen);

/* Remove the policy named name (admin API DELETE); -1 if there is none. */
int config_remove_policy(struct visor_config *vc, const char *name);

const struct config_tap *config_find_tap(const struct visor_config *vc, const char *name);
const struct config_policy *config_find_policy(const struct visor_config *vc, const char *name);
/* The option named key in opts[0..n), or NULL. */
const struct handler_opt *config_opt_find(const struct handler_opt *opts, size_t n,
                                          const char *key);

#endif
