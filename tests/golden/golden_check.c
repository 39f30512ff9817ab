/*
 * golden_check - compare a JSON document on stdin with expectations.
 *
 * Usage: golden_check EXPECT_FILE < document.json
 *
 * Each expectation line is "PATH OP VALUE"; other lines (blank, "# ...",
 * "key: ..." directives for run-golden) are skipped.  PATH is dotted keys
 * with optional [i] array indexes ("5m.packets.top_ipv4[0].name").  OP:
 *   =  VALUE is JSON; the value at PATH must equal it exactly
 *   ~  VALUE is "N P%": a number within P percent of N (sketch estimates)
 *   @  VALUE is "LO HI": a number within [LO, HI] (quantile sketches:
 *      the values at ranks q-1% and q+1%)
 *   !  VALUE is ignored; PATH must be absent
 * Every mismatch is printed; the exit status is 1 if any, 0 otherwise.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static char *slurp(FILE *f)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL)
                free(buf);
            buf = nb;
        }
    }
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

static const cJSON *lookup(const cJSON *root, const char *path)
{
    char key[256];
    const cJSON *cur = root;
    const char *p = path;
    while (*p != '\0' && cur != NULL) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            char *end;
            long i = strtol(p + 1, &end, 10);
            if (*end != ']')
                return NULL;
            cur = cJSON_GetArrayItem(cur, (int)i);
            p = end + 1;
            continue;
        }
        size_t n = strcspn(p, ".[");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        p += n;
    }
    return cur;
}

static int check_line(const cJSON *doc, char *line, int lineno)
{
    char *path = line;
    char *sp = strpbrk(line, " \t");
    if (sp == NULL)
        return 0;
    *sp = '\0';
    char *op = sp + 1;
    while (isspace((unsigned char)*op))
        op++;
    char *val = op + 1;
    while (isspace((unsigned char)*val))
        val++;
    const cJSON *got = lookup(doc, path);
    char *gs = got != NULL ? cJSON_PrintUnformatted(got) : NULL;
    int bad = 0;

    switch (*op) {
    case '=': {
        cJSON *want = cJSON_Parse(val);
        if (want == NULL) {
            fprintf(stderr, "line %d: bad JSON value: %s\n", lineno, val);
            bad = 1;
        } else if (got == NULL || !cJSON_Compare(got, want, 1)) {
            fprintf(stderr, "line %d: %s: want %s, got %s\n", lineno, path, val,
                    gs != NULL ? gs : "(absent)");
            bad = 1;
        }
        cJSON_Delete(want);
        break;
    }
    case '~': {
        double want, pct;
        if (sscanf(val, "%lf %lf%%", &want, &pct) != 2) {
            fprintf(stderr, "line %d: bad tolerance: %s\n", lineno, val);
            bad = 1;
        } else if (got == NULL || !cJSON_IsNumber(got) ||
                   fabs(got->valuedouble - want) > fabs(want) * pct / 100.0) {
            fprintf(stderr, "line %d: %s: want %s, got %s\n", lineno, path, val,
                    gs != NULL ? gs : "(absent)");
            bad = 1;
        }
        break;
    }
    case '@': {
        double lo, hi;
        if (sscanf(val, "%lf %lf", &lo, &hi) != 2) {
            fprintf(stderr, "line %d: bad range: %s\n", lineno, val);
            bad = 1;
        } else if (got == NULL || !cJSON_IsNumber(got) || got->valuedouble < lo ||
                   got->valuedouble > hi) {
            fprintf(stderr, "line %d: %s: want within [%s], got %s\n", lineno, path, val,
                    gs != NULL ? gs : "(absent)");
            bad = 1;
        }
        break;
    }
    case '!':
        if (got != NULL) {
            fprintf(stderr, "line %d: %s: want absent, got %s\n", lineno, path, gs);
            bad = 1;
        }
        break;
    default:
        fprintf(stderr, "line %d: unknown operator '%c'\n", lineno, *op);
        bad = 1;
    }
    free(gs);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: golden_check EXPECT_FILE < document.json\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    char *text = slurp(stdin);
    cJSON *doc = text != NULL ? cJSON_Parse(text) : NULL;
    if (doc == NULL) {
        fprintf(stderr, "stdin is not a JSON document\n");
        return 1;
    }
    char line[4096];
    int lineno = 0, failures = 0, checks = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        /* "word:" directives belong to run-golden. */
        size_t w = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
        if (w > 0 && s[w] == ':')
            continue;
        checks++;
        failures += check_line(doc, s, lineno);
    }
    fclose(f);
    cJSON_Delete(doc);
    free(text);
    printf("%d checks, %d failed\n", checks, failures);
    return failures != 0 || checks == 0;
}
