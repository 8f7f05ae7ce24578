/* mutant.h — planted bugs for proving the checkers (issue: sim mutants) and `compare`.
 * Only a build with -DALICHAIN_MUTANTS contains them; there ac_mutant selects at most one
 * (set by alichain-sim-mutants --mutant NAME, or in the real-mutants build of the six
 * programs by ALICHAIN_MUTANT=NAME). In every other build MUTANT(x) is the constant 0 and
 * the compiler removes the buggy branch. The bugs before MUT_SIM_COUNT live in core/ and
 * both drivers run them; the ones after it live in net/ only (the real programs' own code
 * around core), so the simulator stays correct and `compare` must tell the two apart. */
#ifndef ALICHAIN_MUTANT_H
#define ALICHAIN_MUTANT_H

typedef enum {
    MUT_NONE = 0,
    MUT_BACKEND_DOUBLE_STORE,   /* a backend stores a retransmitted write twice */
    MUT_SERIAL_REUSE_IN_DOUBT,  /* serverM reuses a serial while a write is in doubt */
    MUT_SAME_BALANCE,           /* two transfers from one sender validated against the same balance */
    MUT_ACK_BEFORE_SYNC,        /* a backend acknowledges before syncing */
    MUT_PARTIAL_BALANCE,        /* a balance computed without one backend's answer */
    MUT_RETX_OTHER_BACKEND,     /* a retransmitted write sent to another backend */
    MUT_NO_RETRANSMIT,          /* no retransmission at all */
    MUT_NO_FENCING,             /* no restart fencing */
    MUT_KEEP_TORN_TAIL,         /* recovery keeps a torn append that happens to parse */
    MUT_NO_MARKER,              /* appends without the "<block>.appended" marker */
    MUT_TXLIST_NO_SNAPSHOT,     /* a TXLIST also lists what was written while it ran */
    MUT_STATS_NO_LOCK,          /* transfers of a user go on while its stats are paged */
    MUT_REPLY_OUT_OF_ORDER,     /* a persistent connection's replies leave as they complete */
    MUT_CONN_UNORDERED,         /* a persistent connection's requests all start at once */
    MUT_SKIP_MAC,               /* a datagram whose MAC does not verify is taken anyway */
    MUT_DISK_ERROR_NO_CUT,      /* a backend refuses a write its disk failed but leaves its
                                   bytes in the block file */
    MUT_NO_EPOCH_CHECK,         /* a backend applies a WRITE meant for an earlier run of it */
    MUT_TXLIST_PAGE_ORDER,      /* serverM takes a LIST page of a window that does not start
                                   at the backend's cursor (one before it was lost) */
    MUT_READS_ACROSS_BATCHES,   /* the next batch writes while read batches of the last run */
    MUT_AHEAD_NO_CATCH_UP,      /* the batch that fetched ahead decides on its fetch alone,
                                   without the writes the batch before stored after it */
    MUT_SIM_COUNT,              /* the core bugs above: alichain-sim-mutants selects these */
    /* real programs only (net/; make real-mutants, make compare-mutants): */
    MUT_RESTART_FORGETS_LAST = MUT_SIM_COUNT, /* a backend restarted after a crash reads its
                                                 block file without the last line */
    MUT_HALF_TIMEOUT,           /* serverM waits half of ALICHAIN_TIMEOUT_MS for a backend */
    MUT_WRONG_BALANCE,          /* a client prints a balance off by one */
    MUT_COUNT
} mutant_t;

#if defined(ALICHAIN_MUTANTS)
extern mutant_t ac_mutant;
#define MUTANT(x) (ac_mutant == (x))
#else
#define MUTANT(x) 0
#endif

/* The names used on the command line, indexed by mutant_t (MUT_NONE is "none"). */
extern const char *const mutant_names[MUT_COUNT];

#endif
