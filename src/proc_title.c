#define _GNU_SOURCE
#include "proc_title.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern char **environ;

static char *area;
static size_t area_len;

void proc_title_init(int argc, char **argv)
{
    if (argc < 1 || argv[0] == NULL)
        return;
    char *end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc; i++)
        if (argv[i] == end)
            end = argv[i] + strlen(argv[i]) + 1;
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 1, sizeof(*env));
    if (env == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (environ[i] == end)
            end = environ[i] + strlen(environ[i]) + 1;
        env[i] = strdup(environ[i]);
        if (env[i] == NULL)
            return; /* keep the old environment; the title stays short */
    }
    environ = env;
    area = argv[0];
    area_len = (size_t)(end - argv[0]);
}

void proc_title_set(const char *fmt, ...)
{
    char title[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(title, sizeof(title), fmt, ap);
    va_end(ap);
    prctl(PR_SET_NAME, (unsigned long)title, 0, 0, 0);
    if (area == NULL || area_len < 2)
        return;
    size_t len = strlen(title);
    if (len > area_len - 1)
        len = area_len - 1;
    memcpy(area, title, len);
    memset(area + len, 0, area_len - len);
}
