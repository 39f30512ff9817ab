/*
 * visor_config.c - YAML / libconfig text -> libconfig tree -> struct
 * visor_config.  See visor_config.h for the rules; SPEC 5 for the format.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "visor_config.h"
#include "log.h"

/* ---------------------------------------------------------------- helpers */

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* SPEC 5: [a-zA-Z_][a-zA-Z0-9_-]*, bounded so instance names fit. */
static bool name_ok_n(const char *s, size_t len)
{
    if (len == 0 || len > CONFIG_NAME_MAX || !(is_alpha(s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static bool name_ok(const char *s)
{
    return s && name_ok_n(s, strlen(s));
}

/* A setting's name with the "*_" escape for a leading '_' undone. */
static const char *key_of(const config_setting_t *s)
{
    const char *n = config_setting_name(s);
    if (n && n[0] == '*' && n[1] == '_')
        return n + 1;
    return n ? n : "";
}

static const config_setting_t *member(const config_setting_t *g, const char *name)
{
    if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP)
        return NULL;
    return config_setting_get_member(g, name);
}

static bool is_group(const config_setting_t *s)
{
    return s && config_setting_type(s) == CONFIG_TYPE_GROUP;
}

/* The text of a scalar (pktvisor reads kind, tap, type... as strings
 * whatever their YAML type); NULL for anything else. */
static const char *scalar_text(const config_setting_t *s, char *buf, size_t len)
{
    if (!s)
        return NULL;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING:
        return config_setting_get_string(s); /* NULL only if never set */
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        snprintf(buf, len, "%lld", config_setting_get_int64(s));
        return buf;
    case CONFIG_TYPE_BOOL:
        return config_setting_get_bool(s) ? "true" : "false";
    default:
        return NULL;
    }
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

static size_t bom_len(const char *t, size_t len)
{
    return len >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

/* ------------------------------------------------------------ YAML -> tree */

struct yaml_frame {
    config_setting_t *set;
    bool is_map;
    char *key; /* a map's pending key, in libconfig spelling, or NULL */
};

/* Store a scalar under parent (a group when key is set, else a list),
 * typed by SPEC 5's rule unless it is a sequence element (string list). */
static config_setting_t *yaml_add_scalar(config_setting_t *parent, const char *key, const char *v,
                                         size_t len, bool typed)
{
    config_setting_t *s;
    bool digits = typed && len > 0;
    for (size_t i = 0; digits && i < len; i++)
        digits = is_digit(v[i]);
    if (digits) {
        uint64_t u = 0;
        bool fits = true;
        for (size_t i = 0; i < len && fits; i++) {
            unsigned d = (unsigned)(v[i] - '0');
            if (u > ((uint64_t)INT64_MAX - d) / 10)
                fits = false;
            else
                u = u * 10 + d;
        }
        /* Beyond int64 it stays a string: a key that needs a number then
         * reports "invalid value for key". */
        if (fits) {
            s = config_setting_add(parent, key, CONFIG_TYPE_INT64);
            if (s)
                config_setting_set_int64(s, (long long)u);
            return s;
        }
    }
    if (typed && ((len == 4 && strncasecmp(v, "true", 4) == 0) ||
                  (len == 5 && strncasecmp(v, "false", 5) == 0))) {
        s = config_setting_add(parent, key, CONFIG_TYPE_BOOL);
        if (s)
            config_setting_set_bool(s, len == 4);
        return s;
    }
    s = config_setting_add(parent, key, CONFIG_TYPE_STRING);
    if (s && config_setting_set_string(s, v) != CONFIG_TRUE)
        return NULL;
    return s;
}

static int yaml_reject_extras(const char *anchor, const char *tag, size_t line, char *err,
                              size_t errlen)
{
    if (anchor) {
        err_set(err, errlen, "YAML anchors are not supported (line %zu)", line);
        return -1;
    }
    if (tag) {
        err_set(err, errlen, "YAML tags are not supported (line %zu)", line);
        return -1;
    }
    return 0;
}

static int yaml_to_tree(const char *text, size_t len, config_t *tree, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_event_t ev;
    struct yaml_frame st[CONFIG_MAX_DEPTH];
    size_t depth = 0, nodes = 0;
    bool have_doc = false, have_root = false, done = false, have_ev = false;
    int rc = -1;

    if (!yaml_parser_initialize(&p)) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);

    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR)
                err_set(err, errlen, "out of memory");
            else if (p.error == YAML_READER_ERROR)
                err_set(err, errlen, "YAML error at byte %zu: %s", p.problem_offset,
                        p.problem ? p.problem : "unreadable input");
            else
                err_set(err, errlen, "YAML syntax error at line %zu column %zu: %s",
                        p.problem_mark.line + 1, p.problem_mark.column + 1,
                        p.problem ? p.problem : "unknown problem");
            goto out;
        }
        have_ev = true;
        size_t line = ev.start_mark.line + 1;
        struct yaml_frame *top = depth ? &st[depth - 1] : NULL;

        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_NO_EVENT:
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (have_doc) {
                err_set(err, errlen, "multiple YAML documents are not supported (line %zu)", line);
                goto out;
            }
            have_doc = true;
            if (ev.data.document_start.tag_directives.start !=
                ev.data.document_start.tag_directives.end) {
                err_set(err, errlen, "YAML tags are not supported (line %zu)", line);
                goto out;
            }
            break;
        case YAML_ALIAS_EVENT:
            err_set(err, errlen, "YAML aliases are not supported (line %zu)", line);
            goto out;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            size_t vlen = ev.data.scalar.length;
            if (yaml_reject_extras((const char *)ev.data.scalar.anchor,
                                   (const char *)ev.data.scalar.tag, line, err, errlen) < 0)
                goto out;
            if (++nodes > CONFIG_MAX_NODES) {
                err_set(err, errlen, "configuration has more than %d nodes", CONFIG_MAX_NODES);
                goto out;
            }
            if (!top) {
                err_set(err, errlen, "invalid schema");
                goto out;
            }
            if (memchr(v, '\0', vlen)) {
                err_set(err, errlen, "NUL character in YAML scalar (line %zu)", line);
                goto out;
            }
            if (top->is_map && !top->key) {
                if (!name_ok_n(v, vlen)) {
                    err_set(err, errlen,
                            "invalid key '%.*s' (line %zu): keys must match "
                            "[a-zA-Z_][a-zA-Z0-9_-]* and have at most %d characters",
                            (int)(vlen > 64 ? 64 : vlen), v, line, CONFIG_NAME_MAX);
                    goto out;
                }
                top->key = str_printf("%s%s", v[0] == '_' ? "*" : "", v);
                if (!top->key) {
                    err_set(err, errlen, "out of memory");
                    goto out;
                }
                if (config_setting_get_member(top->set, top->key)) {
                    err_set(err, errlen, "duplicate key '%s' (line %zu)", v, line);
                    goto out;
                }
                break;
            }
            if (!yaml_add_scalar(top->set, top->is_map ? top->key : NULL, v, vlen, top->is_map)) {
                err_set(err, errlen, "out of memory");
                goto out;
            }
            free(top->key);
            top->key = NULL;
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            bool is_map = ev.type == YAML_MAPPING_START_EVENT;
            const char *anchor = (const char *)(is_map ? ev.data.mapping_start.anchor
                                                       : ev.data.sequence_start.anchor);
            const char *tag =
                (const char *)(is_map ? ev.data.mapping_start.tag : ev.data.sequence_start.tag);
            config_setting_t *s;
            if (yaml_reject_extras(anchor, tag, line, err, errlen) < 0)
                goto out;
            if (++nodes > CONFIG_MAX_NODES) {
                err_set(err, errlen, "configuration has more than %d nodes", CONFIG_MAX_NODES);
                goto out;
            }
            if (depth == CONFIG_MAX_DEPTH) {
                err_set(err, errlen, "configuration nested deeper than %d levels (line %zu)",
                        CONFIG_MAX_DEPTH, line);
                goto out;
            }
            if (!top) {
                if (!is_map || have_root) {
                    err_set(err, errlen, "invalid schema");
                    goto out;
                }
                have_root = true;
                s = config_root_setting(tree);
            } else if (top->is_map && !top->key) {
                err_set(err, errlen, "YAML keys must be scalars (line %zu)", line);
                goto out;
            } else {
                s = config_setting_add(top->set, top->is_map ? top->key : NULL,
                                       is_map ? CONFIG_TYPE_GROUP : CONFIG_TYPE_LIST);
                if (!s) {
                    err_set(err, errlen, "out of memory");
                    goto out;
                }
                free(top->key);
                top->key = NULL;
            }
            st[depth++] = (struct yaml_frame){.set = s, .is_map = is_map, .key = NULL};
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth) {
                free(st[depth - 1].key);
                depth--;
            }
            break;
        }
        yaml_event_delete(&ev);
        have_ev = false;
    }
    if (!have_doc) {
        err_set(err, errlen, "empty configuration");
        goto out;
    }
    rc = 0;
out:
    if (have_ev)
        yaml_event_delete(&ev);
    while (depth)
        free(st[--depth].key);
    yaml_parser_delete(&p);
    return rc;
}

/* ------------------------------------------------------- libconfig -> tree */

/*
 * libconfig 1.5 parses everything before we can look at it, checks
 * duplicate names with a linear scan (quadratic in a group's size), follows
 * @include to any file, and leaks a string token that the grammar rejects.
 * So a cheap scan first bounds the work and refuses what would leak:
 * settings <= 1 + assignments + commas + list openers; depth <= open brackets; an
 * @include directive (at the start of a line, as libconfig's scanner wants
 * it); a string anywhere but a value's place (after '=' or ':', as an
 * element of an array or list, or glued to another string).
 */
static int libconfig_prescan(const char *t, size_t len, char *err, size_t errlen)
{
    size_t nodes = 1, depth = 0, line = 1;
    char open[CONFIG_MAX_DEPTH];
    char prev = 0; /* the previous significant character; '"' for a string */
    bool line_start = true;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (c == '\n') {
            line++;
            line_start = true;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')
            continue;
        if (line_start && c == '@' && len - i >= 8 && memcmp(t + i, "@include", 8) == 0) {
            err_set(err, errlen, "libconfig @include is not allowed (line %zu)", line);
            return -1;
        }
        line_start = false;
        if (c == '#' || (c == '/' && i + 1 < len && t[i + 1] == '/')) {
            while (i + 1 < len && t[i + 1] != '\n')
                i++;
            continue;
        }
        if (c == '/' && i + 1 < len && t[i + 1] == '*') {
            for (i += 2; i + 1 < len && !(t[i] == '*' && t[i + 1] == '/'); i++)
                if (t[i] == '\n')
                    line++;
            i++;
            continue;
        }
        if (c == '"') {
            bool in_seq = depth && (open[depth - 1] == '[' || open[depth - 1] == '(');
            if (!(prev == '=' || prev == ':' || prev == '"' ||
                  (in_seq && (prev == '[' || prev == '(' || prev == ',')))) {
                err_set(err, errlen, "libconfig syntax error at line %zu: misplaced string", line);
                return -1;
            }
            for (i++; i < len && t[i] != '"'; i++) {
                if (t[i] == '\\')
                    i++;
                else if (t[i] == '\n')
                    line++;
            }
        } else if (c == '=' || c == ':' || c == ',') {
            nodes++;
        } else if (c == '{' || c == '(' || c == '[') {
            nodes += c != '{'; /* a group is counted by its '=', a list's first element here */
            if (depth + 1 >= CONFIG_MAX_DEPTH) {
                err_set(err, errlen, "configuration nested deeper than %d levels (line %zu)",
                        CONFIG_MAX_DEPTH, line);
                return -1;
            }
            open[depth++] = c;
        } else if (c == '}' || c == ')' || c == ']') {
            if (depth)
                depth--;
        }
        prev = c;
        if (nodes > CONFIG_MAX_NODES) {
            err_set(err, errlen, "configuration has more than %d nodes", CONFIG_MAX_NODES);
            return -1;
        }
    }
    return 0;
}

static int libconfig_to_tree(const char *text, size_t len, config_t *tree, char *err, size_t errlen)
{
    if (libconfig_prescan(text, len, err, errlen) < 0)
        return -1;
    char *buf = malloc(len + 1);
    if (!buf) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    int ok = config_read_string(tree, buf);
    free(buf);
    if (ok != CONFIG_TRUE) {
        err_set(err, errlen, "libconfig syntax error at line %d: %s", config_error_line(tree),
                config_error_text(tree) ? config_error_text(tree) : "unknown error");
        return -1;
    }
    return 0;
}

/* Both formats end here: the limits hold for whatever tree we validate. */
static int tree_check(const config_setting_t *s, size_t level, size_t *nodes, char *err,
                      size_t errlen)
{
    if (++*nodes > CONFIG_MAX_NODES) {
        err_set(err, errlen, "configuration has more than %d nodes", CONFIG_MAX_NODES);
        return -1;
    }
    if (!config_setting_is_aggregate(s))
        return 0;
    if (level > CONFIG_MAX_DEPTH) {
        err_set(err, errlen, "configuration nested deeper than %d levels", CONFIG_MAX_DEPTH);
        return -1;
    }
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++)
        if (tree_check(config_setting_get_elem(s, (unsigned)i), level + 1, nodes, err, errlen) < 0)
            return -1;
    return 0;
}

static enum config_format detect_format(const char *t, size_t len)
{
    size_t i = bom_len(t, len);
    for (;;) {
        while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
            i++;
        if (i < len && t[i] == '#') {
            while (i < len && t[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    if (i + 1 < len && t[i] == '/' && (t[i + 1] == '/' || t[i + 1] == '*'))
        return CONFIG_FORMAT_LIBCONFIG;
    if (i < len && (is_alpha(t[i]) || t[i] == '*')) {
        while (i < len &&
               (is_alpha(t[i]) || is_digit(t[i]) || t[i] == '_' || t[i] == '-' || t[i] == '*'))
            i++;
        while (i < len && (t[i] == ' ' || t[i] == '\t'))
            i++;
        if (i < len && t[i] == '=')
            return CONFIG_FORMAT_LIBCONFIG;
    }
    return CONFIG_FORMAT_YAML;
}

int config_parse(const char *text, size_t len, enum config_format fmt, config_t *tree, char *err,
                 size_t errlen)
{
    if (!text || !tree) {
        err_set(err, errlen, "no configuration");
        return -1;
    }
    if (len > CONFIG_MAX_INPUT) {
        err_set(err, errlen, "configuration larger than %d bytes", CONFIG_MAX_INPUT);
        return -1;
    }
    if (memchr(text, '\0', len)) {
        err_set(err, errlen, "configuration contains a NUL byte");
        return -1;
    }
    if (!utf8_valid((const unsigned char *)text, len)) {
        err_set(err, errlen, "configuration is not valid UTF-8");
        return -1;
    }
    if (fmt == CONFIG_FORMAT_AUTO)
        fmt = detect_format(text, len);
    int rc;
    if (fmt == CONFIG_FORMAT_YAML) {
        rc = yaml_to_tree(text, len, tree, err, errlen);
    } else {
        size_t skip = bom_len(text, len);
        rc = libconfig_to_tree(text + skip, len - skip, tree, err, errlen);
    }
    if (rc < 0)
        return -1;
    size_t nodes = 0;
    return tree_check(config_root_setting(tree), 1, &nodes, err, errlen);
}

/* ---------------------------------------------------------------- options */

static void opt_clear(struct handler_opt *o)
{
    free((void *)o->key);
    free((void *)o->s);
    for (size_t i = 0; i < o->nlist; i++)
        free((void *)o->list[i]);
    free((void *)o->list);
    memset(o, 0, sizeof(*o));
}

static void opts_free(struct handler_opt *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        opt_clear(&v[i]);
    free(v);
}

static int opt_copy(struct handler_opt *dst, const struct handler_opt *src)
{
    *dst = (struct handler_opt){.type = src->type, .u = src->u, .b = src->b};
    dst->key = strdup(src->key);
    if (!dst->key)
        goto fail;
    if (src->s && !(dst->s = strdup(src->s)))
        goto fail;
    if (src->nlist) {
        char **l = calloc(src->nlist, sizeof(*l));
        if (!l)
            goto fail;
        dst->list = (const char *const *)l;
        for (size_t i = 0; i < src->nlist; i++) {
            if (!(l[i] = strdup(src->list[i])))
                goto fail;
            dst->nlist = i + 1;
        }
    }
    return 0;
fail:
    opt_clear(dst);
    return -1;
}

/* Put o (its contents now owned by the array) into v, replacing an option
 * of the same key in place: the later section of a merge wins. */
static int opts_put(struct handler_opt **v, size_t *n, struct handler_opt *o)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*v)[i].key, o->key) == 0) {
            opt_clear(&(*v)[i]);
            (*v)[i] = *o;
            return 0;
        }
    }
    struct handler_opt *nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv) {
        opt_clear(o);
        return -1;
    }
    nv[*n] = *o;
    *v = nv;
    (*n)++;
    return 0;
}

static int opts_put_uint(struct handler_opt **v, size_t *n, const char *key, uint64_t u)
{
    struct handler_opt o = {.key = strdup(key), .type = HOPT_UINT, .u = u};
    if (!o.key)
        return -1;
    return opts_put(v, n, &o);
}

enum { OPT_OK = 0, OPT_INVALID = -1, OPT_NOMEM = -2 };

static int opt_from_setting(const config_setting_t *s, struct handler_opt *o)
{
    *o = (struct handler_opt){0};
    long long i;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        i = config_setting_get_int64(s);
        if (i < 0)
            return OPT_INVALID;
        o->type = HOPT_UINT;
        o->u = (uint64_t)i;
        break;
    case CONFIG_TYPE_BOOL:
        o->type = HOPT_BOOL;
        o->b = config_setting_get_bool(s);
        break;
    case CONFIG_TYPE_STRING:
        o->type = HOPT_STRING;
        if (!config_setting_get_string(s))
            return OPT_INVALID;
        if (!(o->s = strdup(config_setting_get_string(s))))
            return OPT_NOMEM;
        break;
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        int n = config_setting_length(s);
        o->type = HOPT_LIST;
        if (n <= 0)
            break;
        char **l = calloc((size_t)n, sizeof(*l));
        if (!l)
            return OPT_NOMEM;
        o->list = (const char *const *)l;
        for (int k = 0; k < n; k++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)k);
            char buf[32];
            const char *t = NULL;
            int et = config_setting_type(e);
            if (et == CONFIG_TYPE_STRING || et == CONFIG_TYPE_BOOL ||
                ((et == CONFIG_TYPE_INT || et == CONFIG_TYPE_INT64) &&
                 config_setting_get_int64(e) >= 0))
                t = scalar_text(e, buf, sizeof(buf));
            if (!t) {
                opt_clear(o);
                return OPT_INVALID;
            }
            if (!(l[k] = strdup(t))) {
                opt_clear(o);
                return OPT_NOMEM;
            }
            o->nlist = (size_t)k + 1;
        }
        break;
    }
    default: /* nested group, float */
        return OPT_INVALID;
    }
    if (!(o->key = strdup(key_of(s)))) {
        opt_clear(o);
        return OPT_NOMEM;
    }
    return OPT_OK;
}

/* Merge the map g into v.  -1 with why set to "invalid value for key: K",
 * "expecting a map" or "out of memory". */
static int opts_merge(const config_setting_t *g, struct handler_opt **v, size_t *n, char *why,
                      size_t whylen)
{
    if (!is_group(g)) {
        err_set(why, whylen, "expecting a map");
        return -1;
    }
    int len = config_setting_length(g);
    if (len > CONFIG_MAX_OPTS) {
        err_set(why, whylen, "more than %d keys", CONFIG_MAX_OPTS);
        return -1;
    }
    for (int i = 0; i < len; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        struct handler_opt o;
        int rc = opt_from_setting(s, &o);
        if (rc == OPT_INVALID) {
            err_set(why, whylen, "invalid value for key: %s", key_of(s));
            return -1;
        }
        if (rc == OPT_NOMEM || opts_put(v, n, &o) < 0) {
            err_set(why, whylen, "out of memory");
            return -1;
        }
    }
    return 0;
}

const struct handler_opt *config_opt_find(const struct handler_opt *opts, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(opts[i].key, key) == 0)
            return &opts[i];
    return NULL;
}

/* The pcap input keys we understand must have their type in every section
 * they appear in, so the error names the section that is wrong. */
static int input_keys_check(const struct handler_opt *v, size_t n, char *why, size_t whylen)
{
    static const struct {
        const char *key;
        enum handler_opt_type type;
    } known[] = {
        {"iface", HOPT_STRING},       {"host_spec", HOPT_STRING}, {"bpf", HOPT_STRING},
        {"pcap_source", HOPT_STRING}, {"pcap_file", HOPT_STRING}, {"replay_pps", HOPT_UINT},
        {"debug", HOPT_BOOL},         {"workers", HOPT_UINT},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        const struct handler_opt *o = config_opt_find(v, n, known[i].key);
        if (!o)
            continue;
        bool ok = o->type == known[i].type;
        if (ok && strcmp(o->key, "pcap_source") == 0)
            ok = strcmp(o->s, "libpcap") == 0 || strcmp(o->s, "af_packet") == 0 ||
                 strcmp(o->s, "mock") == 0;
        if (!ok) {
            err_set(why, whylen, "invalid value for key: %s", o->key);
            return -1;
        }
    }
    return 0;
}

/* Merge g into v after checking its own pcap keys. */
static int input_merge(const config_setting_t *g, bool pcap, struct handler_opt **v, size_t *n,
                       char *why, size_t whylen)
{
    struct handler_opt *sec = NULL;
    size_t nsec = 0;
    int rc = -1;
    if (opts_merge(g, &sec, &nsec, why, whylen) < 0)
        goto out;
    if (pcap && input_keys_check(sec, nsec, why, whylen) < 0)
        goto out;
    for (size_t i = 0; i < nsec; i++) {
        struct handler_opt o = sec[i];
        sec[i] = (struct handler_opt){0};
        if (opts_put(v, n, &o) < 0) {
            err_set(why, whylen, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    opts_free(sec, nsec);
    return rc;
}

/* ------------------------------------------------------------- structures */

static void tap_clear(struct config_tap *t)
{
    free(t->name);
    free(t->input_type);
    opts_free(t->config, t->nconfig);
    memset(t, 0, sizeof(*t));
}

static void module_clear(struct config_module *m)
{
    free(m->key);
    free(m->type);
    free(m->name);
    opts_free(m->opts, m->nopts);
    memset(m, 0, sizeof(*m));
}

static void policy_clear(struct config_policy *p)
{
    free(p->name);
    free(p->kind);
    free(p->tap);
    free(p->input_type);
    free(p->input_name);
    opts_free(p->input_config, p->ninput_config);
    for (size_t i = 0; i < p->nmodules; i++)
        module_clear(&p->modules[i]);
    free(p->modules);
    memset(p, 0, sizeof(*p));
}

struct visor_config *config_new(void)
{
    return calloc(1, sizeof(struct visor_config));
}

static void config_clear_all(struct visor_config *vc)
{
    for (size_t i = 0; i < vc->ntaps; i++)
        tap_clear(&vc->taps[i]);
    free(vc->taps);
    for (size_t i = 0; i < vc->npolicies; i++)
        policy_clear(&vc->policies[i]);
    free(vc->policies);
    memset(vc, 0, sizeof(*vc));
}

void config_free(struct visor_config **vc)
{
    if (!vc || !*vc)
        return;
    config_clear_all(*vc);
    free(*vc);
    *vc = NULL;
}

const struct config_tap *config_find_tap(const struct visor_config *vc, const char *name)
{
    for (size_t i = 0; vc && i < vc->ntaps; i++)
        if (strcmp(vc->taps[i].name, name) == 0)
            return &vc->taps[i];
    return NULL;
}

const struct config_policy *config_find_policy(const struct visor_config *vc, const char *name)
{
    for (size_t i = 0; vc && i < vc->npolicies; i++)
        if (strcmp(vc->policies[i].name, name) == 0)
            return &vc->policies[i];
    return NULL;
}

int config_remove_policy(struct visor_config *vc, const char *name)
{
    for (size_t i = 0; vc && i < vc->npolicies; i++) {
        if (strcmp(vc->policies[i].name, name) == 0) {
            policy_clear(&vc->policies[i]);
            memmove(&vc->policies[i], &vc->policies[i + 1],
                    (vc->npolicies - i - 1) * sizeof(vc->policies[0]));
            vc->npolicies--;
            return 0;
        }
    }
    return -1;
}

/* ------------------------------------------------------------- validation */

/* What a document adds before it is committed; lookups see vc and this. */
struct stage {
    const struct visor_config *vc;
    struct visor_config add;
    size_t units; /* options and list elements copied so far */
};

/* Tap config is copied into every policy and window_config into every
 * module: a budget keeps a small hostile document from multiplying. */
static bool stage_spend(struct stage *st, const struct handler_opt *v, size_t n, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        st->units += 1 + v[i].nlist;
    if (st->units > CONFIG_MAX_UNITS) {
        err_set(err, errlen, "configuration expands to more than %d options", CONFIG_MAX_UNITS);
        return false;
    }
    return true;
}

static const struct config_tap *stage_tap(const struct stage *st, const char *name)
{
    const struct config_tap *t = config_find_tap(st->vc, name);
    return t ? t : config_find_tap(&st->add, name);
}

static bool stage_input_taken(const struct stage *st, const char *name)
{
    for (int k = 0; k < 2; k++) {
        const struct visor_config *c = k ? &st->add : st->vc;
        for (size_t i = 0; i < c->npolicies; i++)
            if (strcmp(c->policies[i].input_name, name) == 0)
                return true;
    }
    return false;
}

static bool stage_handler_taken(const struct stage *st, const char *name)
{
    for (int k = 0; k < 2; k++) {
        const struct visor_config *c = k ? &st->add : st->vc;
        for (size_t i = 0; i < c->npolicies; i++)
            for (size_t j = 0; j < c->policies[i].nmodules; j++)
                if (strcmp(c->policies[i].modules[j].name, name) == 0)
                    return true;
    }
    return false;
}

static const char *const input_types[] = {"pcap", "mock"};
static const char *const handler_types[] = {"net", "dns", "dhcp", "pcap"};

static bool in_list(const char *s, const char *const *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, l[i]) == 0)
            return true;
    return false;
}

static int tap_build(const config_setting_t *s, struct config_tap *t, char *err, size_t errlen)
{
    const char *name = key_of(s);
    char buf[32], why[256];
    memset(t, 0, sizeof(*t));
    if (!name_ok(name)) {
        err_set(err, errlen, "invalid tap name '%s'", name);
        return -1;
    }
    if (!is_group(s)) {
        err_set(err, errlen, "expecting tap configuration map");
        return -1;
    }
    const char *type = scalar_text(member(s, "input_type"), buf, sizeof(buf));
    if (!type) {
        err_set(err, errlen, "missing or invalid tap type key 'input_type'");
        return -1;
    }
    if (!in_list(type, input_types, sizeof(input_types) / sizeof(input_types[0]))) {
        err_set(err, errlen, "Tap '%s' requires input stream type '%s' which is not available",
                name, type);
        return -1;
    }
    if (!(t->name = strdup(name)) || !(t->input_type = strdup(type)))
        goto nomem;
    const config_setting_t *cfg = member(s, "config");
    if (cfg) {
        if (!is_group(cfg)) {
            err_set(err, errlen, "tap configuration is not a map");
            goto fail;
        }
        if (input_merge(cfg, strcmp(type, "pcap") == 0, &t->config, &t->nconfig, why, sizeof(why)) <
            0) {
            err_set(err, errlen, "%s", why);
            goto fail;
        }
    }
    return 0;
nomem:
    err_set(err, errlen, "out of memory");
fail:
    tap_clear(t);
    return -1;
}

static void input_view(struct config_policy *p)
{
    const struct handler_opt *v = p->input_config;
    size_t n = p->ninput_config;
    const struct handler_opt *o;
    struct config_input *in = &p->input;
    memset(in, 0, sizeof(*in));
    if ((o = config_opt_find(v, n, "iface")) && o->type == HOPT_STRING)
        in->iface = o->s;
    if ((o = config_opt_find(v, n, "host_spec")) && o->type == HOPT_STRING)
        in->host_spec = o->s;
    if ((o = config_opt_find(v, n, "bpf")) && o->type == HOPT_STRING)
        in->bpf = o->s;
    if ((o = config_opt_find(v, n, "pcap_source")) && o->type == HOPT_STRING)
        in->pcap_source = o->s;
    if ((o = config_opt_find(v, n, "pcap_file")) && o->type == HOPT_STRING)
        in->pcap_file = o->s;
    if ((o = config_opt_find(v, n, "replay_pps")) && o->type == HOPT_UINT)
        in->replay_pps = o->u;
    if ((o = config_opt_find(v, n, "debug")) && o->type == HOPT_BOOL)
        in->debug = o->b;
    in->workers = 1;
    if ((o = config_opt_find(v, n, "workers")) && o->type == HOPT_UINT)
        in->workers = o->u;
}

/* What instantiating a pcap input would refuse, on the merged config. */
static int input_usable(const struct config_policy *p, char *why, size_t whylen)
{
    const struct config_input *in = &p->input;
    bool iface = in->iface && in->iface[0], file = in->pcap_file && in->pcap_file[0];
    bool mock = in->pcap_source && strcmp(in->pcap_source, "mock") == 0;
    if (strcmp(p->input_type, "pcap") != 0)
        return 0;
    if (iface && file) {
        err_set(why, whylen, "config keys 'iface' and 'pcap_file' are mutually exclusive");
        return -1;
    }
    if (file && in->pcap_source) {
        err_set(why, whylen, "config key 'pcap_source' does not apply to 'pcap_file'");
        return -1;
    }
    if (!iface && !file && !mock) {
        err_set(why, whylen, "missing config key 'iface' (or 'pcap_file')");
        return -1;
    }
    if (config_opt_find(p->input_config, p->ninput_config, "replay_pps") && !file) {
        err_set(why, whylen, "config key 'replay_pps' requires 'pcap_file'");
        return -1;
    }
    if (in->workers < 1 || in->workers > CONFIG_WORKERS_MAX) {
        err_set(why, whylen, "config key 'workers' must be between 1 and %d", CONFIG_WORKERS_MAX);
        return -1;
    }
    return 0;
}

static uint32_t clamp_u32(uint64_t v, uint32_t lo, uint32_t hi)
{
    return v < lo ? lo : v > hi ? hi : (uint32_t)v;
}

static int window_build(const config_setting_t *handlers, struct config_policy *p,
                        struct handler_opt **wv, size_t *wn, char *err, size_t errlen)
{
    char why[256];
    p->window.num_periods = CONFIG_PERIODS_DEFAULT;
    p->window.deep_sample_rate = CONFIG_DEEP_SAMPLE_DEFAULT;
    const config_setting_t *w = member(handlers, "window_config");
    if (w) {
        if (opts_merge(w, wv, wn, why, sizeof(why)) < 0) {
            err_set(err, errlen, "invalid stream handler window config: %s", why);
            return -1;
        }
        static const char *const keys[] = {"num_periods", "deep_sample_rate"};
        for (size_t i = 0; i < 2; i++) {
            const struct handler_opt *o = config_opt_find(*wv, *wn, keys[i]);
            if (!o)
                continue;
            if (o->type != HOPT_UINT) {
                err_set(err, errlen,
                        "invalid stream handler window config: invalid value for key: %s", keys[i]);
                return -1;
            }
            if (i == 0)
                p->window.num_periods = clamp_u32(o->u, 1, CONFIG_PERIODS_MAX);
            else
                p->window.deep_sample_rate = clamp_u32(o->u, 1, 100);
        }
    }
    if (opts_put_uint(wv, wn, "num_periods", p->window.num_periods) < 0 ||
        opts_put_uint(wv, wn, "deep_sample_rate", p->window.deep_sample_rate) < 0) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int module_build(struct stage *st, const config_setting_t *s, const struct config_policy *p,
                        const struct handler_opt *wv, size_t wn, struct config_module *m, char *err,
                        size_t errlen)
{
    const char *key = key_of(s);
    char buf[32], why[256];
    memset(m, 0, sizeof(*m));
    if (!name_ok(key)) {
        err_set(err, errlen, "invalid handler module name '%s'", key);
        return -1;
    }
    if (!is_group(s)) {
        err_set(err, errlen, "expecting handler module configuration map at key '%s'", key);
        return -1;
    }
    const char *type = scalar_text(member(s, "type"), buf, sizeof(buf));
    if (!type) {
        err_set(err, errlen, "missing or invalid stream handler type at key 'type'");
        return -1;
    }
    if (!in_list(type, handler_types, sizeof(handler_types) / sizeof(handler_types[0]))) {
        err_set(err, errlen, "Policy '%s' requires stream handler type '%s' which is not available",
                p->name, type);
        return -1;
    }
    if (!(m->key = strdup(key)) || !(m->type = strdup(type)) ||
        !(m->name = str_printf("%s-%s", p->name, key)))
        goto nomem;
    const config_setting_t *c = member(s, "config");
    if (c && opts_merge(c, &m->opts, &m->nopts, why, sizeof(why)) < 0) {
        err_set(err, errlen, "invalid stream handler config for handler '%s': %s", key, why);
        goto fail;
    }
    const config_setting_t *f = member(s, "filter");
    if (f && opts_merge(f, &m->opts, &m->nopts, why, sizeof(why)) < 0) {
        err_set(err, errlen, "invalid stream handler filter config for handler '%s': %s", key, why);
        goto fail;
    }
    if (!stage_spend(st, wv, wn, err, errlen))
        goto fail;
    for (size_t i = 0; i < wn; i++) {
        struct handler_opt o;
        if (opt_copy(&o, &wv[i]) < 0 || opts_put(&m->opts, &m->nopts, &o) < 0)
            goto nomem;
    }
    return 0;
nomem:
    err_set(err, errlen, "out of memory");
fail:
    module_clear(m);
    return -1;
}

/* One policy, in pktvisor's order of checks, into p (cleared on error). */
static int policy_build(struct stage *st, const config_setting_t *s, struct config_policy *p,
                        char *err, size_t errlen)
{
    const char *name = key_of(s);
    char buf[32], buf2[32], why[256];
    struct handler_opt *wv = NULL;
    size_t wn = 0;
    memset(p, 0, sizeof(*p));

    if (!name_ok(name)) {
        err_set(err, errlen, "invalid policy name '%s'", name);
        return -1;
    }
    if (!is_group(s)) {
        err_set(err, errlen, "expecting policy configuration map");
        return -1;
    }
    if (config_find_policy(st->vc, name) || config_find_policy(&st->add, name)) {
        err_set(err, errlen, "policy with name '%s' already defined", name);
        return -1;
    }
    const char *kind = scalar_text(member(s, "kind"), buf, sizeof(buf));
    if (!kind) {
        err_set(err, errlen, "missing or invalid policy kind at key 'kind'");
        return -1;
    }
    if (strcmp(kind, "collection") != 0) {
        err_set(err, errlen, "unknown policy kind: %s", kind);
        return -1;
    }
    const config_setting_t *input = member(s, "input");
    if (!is_group(input)) {
        err_set(err, errlen, "missing or invalid policy input stream configuration at key 'input'");
        return -1;
    }
    const char *tap_name = scalar_text(member(input, "tap"), buf, sizeof(buf));
    if (!tap_name) {
        err_set(err, errlen, "missing or invalid tap at key 'input.tap'");
        return -1;
    }
    const char *input_type = scalar_text(member(input, "input_type"), buf2, sizeof(buf2));
    if (!input_type) {
        err_set(err, errlen, "missing or invalid input_type at key 'input.input_type'");
        return -1;
    }
    const struct config_tap *tap = stage_tap(st, tap_name);
    if (!tap) {
        err_set(err, errlen, "tap '%s' does not exist", tap_name);
        return -1;
    }
    if (!(p->name = strdup(name)) || !(p->kind = strdup(kind)) || !(p->tap = strdup(tap->name)) ||
        !(p->input_type = strdup(input_type)) ||
        !(p->input_name = str_printf("%s-%s", tap->name, name)))
        goto nomem;

    bool pcap = strcmp(tap->input_type, "pcap") == 0;
    if (!stage_spend(st, tap->config, tap->nconfig, err, errlen))
        goto fail;
    for (size_t i = 0; i < tap->nconfig; i++) {
        struct handler_opt o;
        if (opt_copy(&o, &tap->config[i]) < 0 || opts_put(&p->input_config, &p->ninput_config, &o))
            goto nomem;
    }
    const config_setting_t *filter = member(input, "filter");
    if (filter &&
        input_merge(filter, pcap, &p->input_config, &p->ninput_config, why, sizeof(why)) < 0) {
        err_set(err, errlen, "invalid input filter for tap '%s': %s", tap->name, why);
        goto fail;
    }
    const config_setting_t *icfg = member(input, "config");
    if (icfg &&
        input_merge(icfg, pcap, &p->input_config, &p->ninput_config, why, sizeof(why)) < 0) {
        err_set(err, errlen, "invalid input config for tap '%s': %s", tap->name, why);
        goto fail;
    }
    input_view(p);

    const config_setting_t *handlers = member(s, "handlers");
    if (!is_group(handlers)) {
        err_set(err, errlen, "missing or invalid handler configuration at key 'handlers'");
        goto fail;
    }
    if (window_build(handlers, p, &wv, &wn, err, errlen) < 0)
        goto fail;

    /* pktvisor instantiates the input stream here */
    if (strcmp(p->input_type, tap->input_type) != 0) {
        err_set(err, errlen,
                "unable to instantiate tap '%s': input_type for policy specified tap '%s' doesn't "
                "match tap's defined input type: %s/%s",
                tap->name, tap->name, p->input_type, tap->input_type);
        goto fail;
    }
    if (input_usable(p, why, sizeof(why)) < 0) {
        err_set(err, errlen, "unable to instantiate tap '%s': %s", tap->name, why);
        goto fail;
    }

    const config_setting_t *mods = member(handlers, "modules");
    if (!is_group(mods)) {
        err_set(err, errlen, "missing or invalid handler modules at key 'modules'");
        goto fail;
    }
    int nm = config_setting_length(mods);
    if (nm > 0 && !(p->modules = calloc((size_t)nm, sizeof(*p->modules))))
        goto nomem;
    for (int i = 0; i < nm; i++) {
        if (module_build(st, config_setting_get_elem(mods, (unsigned)i), p, wv, wn,
                         &p->modules[p->nmodules], err, errlen) < 0)
            goto fail;
        p->nmodules++;
    }

    /* registration: instance names are global, as in pktvisor's managers */
    if (stage_input_taken(st, p->input_name)) {
        err_set(err, errlen, "policy [%s] creation failed (input): module name '%s' already exists",
                p->name, p->input_name);
        goto fail;
    }
    for (size_t i = 0; i < p->nmodules; i++) {
        const char *hn = p->modules[i].name;
        if (stage_handler_taken(st, hn)) {
            err_set(err, errlen,
                    "policy [%s] creation failed (handler: %s): module name '%s' already exists",
                    hn, p->name, hn);
            goto fail;
        }
    }
    opts_free(wv, wn);
    return 0;
nomem:
    err_set(err, errlen, "out of memory");
fail:
    opts_free(wv, wn);
    policy_clear(p);
    return -1;
}

static int stage_push_tap(struct stage *st, struct config_tap *t)
{
    struct config_tap *v = realloc(st->add.taps, (st->add.ntaps + 1) * sizeof(*v));
    if (!v)
        return -1;
    v[st->add.ntaps++] = *t;
    st->add.taps = v;
    return 0;
}

static int stage_push_policy(struct stage *st, struct config_policy *p)
{
    struct config_policy *v = realloc(st->add.policies, (st->add.npolicies + 1) * sizeof(*v));
    if (!v)
        return -1;
    v[st->add.npolicies++] = *p;
    st->add.policies = v;
    return 0;
}

/* Move everything staged into vc; nothing is left to free in st. */
static int stage_commit(struct stage *st, struct visor_config *vc)
{
    struct visor_config *a = &st->add;
    if (a->ntaps) {
        struct config_tap *t = realloc(vc->taps, (vc->ntaps + a->ntaps) * sizeof(*t));
        if (!t)
            return -1;
        vc->taps = t;
    }
    if (a->npolicies) {
        struct config_policy *p =
            realloc(vc->policies, (vc->npolicies + a->npolicies) * sizeof(*p));
        if (!p)
            return -1;
        vc->policies = p;
    }
    if (a->ntaps)
        memcpy(vc->taps + vc->ntaps, a->taps, a->ntaps * sizeof(*a->taps));
    if (a->npolicies)
        memcpy(vc->policies + vc->npolicies, a->policies, a->npolicies * sizeof(*a->policies));
    vc->ntaps += a->ntaps;
    vc->npolicies += a->npolicies;
    free(a->taps);
    free(a->policies);
    memset(a, 0, sizeof(*a));
    return 0;
}

static int apply(struct visor_config *vc, const config_t *tree, bool whole, char *err,
                 size_t errlen)
{
    struct stage st = {.vc = vc};
    char buf[32];
    const config_setting_t *root = tree ? config_root_setting(tree) : NULL;

    if (!vc) {
        err_set(err, errlen, "no configuration");
        return -1;
    }
    bool verbose = vc->verbose;
    if (!is_group(root)) {
        err_set(err, errlen, "invalid schema");
        return -1;
    }
    const char *version = scalar_text(member(root, "version"), buf, sizeof(buf));
    if (!version || strcmp(version, "1.0") != 0) {
        err_set(err, errlen, "missing or unsupported version");
        return -1;
    }
    const config_setting_t *visor = member(root, "visor");
    if (!is_group(visor)) {
        err_set(err, errlen, "invalid schema");
        return -1;
    }
    const config_setting_t *taps = member(visor, "taps");
    const config_setting_t *pols = member(visor, "policies");
    if (whole) {
        const config_setting_t *gc = member(visor, "config");
        if (gc && !is_group(gc)) {
            err_set(err, errlen, "invalid schema");
            return -1;
        }
        const config_setting_t *vb = member(gc, "verbose");
        if (vb) {
            if (config_setting_type(vb) != CONFIG_TYPE_BOOL) {
                err_set(err, errlen, "invalid value for key: verbose");
                return -1;
            }
            verbose = config_setting_get_bool(vb);
        }
        if (taps && !is_group(taps)) {
            err_set(err, errlen, "invalid schema");
            return -1;
        }
        int n = taps ? config_setting_length(taps) : 0;
        for (int i = 0; i < n; i++) {
            struct config_tap t;
            if (tap_build(config_setting_get_elem(taps, (unsigned)i), &t, err, errlen) < 0)
                goto fail;
            if (stage_tap(&st, t.name)) {
                err_set(err, errlen, "tap with name '%s' already defined", t.name);
                tap_clear(&t);
                goto fail;
            }
            if (stage_push_tap(&st, &t) < 0) {
                tap_clear(&t);
                goto nomem;
            }
        }
    } else if (!pols) {
        err_set(err, errlen, "no policies found in schema");
        return -1;
    }
    if (pols && !is_group(pols)) {
        err_set(err, errlen, "invalid schema");
        goto fail;
    }
    int n = pols ? config_setting_length(pols) : 0;
    for (int i = 0; i < n; i++) {
        struct config_policy p;
        if (policy_build(&st, config_setting_get_elem(pols, (unsigned)i), &p, err, errlen) < 0)
            goto fail;
        if (stage_push_policy(&st, &p) < 0) {
            policy_clear(&p);
            goto nomem;
        }
    }
    if (stage_commit(&st, vc) < 0)
        goto nomem;
    vc->verbose = verbose;
    return 0;
nomem:
    err_set(err, errlen, "out of memory");
fail:
    config_clear_all(&st.add);
    return -1;
}

int config_add_document(struct visor_config *vc, const config_t *tree, char *err, size_t errlen)
{
    return apply(vc, tree, true, err, errlen);
}

int config_add_policies(struct visor_config *vc, const config_t *tree, char *err, size_t errlen)
{
    return apply(vc, tree, false, err, errlen);
}

/* ------------------------------------------------------ the IFACE default */

static config_setting_t *add_group(config_setting_t *parent, const char *name)
{
    return parent ? config_setting_add(parent, name, CONFIG_TYPE_GROUP) : NULL;
}

static bool add_string(config_setting_t *parent, const char *name, const char *value)
{
    config_setting_t *s = parent ? config_setting_add(parent, name, CONFIG_TYPE_STRING) : NULL;
    return s && config_setting_set_string(s, value ? value : "") == CONFIG_TRUE;
}

static bool add_uint(config_setting_t *parent, const char *name, uint64_t value)
{
    config_setting_t *s = parent ? config_setting_add(parent, name, CONFIG_TYPE_INT64) : NULL;
    return s && config_setting_set_int64(s, value > INT64_MAX ? INT64_MAX : (long long)value) ==
                    CONFIG_TRUE;
}

/* SPEC 1.1 step 7's template, as a tree. */
static bool default_tree(config_t *tree, const char *iface, const char *host_spec, const char *bpf,
                         uint64_t periods, uint64_t deep)
{
    config_setting_t *root = config_root_setting(tree);
    config_setting_t *visor = add_group(root, "visor");
    config_setting_t *tap = add_group(add_group(visor, "taps"), "default");
    config_setting_t *tcfg = add_group(tap, "config");
    config_setting_t *pol = add_group(add_group(visor, "policies"), "default");
    config_setting_t *in = add_group(pol, "input");
    config_setting_t *handlers = add_group(pol, "handlers");
    config_setting_t *win = add_group(handlers, "window_config");
    config_setting_t *mods = add_group(handlers, "modules");
    static const char *const mod[][2] = {
        {"net", "net"}, {"dhcp", "dhcp"}, {"dns", "dns"}, {"pcap_stats", "pcap"}};
    bool ok = add_string(root, "version", "1.0") && add_string(tap, "input_type", "pcap") &&
              add_string(tcfg, "iface", iface) && add_string(tcfg, "host_spec", host_spec) &&
              add_string(pol, "kind", "collection") && add_string(in, "tap", "default") &&
              add_string(in, "input_type", "pcap") &&
              add_string(add_group(in, "config"), "bpf", bpf) &&
              add_uint(win, "num_periods", periods) && add_uint(win, "deep_sample_rate", deep);
    for (size_t i = 0; ok && i < sizeof(mod) / sizeof(mod[0]); i++)
        ok = add_string(add_group(mods, mod[i][0]), "type", mod[i][1]);
    return ok;
}

int config_add_default(struct visor_config *vc, const char *iface, const char *host_spec,
                       const char *bpf, uint64_t periods, uint64_t deep_sample_rate, char *err,
                       size_t errlen)
{
    config_t tree;
    config_init(&tree);
    int rc = -1;
    if (!default_tree(&tree, iface, host_spec, bpf, periods, deep_sample_rate))
        err_set(err, errlen, "out of memory");
    else
        rc = config_add_document(vc, &tree, err, errlen);
    config_destroy(&tree);
    return rc;
}

/* ---------------------------------------------------------------- loading */

int config_load_string(const char *text, size_t len, enum config_format fmt,
                       struct visor_config **out, char *err, size_t errlen)
{
    config_t tree;
    struct visor_config *vc = config_new();
    int rc = -1;
    if (!vc) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    config_init(&tree);
    if (config_parse(text, len, fmt, &tree, err, errlen) == 0 &&
        config_add_document(vc, &tree, err, errlen) == 0) {
        *out = vc;
        vc = NULL;
        rc = 0;
    }
    config_destroy(&tree);
    config_free(&vc);
    return rc;
}

static enum config_format format_of_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot && (strcasecmp(dot, ".yaml") == 0 || strcasecmp(dot, ".yml") == 0))
        return CONFIG_FORMAT_YAML;
    if (dot && (strcasecmp(dot, ".conf") == 0 || strcasecmp(dot, ".cfg") == 0))
        return CONFIG_FORMAT_LIBCONFIG;
    return CONFIG_FORMAT_AUTO;
}

int config_load_file(const char *path, enum config_format fmt, struct visor_config **out, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* read one byte past the limit to tell "too large" from "exactly max",
     * whatever the file is (a pipe has no size) */
    char *buf = malloc((size_t)CONFIG_MAX_INPUT + 1);
    if (!buf) {
        fclose(f);
        err_set(err, errlen, "out of memory");
        return -1;
    }
    size_t len = fread(buf, 1, (size_t)CONFIG_MAX_INPUT + 1, f);
    int rerr = ferror(f);
    fclose(f);
    int rc = -1;
    if (rerr)
        err_set(err, errlen, "%s: read error", path);
    else if (len > CONFIG_MAX_INPUT)
        err_set(err, errlen, "%s: configuration larger than %d bytes", path, CONFIG_MAX_INPUT);
    else
        rc = config_load_string(buf, len, fmt == CONFIG_FORMAT_AUTO ? format_of_path(path) : fmt,
                                out, err, errlen);
    free(buf);
    return rc;
}
