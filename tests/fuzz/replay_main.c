/*
 * replay_main.c - run a libFuzzer target's inputs without libFuzzer.
 *
 * Linked with one fuzz target source (tests/fuzz/fuzz_*.c) by the normal
 * compiler, this main() feeds every file of the directories (or the files)
 * named on the command line to LLVMFuzzerTestOneInput, each in a heap
 * buffer of exactly its size (so a sanitizer build sees a read past it), in
 * name order.  A broken promise of the target traps or aborts, which kills
 * the process: make check (tests/fuzz/replay.sh) replays the committed
 * corpora and regression inputs this way, and under ./configure
 * --enable-sanitizers AddressSanitizer and UBSan watch too.
 *
 * Exit status: 0 when every input ran; 1 when an argument cannot be read
 * or no input was found at all (an empty corpus proves nothing).  The name
 * of the input being run is printed when it traps or aborts.
 *
 *   tests/fuzz/replay_dns tests/fuzz/corpus/dns [tests/fuzz/regress/dns]
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char current[4096];

static void on_fatal(int sig)
{
    static const char pre[] = "replay: fatal signal while running ";
    ssize_t r = write(STDERR_FILENO, pre, sizeof(pre) - 1);
    r = write(STDERR_FILENO, current, strlen(current));
    r = write(STDERR_FILENO, "\n", 1);
    (void)r;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Read a whole file into a buffer of exactly its size (1 byte when empty). */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = buf == NULL || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    uint8_t *exact = malloc(n > 0 ? n : 1);
    if (exact != NULL && n > 0)
        memcpy(exact, buf, n);
    free(buf);
    *len = n;
    return exact;
}

static int run_file(const char *path)
{
    size_t len = 0;
    uint8_t *data = slurp(path, &len);
    if (data == NULL) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    snprintf(current, sizeof(current), "%s", path);
    LLVMFuzzerTestOneInput(data, len);
    current[0] = '\0';
    free(data);
    return 0;
}

static int skip_hidden(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Every regular file of dir, in name order; the count, or -1. */
static long run_dir(const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, skip_hidden, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s\n", dir);
        return -1;
    }
    long count = 0;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path) != 0)
                rc = -1;
            else
                count++;
        }
        free(ents[i]);
    }
    free(ents);
    return rc == 0 ? count : -1;
}

int main(int argc, char **argv)
{
    signal(SIGABRT, on_fatal);
    signal(SIGILL, on_fatal);
    signal(SIGTRAP, on_fatal);
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
            return 1;
        }
        long n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) == 0 ? 1 : -1;
        if (n < 0)
            return 1;
        printf("%s: %ld inputs\n", argv[i], n);
        total += n;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no input to run\n");
        return 1;
    }
    return 0;
}
