/* main.c — the alichain-sim command line: run one scenario, a swarm (or one block of it),
 * merge swarm results (report), the suite of `make sim`, or print a scenario (parsed, or generated for a swarm seed). Thin: everything
 * lives in sim.a (sim.h, swarm.h, suite.h). In the alichain-sim-mutants build --mutant
 * NAME plants one of core/'s named bugs (core/mutant.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockfile.h"
#include "mutant.h"
#include "ports.h"
#include "text.h"
#include "real/real.h"
#include "real/realnet_ns.h"
#include "real/soak.h"
#include "proc/proc.h"
#include "judge/fsck.h"
#include "scenario/gen.h"
#include "swarm/jsonl.h"
#include "swarm/report.h"
#include "world/sim.h"
#include "swarm/suite.h"
#include "swarm/swarm.h"

#define EXIT_USAGE 2
#define EXIT_CANCELLED 3   /* swarm: SIGINT/SIGTERM, stopped at a seed boundary */
#ifndef ALICHAIN_COMMIT
#define ALICHAIN_COMMIT "unknown"   /* sim/sim.mk passes the git commit of the build */
#endif
#define REPRO_BYTES 2048

static const char usage[] =
    "usage: alichain-sim run FILE [--seed N] [--trace FILE] [--trace-json FILE] [-v]\n"
    "       alichain-sim swarm --seeds N [--first S] [--out DIR] [--stop-on-fail] [--no-shrink]\n"
    "             [--jsonl FILE]  (or --block K --block-seeds N: seeds K*N .. K*N+N-1)\n"
    "             exit 0 all passed, 1 a seed failed, 2 refused, 3 cancelled by SIGINT/SIGTERM: stopped\n"
    "             at a seed boundary, --jsonl holding whole lines of the finished seeds only\n"
    "       alichain-sim report FILE... [--first S --seeds N] [--allow-mixed] [--out DIR]  merge --jsonl\n"
    "             results (--out: the failing seeds' carried scenarios as DIR/seed-S.scn); exit 0 all\n"
    "             passed, 1 a seed failed, 2 damaged input, missing seeds or mixed commits\n"
    "       alichain-sim suite [DIR...] [--swarm N] [--out DIR]\n"
    "       alichain-sim print FILE        the scenario as parsed, printed back\n"
    "       alichain-sim gen SEED [--real] the scenario the swarm (--real: compare --generated) runs\n"
    "       alichain-sim real FILE [--seed N] [--programs DIR] [--skip-unsupported] [--port-offset N]\n"
    "             [--net auto|netns|loopback] [--disk auto|fuse|plain] [-v]\n"
    "       alichain-sim compare FILE [--seed N] [--programs DIR] [--skip-unsupported] [--port-offset N]\n"
    "             [--net auto|netns|loopback]   (auto: namespace hosts when root with ip and nft)\n"
    "             [--disk auto|fuse|plain]      (auto: the disk fault file system when root with /dev/fuse)\n"
    "       alichain-sim compare --generated --seeds N [--first S] [--jsonl FILE] [--out DIR] [--programs DIR]\n"
    "             (or --block K --block-seeds N) generated scenarios with real faults only, both ways;\n"
    "             exit 0 no seed failed (inconclusive ones allowed), 1 a seed failed, 2 refused\n"
    "       alichain-sim soak [--transfers N] [--concurrency C] [--kill-ms K] [--seed N] [--programs DIR]\n"
    "             [--port-offset N] [--net auto|netns|loopback] [--power-cut]   (--kill-ms 0: no kills)\n"
    "             [--plant drop-confirmed|torn-confirmed|copy-confirmed]\n"
    "real plays the scenario on the six real programs (docs/REAL.md); compare runs it both ways;\n"
    "  real and compare exit 0 pass, 1 fail, 2 refused, 3 inconclusive: a timed fault landed later\n"
    "  than its tolerance (25 ms; the report's landed:/landing: lines say which step, how late):\n"
    "  neither pass nor fail, the run proves nothing either way;\n"
    "soak: N transfers, C at a time, a random server killed (-9) and restarted every K ms, then\n"
    "  the block files checked (docs/REAL.md \"Durability soak\"); exit 0 pass, 1 fail, 2 refused.\n"
    "       alichain-sim check DIR   block1.txt..block3.txt of DIR (with their .appended markers and\n"
    "             .torn files) judged together, the way git fsck judges a repository: lines that\n"
    "             do not parse (file:line), a serial twice in a file or in two files, torn tails,\n"
    "             markers; gaps in the serials are notes, not problems (hand-written blocks may\n"
    "             have them); exit 0 clean, 1 problems found, 2 cannot read\n"
    "options of every command: --mutant NAME (alichain-sim-mutants only; names: --mutant list);\n"
    "  -- ends the options; --help prints this text\n"
    "run prints trace-hash: <hex> and verdict: pass|fail; exit 0 pass, 1 fail, 2 usage.\n"
    "docs/SIMULATOR.md and docs/SCENARIOS.md describe the model and the language.\n";

static const char *prog_name = "alichain-sim";

/* One line on stderr: "alichain-sim: " and the message, its control characters escaped
 * (text_escape: an argument or a scenario line echoed back cannot drive the terminal). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[1024], shown[sizeof(line) * 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    text_escape(line, shown, sizeof(shown));
    fprintf(stderr, "%s: %s\n", prog_name, shown);
}

/* One line on stderr naming what is wrong, then EXIT_USAGE (every refusal of the command
 * line goes through here, before any work is done). */
static int usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_fail(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    say("%s (try --help)", line);
    return EXIT_USAGE;
}

/* A strict decimal (digits only, no sign or blank) in [min, UINT64_MAX]; what names it.
 * Returns 0, or EXIT_USAGE with the line printed. */
static int parse_u64_arg(const char *what, const char *s, uint64_t min, uint64_t *out) {
    uint64_t v = 0;
    int ok = s[0] != '\0';
    for (const char *c = s; ok && *c != '\0'; c++) {
        unsigned d = (unsigned)(*c - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10) ok = 0;
        else v = v * 10 + d;
    }
    if (!ok || v < min)
        return usage_fail("%s: \"%.40s\" is not a whole number in %llu..18446744073709551615",
                          what, s, (unsigned long long)min);
    *out = v;
    return 0;
}

/* The directory part of a file path ("." when it has none), into dir. */
static void path_dir(const char *path, char *dir, size_t cap) {
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) snprintf(dir, cap, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
}

/* A file the run will write (a trace): not a directory, in a writable directory. */
static int check_out_file(const char *what, const char *path) {
    struct stat st;
    char dir[PATH_MAX];
    if (path[0] == '\0') return usage_fail("%s: an empty path", what);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return usage_fail("%s: \"%.200s\" is a directory", what, path);
    path_dir(path, dir, sizeof(dir));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return usage_fail("%s: no directory \"%.200s\" to write in", what, dir);
    if (access(dir, W_OK | X_OK) != 0 || (access(path, F_OK) == 0 && access(path, W_OK) != 0))
        return usage_fail("%s: cannot write \"%.200s\"", what, path);
    return 0;
}

/* A directory the run may create (--out): a writable directory, or creatable under the
 * nearest directory that exists. */
static int check_out_dir(const char *what, const char *path) {
    struct stat st;
    char dir[PATH_MAX];
    if (path[0] == '\0') return usage_fail("%s: an empty path", what);
    snprintf(dir, sizeof(dir), "%s", path);
    while (stat(dir, &st) != 0) {
        char parent[PATH_MAX];
        path_dir(dir, parent, sizeof(parent));
        if (strcmp(parent, dir) == 0) break;
        snprintf(dir, sizeof(dir), "%s", parent);
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return usage_fail("%s: \"%.200s\" is not a directory", what, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return usage_fail("%s: cannot write in \"%.200s\"", what, dir);
    return 0;
}

/* --mutant NAME: only the mutants build has planted bugs, and only core's: the ones from
 * MUT_SIM_COUNT on live in the real programs (net/), so the simulator has none of them to
 * plant (make real-mutants and make compare-mutants run those). */
static int mutant_select(const char *name) {
    if (strcmp(name, "list") == 0) {
        for (int m = 1; m < MUT_SIM_COUNT; m++) printf("%s\n", mutant_names[m]);
        exit(0);
    }
    for (int m = MUT_SIM_COUNT; m < MUT_COUNT; m++) {
        if (strcmp(mutant_names[m], name) == 0) {
            say("--mutant: \"%s\" is planted in the real programs only "
                    "(make real-mutants, ALICHAIN_MUTANT)", name);
            return -1;
        }
    }
#if defined(ALICHAIN_MUTANTS)
    for (int m = 0; m < MUT_SIM_COUNT; m++) {
        if (strcmp(mutant_names[m], name) == 0) {
            ac_mutant = (mutant_t)m;
            return 0;
        }
    }
    say("--mutant: unknown mutant \"%.60s\" (--mutant list)", name);
    return -1;
#else
    if (strcmp(name, "none") == 0) return 0;
    say("--mutant: this build has no planted bugs; use alichain-sim-mutants");
    return -1;
#endif
}

#define POSITIONAL_MAX 64

/* The options, which commands take them, and whether a value follows. */
typedef enum {
    OPT_SEED, OPT_SEEDS, OPT_FIRST, OPT_SWARM, OPT_TRACE, OPT_TRACE_JSON, OPT_OUT, OPT_MUTANT,
    OPT_VERBOSE, OPT_STOP_ON_FAIL, OPT_NO_SHRINK, OPT_BLOCK, OPT_BLOCK_SEEDS, OPT_JSONL,
    OPT_PROGRAMS, OPT_SKIP_UNSUPPORTED, OPT_PORT_OFFSET, OPT_NET, OPT_TRANSFERS, OPT_CONCURRENCY,
    OPT_KILL_MS, OPT_PLANT, OPT_GENERATED, OPT_REAL, OPT_ALLOW_MIXED, OPT_DISK, OPT_POWER_CUT, OPT_COUNT
} opt_t;

static const struct {
    const char *name;
    const char *alias;      /* or NULL */
    int takes_value;
    const char *commands;   /* the commands that take it, space-separated */
} options[OPT_COUNT] = {
    [OPT_SEED] = {"--seed", NULL, 1, "run real compare soak"},
    [OPT_SEEDS] = {"--seeds", NULL, 1, "swarm report compare"},
    [OPT_FIRST] = {"--first", NULL, 1, "swarm report compare"},
    [OPT_SWARM] = {"--swarm", NULL, 1, "suite"},
    [OPT_TRACE] = {"--trace", NULL, 1, "run"},
    [OPT_TRACE_JSON] = {"--trace-json", NULL, 1, "run"},
    [OPT_OUT] = {"--out", NULL, 1, "swarm suite compare report"},
    [OPT_MUTANT] = {"--mutant", NULL, 1, "run swarm suite print gen"},
    [OPT_VERBOSE] = {"-v", "--verbose", 0, "run real"},
    [OPT_STOP_ON_FAIL] = {"--stop-on-fail", NULL, 0, "swarm"},
    [OPT_NO_SHRINK] = {"--no-shrink", NULL, 0, "swarm"},
    [OPT_BLOCK] = {"--block", NULL, 1, "swarm compare"},
    [OPT_BLOCK_SEEDS] = {"--block-seeds", NULL, 1, "swarm compare"},
    [OPT_JSONL] = {"--jsonl", NULL, 1, "swarm compare"},
    [OPT_PROGRAMS] = {"--programs", NULL, 1, "real compare soak"},
    [OPT_SKIP_UNSUPPORTED] = {"--skip-unsupported", NULL, 0, "real compare"},
    [OPT_PORT_OFFSET] = {"--port-offset", NULL, 1, "real compare soak"},
    [OPT_NET] = {"--net", NULL, 1, "real compare soak"},
    [OPT_TRANSFERS] = {"--transfers", NULL, 1, "soak"},
    [OPT_CONCURRENCY] = {"--concurrency", NULL, 1, "soak"},
    [OPT_KILL_MS] = {"--kill-ms", NULL, 1, "soak"},
    [OPT_PLANT] = {"--plant", NULL, 1, "soak"},
    [OPT_GENERATED] = {"--generated", NULL, 0, "compare"},
    [OPT_REAL] = {"--real", NULL, 0, "gen"},
    [OPT_ALLOW_MIXED] = {"--allow-mixed", NULL, 0, "report"},
    [OPT_DISK] = {"--disk", NULL, 1, "real compare"},
    [OPT_POWER_CUT] = {"--power-cut", NULL, 0, "soak"},
};

typedef struct {
    const char *cmd;
    const char *positional[POSITIONAL_MAX];
    int npos;
    const char *value[OPT_COUNT];   /* the option's value ("" for a switch); NULL: absent */
    const char *trace, *trace_json, *out, *mutant, *jsonl;
    uint64_t seed, seeds, first, swarm, block, block_seeds, port_offset;
    int has_seed, has_seeds, has_swarm, verbose, stop_on_fail, no_shrink, help;
} args_t;

/* 1 when word is one of the space-separated words of list. */
static int word_in(const char *word, const char *list) {
    size_t n = strlen(word);
    for (const char *p = list; *p != '\0';) {
        const char *end = strchr(p, ' ');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0) return 1;
        p += len;
        while (*p == ' ') p++;
    }
    return 0;
}

/* The option named by arg ("--name" or "--name=value"), or OPT_COUNT; *value is the text
 * after '=' or NULL. */
static opt_t option_find(const char *arg, const char **value) {
    *value = NULL;
    const char *eq = strchr(arg, '=');
    size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    for (int o = 0; o < OPT_COUNT; o++) {
        const char *names[2] = {options[o].name, options[o].alias};
        for (int k = 0; k < 2; k++) {
            if (names[k] == NULL || strlen(names[k]) != len || strncmp(arg, names[k], len) != 0)
                continue;
            if (eq != NULL) *value = eq + 1;
            return (opt_t)o;
        }
    }
    return OPT_COUNT;
}

/* Reads argv[2..]: every option must exist, belong to the command, come once and have its
 * value; "--" ends the options. Returns 0 or EXIT_USAGE (one line printed). */
static int args_read(int argc, char **argv, args_t *a) {
    int ended = 0;
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (!ended && strcmp(s, "--") == 0) {
            ended = 1;
            continue;
        }
        if (!ended && (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)) {
            a->help = 1;
            continue;
        }
        if (ended || s[0] != '-' || s[1] == '\0') {
            if (a->npos == POSITIONAL_MAX)
                return usage_fail("more than %d arguments to %s", POSITIONAL_MAX, a->cmd);
            a->positional[a->npos++] = s;
            continue;
        }
        const char *value;
        opt_t o = option_find(s, &value);
        if (o == OPT_COUNT) return usage_fail("unknown option \"%.60s\"", s);
        if (!word_in(a->cmd, options[o].commands))
            return usage_fail("%s does not apply to %s", options[o].name, a->cmd);
        if (a->value[o] != NULL) return usage_fail("%s is given twice", options[o].name);
        if (!options[o].takes_value && value != NULL)
            return usage_fail("%s takes no value", options[o].name);
        if (options[o].takes_value && value == NULL) {
            if (i + 1 >= argc) return usage_fail("%s needs a value", options[o].name);
            value = argv[++i];
        }
        a->value[o] = value != NULL ? value : "";
    }
    return 0;
}

/* The positional arguments each command takes. */
static int args_count_check(const args_t *a) {
    int want = strcmp(a->cmd, "swarm") == 0 || strcmp(a->cmd, "soak") == 0 || a->value[OPT_GENERATED] != NULL ? 0 : 1;
    if (strcmp(a->cmd, "suite") == 0) return 0; /* any number of directories */
    if (strcmp(a->cmd, "report") == 0)          /* any number of files, at least one */
        return a->npos > 0 ? 0 : usage_fail("report needs a FILE of swarm --jsonl results");
    if (a->npos > want) return usage_fail("unexpected argument \"%.60s\" to %s",
                                          a->positional[want], a->cmd);
    if (a->npos < want)
        return usage_fail("%s needs %s", a->cmd, strcmp(a->cmd, "gen") == 0 ? "a SEED"
                                               : strcmp(a->cmd, "check") == 0 ? "a DIR" : "a FILE");
    return 0;
}

/* swarm --block K --block-seeds N: seeds K*N .. K*N+N-1, instead of --first/--seeds. */
static int args_block(args_t *a) {
    const char *const *v = a->value;
    if (v[OPT_BLOCK] == NULL && v[OPT_BLOCK_SEEDS] == NULL) return 0;
    if (v[OPT_BLOCK] == NULL || v[OPT_BLOCK_SEEDS] == NULL)
        return usage_fail("--block and --block-seeds go together");
    if (v[OPT_FIRST] != NULL || v[OPT_SEEDS] != NULL)
        return usage_fail("--block/--block-seeds choose the seeds: no --first or --seeds with them");
    if (parse_u64_arg("--block", v[OPT_BLOCK], 0, &a->block) ||
        parse_u64_arg("--block-seeds", v[OPT_BLOCK_SEEDS], 1, &a->block_seeds))
        return EXIT_USAGE;
    if (a->block > (UINT64_MAX - (a->block_seeds - 1)) / a->block_seeds)
        return usage_fail("--block %llu of --block-seeds %llu goes past 18446744073709551615",
                          (unsigned long long)a->block, (unsigned long long)a->block_seeds);
    a->first = a->block * a->block_seeds;
    a->seeds = a->block_seeds;
    a->has_seeds = 1;
    return 0;
}

/* Checks every value before any work: numbers in range, files and directories usable. */
static int args_values(args_t *a) {
    const char *const *v = a->value;
    if (v[OPT_SEED] && parse_u64_arg("--seed", v[OPT_SEED], 0, &a->seed)) return EXIT_USAGE;
    if (v[OPT_SEEDS] && parse_u64_arg("--seeds", v[OPT_SEEDS], 1, &a->seeds)) return EXIT_USAGE;
    if (v[OPT_FIRST] && parse_u64_arg("--first", v[OPT_FIRST], 0, &a->first)) return EXIT_USAGE;
    if (v[OPT_SWARM] && parse_u64_arg("--swarm", v[OPT_SWARM], 0, &a->swarm)) return EXIT_USAGE;
    a->has_seed = v[OPT_SEED] != NULL;
    a->has_seeds = v[OPT_SEEDS] != NULL;
    a->has_swarm = v[OPT_SWARM] != NULL;
    int many = strcmp(a->cmd, "swarm") == 0 || v[OPT_GENERATED] != NULL; /* seeds, not a FILE */
    if (many && args_block(a) != 0) return EXIT_USAGE;
    if (many && !a->has_seeds)
        return usage_fail("%s needs --seeds N (or --block K --block-seeds N)", a->cmd);
    if (strcmp(a->cmd, "compare") == 0 && !many &&
        (v[OPT_SEEDS] || v[OPT_FIRST] || v[OPT_BLOCK] || v[OPT_BLOCK_SEEDS] || v[OPT_JSONL] || v[OPT_OUT]))
        return usage_fail("compare FILE: --seeds, --first, --block, --jsonl and --out go with --generated");
    if (strcmp(a->cmd, "report") == 0 && (v[OPT_FIRST] != NULL) != a->has_seeds)
        return usage_fail("report: --first and --seeds go together (the seeds expected)");
    if (a->has_seeds && a->seeds - 1 > UINT64_MAX - a->first)
        return usage_fail("--first %llu with --seeds %llu goes past 18446744073709551615",
                          (unsigned long long)a->first, (unsigned long long)a->seeds);
    a->trace = v[OPT_TRACE];
    a->trace_json = v[OPT_TRACE_JSON];
    a->out = v[OPT_OUT];
    a->mutant = v[OPT_MUTANT];
    a->verbose = v[OPT_VERBOSE] != NULL;
    a->stop_on_fail = v[OPT_STOP_ON_FAIL] != NULL;
    a->no_shrink = v[OPT_NO_SHRINK] != NULL;
    if (a->trace && check_out_file("--trace", a->trace)) return EXIT_USAGE;
    if (a->trace_json && check_out_file("--trace-json", a->trace_json)) return EXIT_USAGE;
    if (a->trace && a->trace_json && strcmp(a->trace, a->trace_json) == 0)
        return usage_fail("--trace and --trace-json name the same file \"%.200s\"", a->trace);
    if (a->out && check_out_dir("--out", a->out)) return EXIT_USAGE;
    a->jsonl = v[OPT_JSONL];
    if (a->jsonl && check_out_file("--jsonl", a->jsonl)) return EXIT_USAGE;
    if (strcmp(a->cmd, "gen") == 0 && parse_u64_arg("gen SEED", a->positional[0], 0, &a->seed))
        return EXIT_USAGE;
    for (int i = 0; strcmp(a->cmd, "suite") == 0 && i < a->npos; i++) {
        struct stat st;
        if (stat(a->positional[i], &st) != 0 || !S_ISDIR(st.st_mode))
            return usage_fail("suite: \"%.200s\" is not a directory of scenarios",
                              a->positional[i]);
    }
    if (a->mutant != NULL && mutant_select(a->mutant) != 0) return EXIT_USAGE;
    if (v[OPT_NET] && strcmp(v[OPT_NET], "auto") != 0 && strcmp(v[OPT_NET], "netns") != 0 &&
        strcmp(v[OPT_NET], "loopback") != 0)
        return usage_fail("--net: \"%.40s\" is not auto, netns or loopback", v[OPT_NET]);
    if (v[OPT_DISK] && strcmp(v[OPT_DISK], "auto") != 0 && strcmp(v[OPT_DISK], "fuse") != 0 &&
        strcmp(v[OPT_DISK], "plain") != 0)
        return usage_fail("--disk: \"%.40s\" is not auto, fuse or plain", v[OPT_DISK]);
    if (v[OPT_PORT_OFFSET] && (parse_u64_arg("--port-offset", v[OPT_PORT_OFFSET], 0, &a->port_offset) ||
                               a->port_offset > PORT_OFFSET_MAX))
        return a->port_offset > PORT_OFFSET_MAX ? usage_fail("--port-offset: at most %d", PORT_OFFSET_MAX)
                                                : EXIT_USAGE;
    if (v[OPT_PROGRAMS]) {
        struct stat st;
        if (stat(v[OPT_PROGRAMS], &st) != 0 || !S_ISDIR(st.st_mode))
            return usage_fail("--programs: \"%.200s\" is not a directory", v[OPT_PROGRAMS]);
    }
    return 0;
}

static const char *const commands = "run swarm report suite print gen real compare soak check";

/* The whole command line; returns 0, or EXIT_USAGE with one line printed. */
static int args_parse(int argc, char **argv, args_t *a) {
    memset(a, 0, sizeof(*a));
    a->first = 1;
    a->cmd = argv[1];
    if (!word_in(a->cmd, commands))
        return usage_fail("unknown command \"%.60s\" (one of: %s)", a->cmd, commands);
    int rc = args_read(argc, argv, a);
    if (rc != 0 || a->help) return rc;
    /* "--mutant list" asks for the names, like --help: it needs no other argument */
    if (a->value[OPT_MUTANT] != NULL && strcmp(a->value[OPT_MUTANT], "list") == 0)
        return mutant_select("list");
    rc = args_count_check(a);
    if (rc != 0) return rc;
    return args_values(a);
}

static int cmd_run(const args_t *a) {
    scenario_t s;
    char err[512];
    if (scenario_load(a->positional[0], &s, err, sizeof(err)) != 0) {
        say("%s", err);
        return EXIT_USAGE;
    }
    char repro[REPRO_BYTES];
    uint64_t seed = a->has_seed ? a->seed : s.seed;
    snprintf(repro, sizeof(repro), "%s run %s --seed %llu%s%s", prog_name, a->positional[0],
             (unsigned long long)seed, a->mutant ? " --mutant " : "", a->mutant ? a->mutant : "");
    sim_options_t o = {.seed_override = a->seed, .has_seed_override = a->has_seed, .report = stdout,
                       .verbose = a->verbose, .trace_path = a->trace, .trace_json_path = a->trace_json,
                       .repro = repro};
    printf("scenario: %s\nseed: %llu\n", a->positional[0], (unsigned long long)seed);
    sim_result_t r;
    int rc = sim_run(&s, &o, &r);
    scenario_free(&s);
    if (rc < 0) {
        say("%s: %s", a->positional[0],
                r.first_failure[0] ? r.first_failure : "cannot run (out of memory)");
        return EXIT_USAGE;
    }
    printf("trace-hash: %016llx\n", (unsigned long long)r.trace_hash);
    printf("verdict: %s\n", r.verdict == 0 ? "pass" : "fail");
    return r.verdict == 0 ? 0 : 1;
}

/* The directory alichain-sim itself lives in: where `make` put the six programs too. */
static void self_dir(char *dir, size_t cap) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(dir, cap, ".");
        return;
    }
    exe[n] = '\0';
    path_dir(exe, dir, cap);
}

/* --net auto (default): namespace hosts when this machine can make them (root, ip, nft),
 * else loopback with the reason in *note; netns: hosts or refuse (-1, one line printed). */
static int net_choose(const args_t *a, realnet_t **net_out, const char **note) {
    const char *net = a->value[OPT_NET] != NULL ? a->value[OPT_NET] : "auto";
    static realnet_t ns;
    static char why[REALNET_ERR_BYTES];
    *net_out = NULL;
    *note = NULL;
    if (strcmp(net, "loopback") == 0) return 0;
    if (realnet_netns(&ns, why, sizeof(why)) == 0) {
        *net_out = &ns;
    } else if (strcmp(net, "netns") == 0) {
        say("--net netns: %s", why);
        return -1;
    } else {
        *note = why;
    }
    return 0;
}

/* --disk auto (default): the disk fault file system where it mounts; fuse: it or refuse;
 * plain: none (disk faults refused). */
static int disk_mode(const args_t *a) {
    const char *d = a->value[OPT_DISK];
    return d == NULL || strcmp(d, "auto") == 0 ? REALDISK_AUTO : strcmp(d, "fuse") == 0 ? REALDISK_FUSE : REALDISK_PLAIN;
}

/* The programs' directory: --programs, else the one alichain-sim is in. */
static void programs_dir(const args_t *a, char *programs, size_t cap) {
    if (a->value[OPT_PROGRAMS] == NULL) self_dir(programs, cap);
    else if (realpath(a->value[OPT_PROGRAMS], programs) == NULL) /* the programs run elsewhere */
        snprintf(programs, cap, "%s", a->value[OPT_PROGRAMS]);
}

/* real and compare: the scenario on the real programs (sim/real/real.h). */
static int cmd_real(const args_t *a) {
    scenario_t s;
    char err[512];
    if (scenario_load(a->positional[0], &s, err, sizeof(err)) != 0) {
        say("%s", err);
        return EXIT_USAGE;
    }
    char programs[PATH_MAX];
    programs_dir(a, programs, sizeof(programs));
    real_options_t o = {.programs = programs, .skip_unsupported = a->value[OPT_SKIP_UNSUPPORTED] != NULL,
                        .has_seed = a->has_seed, .seed = a->seed,
                        .has_port_offset = a->value[OPT_PORT_OFFSET] != NULL,
                        .port_offset = (unsigned)a->port_offset, .verbose = a->verbose, .report = stdout,
                        .disk = disk_mode(a)};
    const char *hold = getenv("ALICHAIN_SIM_JUDGE_HOLD_MS"); /* tests/real: a signal while judging */
    if (hold != NULL) o.judge_hold_ms = (uint32_t)strtoul(hold, NULL, 10);
    if (net_choose(a, &o.net, &o.net_note) != 0) {
        scenario_free(&s);
        return EXIT_USAGE;
    }
    uint64_t seed = a->has_seed ? a->seed : s.seed;
    printf("scenario: %s\nseed: %llu\nprograms: %s\n", a->positional[0], (unsigned long long)seed, programs);
    int rc;
    if (strcmp(a->cmd, "compare") == 0) {
        rc = real_compare(&s, &o, stdout, NULL);
        if (rc == EXIT_USAGE) say("%s: refused (see above)", a->positional[0]);
    } else {
        real_result_t r;
        rc = real_run(&s, &o, &r);
        if (rc == EXIT_USAGE) say("%s: %s", a->positional[0], r.first_failure);
        else printf("verdict: %s\n", rc == REAL_EXIT_INCONCLUSIVE ? "inconclusive" : rc == 0 ? "pass" : "fail");
        real_result_free(&r);
    }
    scenario_free(&s);
    return rc;
}

/* The variable's value, or "" when unset. */
static const char *env_or_empty(const char *name) {
    const char *v = getenv(name);
    return v != NULL ? v : "";
}

/* One seed's JSON line of compare --generated (jsonl.h: a "compare" object; a failed seed's
 * violation is checker "compare" with the first difference, or why it failed without one).
 * The loop lives here, not in real/: the JSON lines are the swarm room's, which real/ may
 * not include (sim/README.md's arrows), and cmd/ may use every room. */
static void gencmp_record(jsonl_record_t *rec, const char *commit, uint64_t seed, const compare_result_t *cr,
                          uint64_t wall_us, const char *repro) {
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->commit, sizeof(rec->commit), "%s", commit);
    rec->kind = JSONL_SEED;
    rec->seed = seed;
    rec->verdict = cr->verdict == 0 ? JSONL_PASS : cr->verdict == REAL_EXIT_INCONCLUSIVE ? JSONL_INCONCLUSIVE : JSONL_FAIL;
    rec->wall_us = wall_us;
    rec->has_compare = 1;
    memcpy(rec->faults, cr->faults, sizeof(rec->faults));
    rec->cmp_ops = cr->ops;
    rec->cmp_output_compared = cr->output_compared;
    rec->cmp_model_checked = cr->model_checked;
    rec->cmp_model_rejected = cr->model_rejected;
    rec->cmp_differences = cr->differences;
    rec->cmp_ledger_compared = (uint64_t)cr->ledger_compared;
    snprintf(rec->cmp_first_difference, sizeof(rec->cmp_first_difference), "%s", cr->first_difference);
    snprintf(rec->cmp_why, sizeof(rec->cmp_why), "%s", cr->why);
    if (rec->verdict == JSONL_FAIL) {
        rec->has_violation = 1;
        snprintf(rec->checker, sizeof(rec->checker), "compare");
        snprintf(rec->message, sizeof(rec->message), "%s",
                 cr->first_difference[0] ? cr->first_difference : cr->why[0] ? cr->why : "failed");
        snprintf(rec->reproduce, sizeof(rec->reproduce), "%.1000s", repro);
    }
}

/* A failing seed's scenario, printed to DIR/compare-SEED.scn so it runs with `compare FILE`;
 * path gets its name, or "" when it could not be written. */
static void gencmp_save(const char *dir, uint64_t seed, const scenario_t *s, char *path, size_t cap) {
    path[0] = '\0';
    if (dir == NULL) return;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/compare-%llu.scn", dir, (unsigned long long)seed);
    FILE *f = fopen(p, "w");
    if (f == NULL) return;
    scenario_print(s, f);
    if (fclose(f) == 0) snprintf(path, cap, "%s", p);
}

/* compare --generated: seed after seed, the generator's real profile (gen_limits_real) run in
 * the simulator and on the real programs on namespace hosts. Each seed's report is kept in
 * memory and printed only when the seed fails; every seed is one line here and one JSON line. */
static int cmd_compare_generated(const args_t *a) {
    char programs[PATH_MAX];
    programs_dir(a, programs, sizeof(programs));
    real_options_t o = {.programs = programs, .has_port_offset = a->value[OPT_PORT_OFFSET] != NULL,
                        .port_offset = (unsigned)a->port_offset, .disk = disk_mode(a)};
    if (net_choose(a, &o.net, &o.net_note) != 0) return EXIT_USAGE;
    if (o.net == NULL) { /* loopback cannot partition or touch UDP: every seed would be refused */
        say("compare --generated needs namespace hosts: %s",
                o.net_note != NULL ? o.net_note : "--net loopback");
        return EXIT_USAGE;
    }
    FILE *jl = NULL;
    if (a->jsonl != NULL && (jl = fopen(a->jsonl, "w")) == NULL) {
        say("--jsonl: cannot write \"%.200s\"", a->jsonl);
        return EXIT_USAGE;
    }
    static jsonl_record_t rec;
    const char *commit = getenv("ALICHAIN_COMMIT"); /* as cmd_swarm: names it when the build could not */
    if (commit == NULL || commit[0] == '\0') commit = ALICHAIN_COMMIT;
    snprintf(rec.commit, sizeof(rec.commit), "%s", commit);
    snprintf(rec.host, sizeof(rec.host), "%s", env_or_empty("ALICHAIN_HOST"));
    snprintf(rec.attempt, sizeof(rec.attempt), "%s", env_or_empty("ALICHAIN_ATTEMPT"));
    rec.kind = JSONL_RUN;
    rec.first = a->first;
    rec.seeds = a->seeds;
    rec.has_block = a->value[OPT_BLOCK] != NULL;
    rec.block = a->block;
    rec.block_seeds = a->block_seeds;
    rec.compare = 1;
    if (jl != NULL) jsonl_write(jl, &rec);
    uint64_t counts[3] = {0}, differences = 0, t0 = proc_now_us(); /* pass, fail, inconclusive */
    int rc = 0;
    for (uint64_t k = 0; k < a->seeds; k++) {
        uint64_t seed = a->first + k;
        scenario_t s;
        if (swarm_scenario_limits(seed, &gen_limits_real, &s) != 0) {
            rc = EXIT_USAGE;
            break;
        }
        char *text = NULL;
        size_t text_len = 0;
        FILE *mem = open_memstream(&text, &text_len);
        compare_result_t cr;
        uint64_t s0 = proc_now_us();
        int v = real_compare(&s, &o, mem != NULL ? mem : stdout, &cr);
        uint64_t wall_us = proc_now_us() - s0;
        if (mem != NULL) fclose(mem);
        if (proc_interrupted()) { /* SIGINT/SIGTERM: the run stopped what it started; so do we */
            say("compare --generated: interrupted at seed %llu", (unsigned long long)seed);
            free(text);
            scenario_free(&s);
            rc = EXIT_USAGE;
            break;
        }
        char repro[REPRO_BYTES], saved[PATH_MAX];
        snprintf(repro, sizeof(repro), "%s compare --generated --seeds 1 --first %llu", prog_name,
                 (unsigned long long)seed);
        if (v != 0 && v != REAL_EXIT_INCONCLUSIVE) cr.verdict = 1; /* refused: the generator's bug */
        counts[cr.verdict == 0 ? 0 : cr.verdict == REAL_EXIT_INCONCLUSIVE ? 2 : 1]++;
        differences += cr.differences;
        printf("seed %llu: %s, %u operations (%u with output, %u checked against the model), differences %u%s%s "
               "(%.1f s)\n",
               (unsigned long long)seed, cr.verdict == 0 ? "pass" : cr.verdict == 1 ? "FAIL" : "inconclusive", cr.ops,
               cr.output_compared, cr.model_checked, cr.differences, cr.why[0] ? ": " : "", cr.why, (double)wall_us / 1e6);
        if (cr.verdict == 1) {
            gencmp_save(a->out, seed, &s, saved, sizeof(saved));
            printf("%.*s", (int)text_len, text != NULL ? text : "");
            printf("seed %llu failed; reproduce: %s%s%s\n", (unsigned long long)seed, repro,
                   saved[0] ? "\n  or: alichain-sim compare " : "", saved);
            rc = 1;
        }
        free(text);
        gencmp_record(&rec, commit, seed, &cr, wall_us, repro);
        if (cr.verdict == 1 && saved[0]) jsonl_scenario_load(&rec, saved);   /* back with the results */
        if (jl != NULL) jsonl_write(jl, &rec);
        scenario_free(&s);
    }
    double wall = (double)(proc_now_us() - t0) / 1e6;
    if (jl != NULL && fclose(jl) != 0 && rc != EXIT_USAGE) {
        say("compare: cannot write the --jsonl file");
        rc = EXIT_USAGE;
    }
    printf("compare: %llu seeds: %llu pass, %llu fail, %llu inconclusive; differences %llu; %.1f s (%.1f seeds/min)\n",
           (unsigned long long)(counts[0] + counts[1] + counts[2]), (unsigned long long)counts[0],
           (unsigned long long)counts[1], (unsigned long long)counts[2], (unsigned long long)differences, wall,
           wall > 0 ? (double)(counts[0] + counts[1] + counts[2]) * 60.0 / wall : 0.0);
    return rc;
}

/* soak: the durability soak on the real programs (sim/real/soak.h). Without namespace hosts it
 * runs on loopback and says so loudly; under CI=true it refuses instead. */
static int cmd_soak(const args_t *a) {
    const char *const *v = a->value;
    uint64_t transfers = SOAK_TRANSFERS_DEFAULT, concurrency = SOAK_CONCURRENCY_DEFAULT, kill_ms = SOAK_KILL_MS_DEFAULT;
    if ((v[OPT_TRANSFERS] && parse_u64_arg("--transfers", v[OPT_TRANSFERS], 1, &transfers)) ||
        (v[OPT_CONCURRENCY] && parse_u64_arg("--concurrency", v[OPT_CONCURRENCY], 1, &concurrency)) ||
        (v[OPT_KILL_MS] && parse_u64_arg("--kill-ms", v[OPT_KILL_MS], 0, &kill_ms)))
        return EXIT_USAGE;
    if (transfers > SOAK_TRANSFERS_MAX) return usage_fail("--transfers: at most %u", SOAK_TRANSFERS_MAX);
    if (concurrency > SOAK_CONCURRENCY_MAX) return usage_fail("--concurrency: at most %u", SOAK_CONCURRENCY_MAX);
    if (kill_ms > SOAK_KILL_MS_MAX) return usage_fail("--kill-ms: at most %u", SOAK_KILL_MS_MAX);
    soak_plant_t plant = SOAK_PLANT_NONE;
    if (v[OPT_PLANT] && strcmp(v[OPT_PLANT], "drop-confirmed") == 0) plant = SOAK_PLANT_DROP_CONFIRMED;
    else if (v[OPT_PLANT] && strcmp(v[OPT_PLANT], "torn-confirmed") == 0) plant = SOAK_PLANT_TORN_CONFIRMED;
    else if (v[OPT_PLANT] && strcmp(v[OPT_PLANT], "copy-confirmed") == 0) plant = SOAK_PLANT_COPY_CONFIRMED;
    else if (v[OPT_PLANT] && strcmp(v[OPT_PLANT], "none") != 0)
        return usage_fail("--plant: \"%.40s\" is not none, drop-confirmed, torn-confirmed or copy-confirmed",
                          v[OPT_PLANT]);
    char programs[PATH_MAX];
    programs_dir(a, programs, sizeof(programs));
    soak_options_t o = {.programs = programs, .transfers = (uint32_t)transfers,
                        .concurrency = (uint32_t)concurrency, .kill_ms = (uint32_t)kill_ms,
                        .seed = a->has_seed ? a->seed : 1, .has_port_offset = v[OPT_PORT_OFFSET] != NULL,
                        .port_offset = (unsigned)a->port_offset, .plant = plant, .report = stdout,
                        .power_cut = v[OPT_POWER_CUT] != NULL};
    if (net_choose(a, &o.net, &o.net_note) != 0) return EXIT_USAGE;
    if (o.net == NULL && o.net_note != NULL) {
        const char *ci = getenv("CI");
        if (ci != NULL && strcasecmp(ci, "true") == 0) {
            say("soak: NAMESPACE HOSTS UNAVAILABLE under CI=true: %s", o.net_note);
            return EXIT_USAGE;
        }
        say("soak: NAMESPACE HOSTS UNAVAILABLE (%s): THE SOAK RUNS ON LOOPBACK",
                o.net_note);
    }
    printf("programs: %s\n", programs);
    return soak_run(&o);
}

static int cmd_swarm(const args_t *a) {
    swarm_options_t o = {.seeds = a->seeds, .first = a->first, .out_dir = a->out, .prog = prog_name,
                         .mutant = a->mutant, .stop_on_fail = a->stop_on_fail, .shrink = !a->no_shrink,
                         .progress = isatty(STDERR_FILENO), .report = stdout,
                         .has_block = a->value[OPT_BLOCK] != NULL, .block = a->block,
                         .block_seeds = a->block_seeds};
    /* ALICHAIN_COMMIT in the environment names the commit when the build could not */
    const char *commit = getenv("ALICHAIN_COMMIT");
    o.commit = commit != NULL && commit[0] != '\0' ? commit : ALICHAIN_COMMIT;
    /* which machine and which try ran it: set by sim/swarm/swarm-job.sh (docs/SCALING.md) */
    o.host = env_or_empty("ALICHAIN_HOST");
    o.attempt = env_or_empty("ALICHAIN_ATTEMPT");
    if (a->jsonl != NULL && (o.jsonl = fopen(a->jsonl, "w")) == NULL) {
        say("--jsonl: cannot write \"%.200s\"", a->jsonl);
        return EXIT_USAGE;
    }
    /* SIGINT/SIGTERM (a batch engine cancelling the block) stop it at a seed boundary */
    proc_signals_t saved;
    proc_signals_catch(&saved);
    o.stop = proc_interrupted;
    swarm_result_t r;
    int rc = swarm_run(&o, &r);
    proc_signals_restore(&saved);
    if (o.jsonl != NULL && fclose(o.jsonl) != 0 && rc >= 0) rc = SWARM_EWRITE;
    if (rc == SWARM_ECANCELLED) {
        say("swarm: cancelled (SIGINT/SIGTERM) at a seed boundary after %llu seeds; --jsonl holds only "
            "their whole lines", (unsigned long long)r.seeds_run);
        return EXIT_CANCELLED;
    }
    if (rc < 0) {
        say("swarm: %s",
                rc == SWARM_EWRITE ? "cannot write the --jsonl file" : "out of memory");
        return EXIT_USAGE;
    }
    double wall = (double)r.wall_us / 1e6;
    printf("events: %llu in %.3fs (%.0f events/s); virtual %.1fs (%.0fx)\n",
           (unsigned long long)r.events, wall, wall > 0 ? (double)r.events / wall : 0.0,
           (double)r.virtual_us / 1e6, wall > 0 ? (double)r.virtual_us / 1e6 / wall : 0.0);
    char faults[512];
    sim_faults_format(r.faults, faults, sizeof(faults));
    printf("faults fired: %s\n", faults);
    char gc[160];
    sim_group_commit_format(&r.group_commit, gc, sizeof(gc));
    printf("group commit: %s\n", gc);
    if (r.failed && a->mutant != NULL)
        printf("mutant %s: caught by seed %llu (%s)\n", a->mutant, (unsigned long long)r.first_failed_seed,
               r.first_checker);
    else if (a->mutant != NULL)
        printf("mutant %s: NOT caught in %llu seeds\n", a->mutant, (unsigned long long)r.seeds_run);
    return rc;
}

static int cmd_suite(const args_t *a) {
    static const char *const defaults[] = {"sim/scenarios", "sim/scenarios/regress"};
    suite_options_t o = {.dirs = a->npos ? a->positional : defaults, .dir_count = a->npos ? a->npos : 2,
                         .swarm_seeds = a->has_swarm ? a->swarm : 100, .out_dir = a->out,
                         .prog = prog_name, .report = stdout};
    return suite_run(&o);
}

static int cmd_report(const args_t *a) {
    report_options_t o = {.files = a->positional, .file_count = a->npos, .has_expect = a->has_seeds,
                          .expect_first = a->first, .expect_seeds = a->seeds, .out = stdout,
                          .allow_mixed = a->value[OPT_ALLOW_MIXED] != NULL, .scenario_dir = a->out};
    return report_run(&o);
}

static int cmd_print(const args_t *a) {
    scenario_t s;
    char err[512];
    if (scenario_load(a->positional[0], &s, err, sizeof(err)) != 0) {
        say("%s", err);
        return EXIT_USAGE;
    }
    scenario_print(&s, stdout);
    scenario_free(&s);
    return 0;
}

#define CHECK_FILE_BYTES_MAX ((size_t)1 << 31) /* a backend refuses a larger block file */
#define CHECK_EXIT_PROBLEMS 1
#define CHECK_EXIT_UNREADABLE 2

/* check DIR: reads the three block files and what lies beside them, then judge/fsck.c. */
static int cmd_check(const args_t *a) {
    const char *dir = a->positional[0];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        say("check: cannot read \"%.200s\": not a directory", dir);
        return CHECK_EXIT_UNREADABLE;
    }
    fsck_file_t files[FSCK_FILES_MAX];
    char *bufs[FSCK_FILES_MAX][2];
    memset(files, 0, sizeof(files));
    memset(bufs, 0, sizeof(bufs));
    int rc = 0;
    for (int b = 0; b < BACKEND_COUNT && rc == 0; b++) {
        char path[PATH_MAX + 32], extra[PATH_MAX + 48];
        fsck_file_t *x = &files[b];
        x->name = blockfile_default_name(b);
        snprintf(path, sizeof(path), "%s/%s", dir, x->name);
        int r = proc_file_read(path, CHECK_FILE_BYTES_MAX, &bufs[b][0], &x->len);
        if (r != 0 || bufs[b][0] == NULL) {
            say("check: cannot read %.200s: %s", path,
                    r == 0 ? "no such file" : strerror(errno));
            rc = CHECK_EXIT_UNREADABLE;
            break;
        }
        x->img = bufs[b][0];
        snprintf(extra, sizeof(extra), "%s%s", path, BLOCKFILE_MARKER_SUFFIX);
        if (proc_file_read(extra, CHECK_FILE_BYTES_MAX, &bufs[b][1], &x->marker_len) != 0) {
            say("check: cannot read %.200s: %s", extra, strerror(errno));
            rc = CHECK_EXIT_UNREADABLE;
            break;
        }
        x->marker = bufs[b][1];
        snprintf(extra, sizeof(extra), "%s%s", path, BLOCKFILE_TORN_SUFFIX);
        if (stat(extra, &st) == 0) {
            x->torn_present = 1;
            x->torn_len = (size_t)st.st_size;
        }
    }
    fsck_result_t res;
    if (rc == 0 && fsck_blocks(files, BACKEND_COUNT, stdout, &res) != 0) {
        say("check: out of memory");
        rc = CHECK_EXIT_UNREADABLE;
    }
    for (int b = 0; b < BACKEND_COUNT; b++) {
        free(bufs[b][0]);
        free(bufs[b][1]);
    }
    if (rc != 0) return rc;
    return res.problems > 0 ? CHECK_EXIT_PROBLEMS : 0;
}

static int cmd_gen(const args_t *a) {
    scenario_t s;
    int real = a->value[OPT_REAL] != NULL;
    if (swarm_scenario_limits(a->seed, real ? &gen_limits_real : &gen_limits_swarm, &s) != 0) {
        say("gen: out of memory");
        return EXIT_USAGE;
    }
    printf("# the scenario alichain-sim %s runs for seed %llu\n", real ? "compare --generated" : "swarm",
           (unsigned long long)a->seed);
    scenario_print(&s, stdout);
    scenario_free(&s);
    return 0;
}

int main(int argc, char **argv) {
#if defined(ALICHAIN_MUTANTS)
    prog_name = "alichain-sim-mutants";
#endif
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) return usage_fail("missing a command: one of %s", commands);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    args_t a;
    if (args_parse(argc, argv, &a) != 0) return EXIT_USAGE;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(a.cmd, "run") == 0) return cmd_run(&a);
    if (strcmp(a.cmd, "swarm") == 0) return cmd_swarm(&a);
    if (strcmp(a.cmd, "report") == 0) return cmd_report(&a);
    if (strcmp(a.cmd, "suite") == 0) return cmd_suite(&a);
    if (strcmp(a.cmd, "print") == 0) return cmd_print(&a);
    if (strcmp(a.cmd, "compare") == 0 && a.value[OPT_GENERATED] != NULL) return cmd_compare_generated(&a);
    if (strcmp(a.cmd, "real") == 0 || strcmp(a.cmd, "compare") == 0) return cmd_real(&a);
    if (strcmp(a.cmd, "soak") == 0) return cmd_soak(&a);
    if (strcmp(a.cmd, "check") == 0) return cmd_check(&a);
    return cmd_gen(&a);
}
