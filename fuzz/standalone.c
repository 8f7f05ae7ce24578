/* standalone.c — a main() that replays saved inputs through a fuzz target without
 * libFuzzer, so `make test` (gcc, and gcc+ASan+UBSan in `make asan`) runs every corpus
 * file and reproducer. Usage: <target> PATH...; a PATH is a file or a directory whose
 * regular files (not recursively, dot-files skipped) are replayed in name order. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define STANDALONE_INPUT_BYTES_MAX (4u << 20) /* libFuzzer's own -max_len is far smaller */
#define STANDALONE_PATH_BYTES_MAX 4096

/* Reads the file into a heap buffer of exactly its size (so ASan sees one byte past the
 * end) and runs the target on it. Returns 0, or -1 when the file cannot be read. */
static int input_replay(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "standalone: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(STANDALONE_INPUT_BYTES_MAX);
    size_t len = buf == NULL ? 0 : fread(buf, 1, STANDALONE_INPUT_BYTES_MAX, f);
    int bad = buf == NULL || ferror(f) || fgetc(f) != EOF;
    fclose(f);
    if (bad) {
        fprintf(stderr, "standalone: %s: unreadable or larger than %u bytes\n", path,
                STANDALONE_INPUT_BYTES_MAX);
        free(buf);
        return -1;
    }
    uint8_t *exact = malloc(len == 0 ? 1 : len);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    /* Named before it runs: a crash report then ends right after the culprit's name. */
    fprintf(stderr, "standalone: running %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int name_visible(const struct dirent *e) { return e->d_name[0] != '.'; }

/* Replays the regular files of one directory in name order; adds them to *count.
 * Returns 0 or -1. */
static int dir_replay(const char *dir, unsigned long *count) {
    struct dirent **names = NULL;
    int n = scandir(dir, &names, name_visible, alphasort);
    if (n < 0) {
        fprintf(stderr, "standalone: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[STANDALONE_PATH_BYTES_MAX];
        struct stat st;
        int w = snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && w > 0 && (size_t)w < sizeof path && stat(path, &st) == 0 &&
            S_ISREG(st.st_mode)) {
            if (input_replay(path) != 0) rc = -1;
            else (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    unsigned long count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "standalone: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        int rc = 0;
        if (S_ISDIR(st.st_mode)) {
            rc = dir_replay(argv[i], &count);
        } else {
            rc = input_replay(argv[i]);
            if (rc == 0) count++;
        }
        if (rc != 0) return 2;
    }
    printf("replayed %lu inputs\n", count);
    return 0;
}
