/* scenario.h — the scenario room: what a run is asked to do and what it reports, for every
 * driver (the simulator, the real programs, the swarm, the fuzzers). The scenario language
 * of docs/SCENARIOS.md (parse, print, generate from bytes, the shrinker's edits), the fault
 * settings, and the result vocabulary (fault counters, violations, sim_result_t). Pure
 * data and text: no clock, no process, no network. */
#ifndef ALICHAIN_SIM_SCENARIO_H
#define ALICHAIN_SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"

/* ---- nodes ---- */
enum {
    SIM_NODE_M = 0,          /* serverM */
    SIM_NODE_A = 1,          /* serverA .. serverC = backend index + 1 */
    SIM_NODE_B = 2,
    SIM_NODE_C = 3,
    SIM_NODE_CLIENTS = 4,    /* every client process, as one end of the links to serverM */
    SIM_NODES = 5,
    SIM_NODE_ALL = 255       /* "every node / link" in settings and heals */
};
#define SIM_SERVERS 4        /* M, A, B, C: the nodes that crash, restart and pause */

/* ---- limits ---- */
#define SCN_TEXT_BYTES_MAX (16u << 20)   /* a scenario file */
#define SCN_BLOCK_BYTES_MAX (16u << 20)  /* one initial block image */
#define SCN_STEPS_MAX 100000u            /* timed statements */
#define SCN_EXPECTS_MAX 10000u
#define SCN_ARGS_MAX 6                   /* words after clientA/clientB */
#define SCN_ARG_BYTES_MAX 200
#define SCN_LABEL_BYTES 32
#define SCN_EXPECT_TEXT_BYTES 512
#define SIM_TIME_US_MAX (100000ull * 1000000ull) /* 100,000 s of virtual time */
#define SIM_VIOLATIONS_MAX 16

/* ---- fault settings ---- */
#define PPM_ONE 1000000u                 /* probabilities are parts per million */

typedef struct {
    uint64_t delay_min_us, delay_max_us; /* one-way latency, uniform in the range */
    uint32_t loss_ppm;                   /* a datagram is dropped */
    uint32_t dup_ppm;                    /* a datagram is delivered twice */
    uint32_t reorder_ppm;                /* a datagram is held back (up to 2x the max delay) */
} sim_udp_t;

typedef struct {
    uint64_t delay_min_us, delay_max_us; /* one-way latency of a segment */
    uint32_t seg_min, seg_max;           /* bytes per segment a send is cut into */
    uint32_t reset_ppm;                  /* a segment resets the connection instead */
} sim_tcp_t;

typedef struct {
    uint64_t sync_min_us, sync_max_us;   /* append + fdatasync latency */
    uint32_t torn_ppm;                   /* a crash with unsynced data keeps a torn part */
    uint32_t full;                       /* 1: every write of an append fails with ENOSPC
                                            (half of it written first): disk_fate.h */
    uint32_t eio_write_ppm;              /* a write of an append fails with EIO (likewise) */
    uint32_t eio_sync_ppm;               /* a sync of appended bytes fails with EIO */
} sim_disk_t;

typedef struct {
    sim_udp_t udp[SIM_SERVERS][SIM_SERVERS]; /* [from][to]; used: M<->A, M<->B, M<->C */
    sim_tcp_t tcp;                           /* every client connection, both directions */
    sim_disk_t disk[BACKEND_COUNT];
    uint64_t file_min_us, file_max_us;       /* serverM's atomic TXLIST write */
} sim_faults_t;

/* ---- scenario ---- */
typedef enum {
    STEP_OP = 1,    /* a client process runs one command line */
    STEP_CRASH,     /* node loses its volatile state (and unsynced disk data) */
    STEP_RESTART,   /* node recovers from its simulated disk */
    STEP_PAUSE,     /* node stops processing; its inputs queue up */
    STEP_RESUME,
    STEP_PARTITION, /* cut links: node<->node2, node->node2 (oneway), or node<->all */
    STEP_HEAL,      /* restore links (node SIM_NODE_ALL: every link) */
    STEP_RECOVER,   /* heal all links, restart/resume every node, zero the fault rates */
    STEP_SET,       /* change fault settings */
    STEP_SESSION,   /* a keep-alive session's client ends its connection: half_close 1 =
                       shutdown(SHUT_WR) ("shutdown S"), 0 = a reset ("reset S") */
    STEP_FORGE,     /* a forger without the servers' key, on serverM's address, sends
                       backend `node` datagrams of kind `forge` (FORGE_*) */
} step_kind_t;

/* STEP_FORGE: what the forger sends ("forge B write", docs/SCENARIOS.md). */
enum {
    FORGE_WRITE = 1,  /* a hello and a WRITE of FORGE_SENDER -> FORGE_RECEIVER, serverM's
                         incarnation, with a MAC of another key */
    FORGE_FENCE,      /* a hello of a newer incarnation (within the clock bound) with a MAC of
                         another key: taken, it would fence the real serverM out */
    FORGE_REPLAY,     /* the last datagram serverM sent that backend, replayed as it was
                         (a genuine MAC): at most a copy, never news */
    FORGE_KINDS
};
#define FORGE_SENDER "Mallory"   /* a forged transfer's names: the "forgery" checker looks */
#define FORGE_RECEIVER "Eve"     /* for FORGE_SENDER on every disk */
#define FORGE_AMOUNT 800
#define FORGE_SERIAL 1000000000ull
extern const char *const forge_names[FORGE_KINDS]; /* "write", "fence", "replay" */

/* A settings change: which part, which link/disk, and which fields (mask). */
enum { SET_UDP = 1, SET_TCP, SET_DISK, SET_FILE };
enum {
    SETF_DELAY = 1u << 0,    /* udp/tcp delay range; disk sync range; file range */
    SETF_LOSS = 1u << 1,
    SETF_DUP = 1u << 2,
    SETF_REORDER = 1u << 3,
    SETF_SEGMENT = 1u << 4,
    SETF_RESET = 1u << 5,
    SETF_TORN = 1u << 6,
    SETF_FULL = 1u << 7,      /* disk: "full on|off" */
    SETF_EIO_WRITE = 1u << 8, /* disk: "eio-write P" */
    SETF_EIO_SYNC = 1u << 9,  /* disk: "eio-sync P" */
};
typedef struct {
    uint8_t what;            /* SET_* */
    uint8_t from, to;        /* SET_UDP: link (SIM_NODE_ALL = every one); SET_DISK: node */
    uint8_t both;            /* SET_UDP: X<->Y (both directions) */
    uint32_t mask;           /* SETF_* */
    uint64_t min_us, max_us; /* SETF_DELAY */
    uint32_t loss_ppm, dup_ppm, reorder_ppm, reset_ppm, torn_ppm;
    uint32_t seg_min, seg_max;
    uint32_t full, eio_write_ppm, eio_sync_ppm; /* SETF_FULL, SETF_EIO_WRITE, SETF_EIO_SYNC */
} sim_set_t;

/* An event a step can be anchored to instead of a time ("on first WRITE M->B: ...",
 * docs/SCENARIOS.md "Steps on protocol events"): the nth datagram of one UDP message type
 * sent on a link between serverM and a backend, counted from time 0 (duplicates a network
 * makes are not sends; retransmissions are). Both drivers carry the step out at that
 * datagram, before it is delivered: the simulator's world when the node sends it, the
 * real hosts' relay when it reads it (it holds the datagram until the step has landed). */
#define SCN_ANCHORS_MAX 32       /* anchored steps in one scenario */
typedef struct {
    uint8_t type;            /* 0: a timed step; else a wire.h request type (WIRE_QUERY ..
                                WIRE_STATS), | WIRE_REPLY for the backend's reply to it */
    uint8_t backend;         /* SIM_NODE_A .. SIM_NODE_C, or SIM_NODE_ALL: any backend */
    uint32_t nth;            /* the datagram that fires it: 1 = the first */
    uint64_t after_us;       /* the step comes this long after that datagram (0: at it) */
} scn_event_t;

typedef struct {
    uint64_t at_us;          /* a timed step's time; 0 for an anchored one (on.type != 0) */
    scn_event_t on;          /* the event it waits for; on.type 0: timed */
    uint8_t kind;            /* step_kind_t */
    uint8_t node, node2;     /* SIM_NODE_*; node2 SIM_NODE_ALL: "isolate" */
    uint8_t oneway;
    uint8_t client;          /* STEP_OP: 0 = clientA, 1 = clientB */
    uint8_t argc;            /* STEP_OP: words after the program name */
    uint8_t half_close;      /* STEP_OP: shut down the write side right after the request;
                                STEP_SESSION: shutdown (1) or reset (0) */
    uint8_t forge;           /* STEP_FORGE: FORGE_* */
    uint8_t keepalive;       /* STEP_OP: a keep-alive session (a persistent connection that
                                the operations "on" it pipeline their requests over) */
    char label[SCN_LABEL_BYTES];
    char session[SCN_LABEL_BYTES]; /* STEP_OP: the session it rides on ("" : its own
                                connection); STEP_SESSION: the session */
    char *argv[SCN_ARGS_MAX];/* STEP_OP: owned by the scenario */
    sim_set_t set;           /* STEP_SET */
    uint32_t line;           /* in the source text (0: generated) */
} scn_step_t;

typedef enum {
    EXP_EXIT = 1,       /* label exit N[,N..] */
    EXP_STDOUT,         /* label stdout "line": some stdout line equals it */
    EXP_NO_STDOUT,      /* label no-stdout "line" */
    EXP_STDERR,         /* label stderr "text": some stderr line contains it */
    EXP_SERIAL,         /* label serial N */
    EXP_BALANCE,        /* balance USER N (final disks) */
    EXP_ABSENT,         /* balance USER absent */
    EXP_TXLIST_LINE,    /* alichain.txt line "text" */
    EXP_TXLIST_LINES,   /* alichain.txt lines N */
    EXP_TXLIST_ABSENT,  /* alichain.txt absent */
    EXP_LEDGER_COUNT,   /* ledger count N */
    EXP_LEDGER_HAS,     /* ledger has "serial sender receiver amount" */
    EXP_INVARIANTS,     /* the always-on checkers hold (documentation; they always run) */
    EXP_FAULT,          /* fault NAME >= N | == N | <= N */
} expect_kind_t;

enum { CMP_GE = 1, CMP_EQ, CMP_LE };

typedef struct {
    uint8_t kind;
    uint8_t cmp;
    uint8_t fault;                /* EXP_FAULT: a sim_fault_id_t */
    uint32_t exit_mask;           /* EXP_EXIT: bit n = exit code n allowed */
    int64_t num;
    char label[SCN_LABEL_BYTES];  /* operation label, or the user of EXP_BALANCE */
    char *text;                   /* owned */
    uint32_t line;
} scn_expect_t;

typedef struct {
    int has_seed;
    uint64_t seed;
    char *block[BACKEND_COUNT];   /* initial block file images (owned; may be NULL) */
    size_t block_len[BACKEND_COUNT];
    sim_faults_t faults;          /* settings at time 0 */
    uint32_t timeout_ms;          /* serverM's backend deadline (ALICHAIN_TIMEOUT_MS) */
    uint32_t client_timeout_ms;
    uint64_t liveness_us;         /* bound after the last heal (0: the default) */
    int until_quiet;              /* run until quiet (max run_us) or for run_us */
    uint64_t run_us;
    scn_step_t *steps;            /* sorted by time; equal times keep file order */
    size_t step_count, step_cap;
    scn_expect_t *expects;
    size_t expect_count, expect_cap;
} scenario_t;

/* Fault counters (sim_result_t.faults[]), in report order. */
typedef enum {
    FAULT_DGRAMS = 0,     /* datagrams sent (not a fault: the base of the rates) */
    FAULT_LOST,
    FAULT_DUPLICATED,
    FAULT_REORDERED,      /* delivered after one sent later on the same link */
    FAULT_CUT,            /* dropped by a partition */
    FAULT_TO_DOWN,        /* arrived at a crashed node */
    FAULT_SPLIT,          /* extra TCP segments a send was cut into */
    FAULT_RESETS,         /* TCP connections reset (fault or crash of serverM) */
    FAULT_STALLED,        /* TCP segments and handshakes held back by a partition */
    FAULT_CRASHES,
    FAULT_RESTARTS,
    FAULT_PAUSES,
    FAULT_PARTITIONS,
    FAULT_TORN,           /* crashes that left a torn last line on disk */
    FAULT_UNSYNCED,       /* appends lost at a crash before their sync */
    FAULT_NOSPACE,        /* writes of appends refused with ENOSPC ("disk X full on") */
    FAULT_EIO,            /* writes and syncs of appends failed with EIO ("eio-write", "eio-sync") */
    FAULT_FORGED,         /* datagrams a forger sent with a MAC of another key ("forge X write|fence") */
    FAULT_REPLAYED,       /* datagrams of serverM's a forger sent again ("forge X replay") */
    FAULT_COUNT
} sim_fault_id_t;
_Static_assert(FAULT_COUNT <= 32, "fault counters fit a 32-bit mask");
extern const char *const sim_fault_names[FAULT_COUNT];

/* When each anchored step of a run fired, in the scenario's order of anchored steps
 * (k-th "on" statement): run time, or UINT64_MAX when its event never came. Both drivers
 * fill it; compare holds the two against each other. */
typedef struct {
    uint32_t count;                     /* anchored steps in the scenario */
    uint32_t step[SCN_ANCHORS_MAX];     /* their step indices */
    uint64_t at_us[SCN_ANCHORS_MAX];
} scn_fired_t;

/* How often a run reached serverM's group commit (coord_stats_t, every incarnation
 * summed): not a fault, a path the faults must reach to check it. */
typedef struct {
    uint64_t ahead;               /* batches that fetched while the batch before wrote */
    uint64_t caught_up;           /* transfers of a batch before added to their fetch */
    uint64_t discarded;           /* their fetches thrown away (a write refused or in doubt) */
} sim_group_commit_t;

typedef struct {
    char checker[32];
    uint64_t at_us;
    char message[400];
} sim_violation_t;


typedef struct {
    int verdict;                  /* 0 pass, 1 fail */
    uint64_t seed;
    uint64_t trace_hash;
    uint64_t events;              /* simulated events handled */
    uint64_t virtual_us;          /* virtual time at the end */
    uint64_t wall_us;             /* wall clock of the run (the speed report only) */
    uint64_t faults[FAULT_COUNT];
    sim_group_commit_t group_commit;
    uint32_t ops, ops_ok, ops_refused, ops_usage, ops_failed, ops_pending;
    uint32_t expects_failed;
    uint32_t violation_count;     /* may exceed the ones kept below */
    sim_violation_t violations[SIM_VIOLATIONS_MAX];
    scn_fired_t fired;            /* when each anchored step fired */
    char first_failure[480];      /* the first violation or failed expect, one line */
} sim_result_t;

/* Parses scenario text. Reads no files: "block X file PATH" is an error here (use
 * scenario_load). Returns 0, or AC_EINVAL / AC_ERANGE / AC_ENOMEM with
 * "line N: reason" in err, or AC_EDUP when the initial blocks repeat a serial (err names
 * it and both places). On error *out is freed and empty. */
int scenario_parse(const char *text, size_t len, scenario_t *out, char *err, size_t err_cap);
/* Reads and parses a scenario file; "block X file PATH" is relative to its directory. */
int scenario_load(const char *path, scenario_t *out, char *err, size_t err_cap);
void scenario_init(scenario_t *s);
void scenario_free(scenario_t *s);
/* Writes s as scenario text that parses back to the same scenario (blocks inline). */
int scenario_print(const scenario_t *s, FILE *f);
/* Lets arbitrary bytes choose a small scenario (blocks, operations, fault schedule): the
 * fuzzers' entry. Always succeeds for len >= 0 unless memory runs out (AC_ENOMEM). */
int scenario_from_bytes(const uint8_t *data, size_t len, scenario_t *out);
/* Copies src into dst (deep). */
int scenario_copy(scenario_t *dst, const scenario_t *src);
/* Adds a step (kept in time order, after steps of equal time). Returns it or NULL. */
scn_step_t *scenario_add_step(scenario_t *s, uint64_t at_us, step_kind_t kind);
/* Sets an operation's words (copied). Returns 0 or AC_ENOMEM / AC_EINVAL. */
int scenario_step_set_args(scn_step_t *st, int argc, const char *const *argv);
void scenario_remove_step(scenario_t *s, size_t i);
/* After steps were removed (the shrinker's edit): a session step whose keepalive step is
 * gone is removed, an operation on such a session gets its own connection. Either is what
 * the run did with it anyway (an operation on a missing session makes its own connection,
 * a shutdown or reset of one does nothing), so the run is unchanged, and the printed
 * reproducer parses (the parser refuses a session no keepalive statement starts). */
void scenario_drop_orphans(scenario_t *s);
/* The default fault settings (a calm network). */
void sim_faults_default(sim_faults_t *f);
/* Applies one settings change. */
void sim_set_apply(sim_faults_t *f, const sim_set_t *set);
/* What `recover` calms in f: loss, duplication and reordering of every UDP link, TCP resets,
 * and the disks' errors (full off, eio-write and eio-sync 0). Delays stay. */
void sim_faults_calm(sim_faults_t *f);


/* Gives every step the line it has when s is printed (scenario_print): a generated
 * scenario's reports then name the lines of its printed reproducer. Returns 0 or AC_ENOMEM. */
int scenario_number_lines(scenario_t *s);

/* "lost=3 duplicated=1 ..." of the non-zero fault counters (DGRAMS excluded). */
void sim_faults_format(const uint64_t *faults, char *buf, size_t cap);
/* "batches ahead=A, transfers caught up=C, discarded=D". */
void sim_group_commit_format(const sim_group_commit_t *g, char *buf, size_t cap);
/* *sum += add, counter by counter. */
void sim_group_commit_add(sim_group_commit_t *sum, const sim_group_commit_t *add);


#endif
