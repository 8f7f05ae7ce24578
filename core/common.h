/* common.h — limits, error codes and assertion macros shared by every core module.
 * Every limit of the system is a named constant here, so that the relations between
 * them can be checked at compile time and the drivers size their buffers from them. */
#ifndef ALICHAIN_COMMON_H
#define ALICHAIN_COMMON_H

/* Assertions are how core reports its own bugs, and the simulator, the fuzz drivers and the
 * sanitizer build rely on them firing: a build that turns them off is refused. */
#if defined(NDEBUG)
#error "alichain: core must be built with assertions on (NDEBUG is defined)"
#endif

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* ---- data limits (SPEC.md "Data") ---- */
#define NAME_BYTES_MAX 64                  /* a user name: 1..64 bytes */
#define AMOUNT_MIN 1
#define AMOUNT_MAX 1000000000000LL         /* 10^12 */
#define BALANCE_INITIAL 1000
#define SERIAL_DIGITS_MAX 20               /* UINT64_MAX has 20 digits */
#define AMOUNT_DIGITS_MAX 13               /* AMOUNT_MAX's digits (no leading zeros) */
/* "<serial> <sender> <receiver> <amount>\n" at its longest, plus a CR of a CRLF file. */
#define TX_LINE_BYTES_MAX (SERIAL_DIGITS_MAX + 1 + NAME_BYTES_MAX + 1 + NAME_BYTES_MAX + 1 + \
                           AMOUNT_DIGITS_MAX + 2)
/* block files may be hand-written: a line longer than this is an error, not a buffer bug */
#define BLOCK_LINE_BYTES_MAX 1024

/* ---- network limits (docs/PROTOCOL.md) ---- */
#define BACKEND_COUNT 3
#define DGRAM_BYTES_MAX 1200               /* safe under any real MTU */
#define TCP_REQUEST_BYTES_MAX 256          /* one request line, newline included */
#define TCP_LINE_BYTES_MAX 512             /* one reply line, newline included */
#define PATH_BYTES_MAX 200                 /* the TXLIST path shown to clients */
#define CONNECTIONS_MAX 1024               /* client connections open at once in serverM */
#define TCP_PIPELINE_MAX 64                /* unanswered requests of one persistent connection */
#define STATS_PARTNERS_MAX 1000000         /* partners of one user serverM will merge */
/* serverM's replies not yet taken by a client's socket (queued in the driver or held in
 * the core for their turn): past CONN_UNSENT_BYTES_MAX on one connection, serverM stops
 * reading that connection; past COORD_UNSENT_BYTES_BUDGET on all of them together, it stops
 * reading every persistent connection that is owed a reply, until the total is back under
 * 3/4 of the budget. The replies of requests already read are bounded too: a reply longer
 * than a line (a STATS table) that would take a connection already owed bytes past its
 * bound or past the budget, or anyone past COORD_UNSENT_BYTES_LIMIT (persistent
 * connections: past 3/4 of it; the rest is kept for one-shot clients), is answered
 * ERROR BUSY instead (docs/PROTOCOL.md 2.5, "Memory"). A slow reader slows itself down. */
#define CONN_UNSENT_BYTES_MAX (256u << 10)
#define COORD_UNSENT_BYTES_BUDGET (64u << 20)
#define COORD_UNSENT_BYTES_LIMIT (256u << 20)

/* ---- time ---- */
#define TIMEOUT_MS_DEFAULT 2000            /* ALICHAIN_TIMEOUT_MS */
#define RETRANSMIT_US_INITIAL 20000        /* first retransmission after 20 ms ... */
#define RETRANSMIT_US_MAX 320000           /* ... doubling up to 320 ms */
#define CONN_IDLE_US 10000000              /* a client connection must send its request in 10 s;
                                              a persistent one with nothing unanswered, its next */
#define CLIENT_TIMEOUT_MS_DEFAULT 30000    /* a client waits this long for its reply */

_Static_assert(TX_LINE_BYTES_MAX < BLOCK_LINE_BYTES_MAX, "a valid line fits the line limit");
_Static_assert(TCP_REQUEST_BYTES_MAX > 16 + 2 * NAME_BYTES_MAX + AMOUNT_DIGITS_MAX + 4,
               "a TRANSFER request fits in one request line");
_Static_assert(TCP_LINE_BYTES_MAX > 32 + PATH_BYTES_MAX, "a TXLIST reply fits in a line");
_Static_assert(RETRANSMIT_US_INITIAL < RETRANSMIT_US_MAX, "backoff grows");
_Static_assert((uint64_t)CONN_UNSENT_BYTES_MAX * CONNECTIONS_MAX > COORD_UNSENT_BYTES_BUDGET,
               "the budget binds before every connection reaches its own bound");
_Static_assert(COORD_UNSENT_BYTES_BUDGET < COORD_UNSENT_BYTES_LIMIT / 4 * 3,
               "a persistent connection owed nothing still gets a reply past the budget");

/* Errors: functions return 0 or one of these (negative). */
enum {
    AC_OK = 0,
    AC_EINVAL = -1,     /* malformed input (a message says what) */
    AC_ERANGE = -2,     /* a number outside its range, or an overflow */
    AC_ENOMEM = -3,     /* allocation failed */
    AC_EFULL = -4,      /* a bounded table or buffer is full */
    AC_EDUP = -5,       /* a serial that is already present */
    AC_ENOENT = -6,     /* not found */
    AC_EAGAIN = -7,     /* incomplete: more bytes are needed */
};

/* AC_ASSERT: for our own bugs only (never for bad input). Kept on in every build. */
#define AC_ASSERT(cond) assert(cond)

/* ALWAYS()/NEVER() mark defensive branches that tests cannot reach (SQLite's habit):
 * normally they assert; in coverage builds the branch is constant, so the unreachable
 * line does not count as missed. x is evaluated in every build (it may have effects). */
#if defined(AC_COVERAGE)
#define ALWAYS(x) ((void)(x), 1)
#define NEVER(x) ((void)(x), 0)
#else
#define ALWAYS(x) ((x) ? 1 : (assert(0), 0))
#define NEVER(x) ((x) ? (assert(0), 1) : 0)
#endif

#define AC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Backend index 0,1,2 <-> letter 'A','B','C'. */
static inline char backend_letter(int index) { return (char)('A' + index); }

#endif
