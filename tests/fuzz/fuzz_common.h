/* What every libFuzzer target here shares: an invariant check that aborts (libFuzzer
 * then keeps the input), and writing seed inputs to $EIDGW_FUZZ_SEEDS. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                                  \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

static inline void write_seed(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(p, 1, n, f);
    fclose(f);
}

/* n input bytes as a C string (malloc'd): what a parser of text sees, up to a NUL */
static inline char *fuzz_cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* The built-in seeds (text) into $EIDGW_FUZZ_SEEDS as seed-0, seed-1, ... */
static inline void write_text_seeds(const char *const *seeds, size_t n)
{
    const char *dir = getenv("EIDGW_FUZZ_SEEDS");
    for (size_t i = 0; dir && i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "seed-%zu", i);
        write_seed(dir, name, seeds[i], strlen(seeds[i]));
    }
}

/* The same for seeds whose byte 0 selects a mode (and may be 0): byte 0, then a C string. */
static inline void write_mode_seeds(const char *const *seeds, size_t n)
{
    const char *dir = getenv("EIDGW_FUZZ_SEEDS");
    for (size_t i = 0; dir && i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "seed-%zu", i);
        write_seed(dir, name, seeds[i], 1 + strlen(seeds[i] + 1));
    }
}

static inline int fuzz_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes a directory tree a target made for itself (keys, a store): a replay in every
 * ctest run must leave nothing behind in /tmp. */
static inline void fuzz_rmtree(const char *dir) { nftw(dir, fuzz_rm_entry, 8, FTW_DEPTH | FTW_PHYS); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
