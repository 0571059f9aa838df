/* A main for the fuzz targets without libFuzzer: feeds every file of the directories (or
 * the files) named on the command line to LLVMFuzzerTestOneInput once, so that ctest
 * replays the committed corpora in the normal and sanitizer builds (gcc). A broken
 * invariant aborts, as under libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 4096, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0)
        if ((n += got) == cap)
            buf = realloc(buf, cap *= 2);
    fclose(f);
    if (!buf)
        return 1;
    /* an exact-size copy, so that a read past the input shows under ASan as in libFuzzer */
    uint8_t *data = malloc(n ? n : 1);
    memcpy(data, buf, n);
    free(buf);
    /* the input's name first: a broken invariant or a sanitizer report then follows it */
    fprintf(stderr, "%s\n", path);
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    return 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every regular file of dir, in name order (a failure then names the same file each run). */
static int replay_dir(const char *dir, long *count)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, NULL);
    if (n < 0) {
        perror(dir);
        return 1;
    }
    char **names = malloc(sizeof(*names) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        names[i] = ents[i]->d_name;
    qsort(names, (size_t)n, sizeof(*names), cmp_names);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        bad |= replay_file(path);
        (*count)++;
    }
    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    long count = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            perror(argv[i]);
            bad = 1;
        } else if (S_ISDIR(sb.st_mode)) {
            bad |= replay_dir(argv[i], &count);
        } else {
            bad |= replay_file(argv[i]);
            count++;
        }
    }
    printf("replayed %ld inputs\n", count);
    return bad || count == 0;
}
