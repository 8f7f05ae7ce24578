/* outcome.h — the inverse of a client's screen lines: what clientA/clientB printed (the
 * sentences of messages.h, as client.c prints them) -> which message, with its values, and
 * for a whole run the typed outcome. Harnesses judge real clients through this, never by
 * scraping text; anything core does not print is refused (AC_EINVAL), never guessed. */
#ifndef ALICHAIN_OUTCOME_H
#define ALICHAIN_OUTCOME_H

#include "wire.h"

/* Every message a client prints (messages.h MSG_C_*). */
typedef enum {
    /* stdout */
    OUTCOME_MSG_UP = 1,            /* letter */
    OUTCOME_MSG_BALANCE_SENT,      /* names[0] */
    OUTCOME_MSG_BALANCE,           /* names[0], balance */
    OUTCOME_MSG_NOUSER_REQUEST,    /* names[0] */
    OUTCOME_MSG_TRANSFER_SENT,     /* names[0] -> names[1], amount */
    OUTCOME_MSG_TRANSFER_OK,       /* names[0] -> names[1], amount */
    OUTCOME_MSG_INSUFFICIENT,      /* names[0] -> names[1], amount */
    OUTCOME_MSG_NOUSER_TX,         /* names[0] */
    OUTCOME_MSG_NOUSERS_TX,        /* names[0], names[1] */
    OUTCOME_MSG_SAME_TX,           /* names[0] */
    OUTCOME_MSG_TXLIST_SENT,       /* letter */
    OUTCOME_MSG_TXLIST_OK,         /* count, text (the file) */
    OUTCOME_MSG_STATS_SENT,        /* names[0] */
    OUTCOME_MSG_STATS_HEAD,        /* names[0] */
    OUTCOME_MSG_STATS_COLUMNS,
    OUTCOME_MSG_STATS_ROW,         /* row, widths */
    /* stderr: an error reply */
    OUTCOME_MSG_UNAVAILABLE,       /* text: the backend letters, e.g. "BC" */
    OUTCOME_MSG_STALE,             /* text: the backend letters */
    OUTCOME_MSG_UNKNOWN,
    OUTCOME_MSG_BUSY,
    OUTCOME_MSG_BADREQ,
    OUTCOME_MSG_INTERNAL,          /* text */
    /* stderr: the client gave up (in_doubt: inside MSG_C_FAIL_TRANSFER) */
    OUTCOME_MSG_FAIL_UNREACHABLE,
    OUTCOME_MSG_FAIL_MALFORMED,
    OUTCOME_MSG_FAIL_MALFORMED_ROW,
    OUTCOME_MSG_FAIL_ROWS_NOMEM,
    OUTCOME_MSG_FAIL_LINE_TOO_LONG,
    OUTCOME_MSG_FAIL_CLOSED_MID_REPLY,
    OUTCOME_MSG_FAIL_CLOSED,
    OUTCOME_MSG_FAIL_TIMEOUT,      /* timeout_ms */
    OUTCOME_MSG_END,               /* one past the last */
} outcome_msg_t;

#define OUTCOME_ERROR_BYTES 160

/* One line, recognised. */
typedef struct {
    outcome_msg_t msg;
    int on_stderr;                 /* the message is one of the stderr ones */
    char letter;                   /* the client's letter ('A' or 'B') */
    wire_name_t names[2];          /* in the order the sentence names them */
    int64_t amount;                /* 1..AMOUNT_MAX */
    int64_t balance;
    uint64_t count;
    uint32_t timeout_ms;
    int in_doubt;                  /* a FAIL_ message inside MSG_C_FAIL_TRANSFER */
    char text[PATH_BYTES_MAX + 1]; /* NUL-terminated */
    wire_crow_t row;               /* STATS_ROW's values */
    int widths[3];                 /* STATS_ROW's column widths: rank, name, count */
} outcome_line_t;

/* Recognises one line (len bytes, no '\n'; a stderr line without the driver's "client<j>: ")
 * as exactly one message of messages.h, as client.c prints it: every word, every number in
 * printf's own form (no sign, no leading zero), names valid (tx_name_valid). A stats row is
 * checked against its own column widths (each at least the minimum of messages.h);
 * outcome_parse checks that every row of a table has the same ones, the table's. Returns
 * 0 with l filled, or AC_EINVAL. */
int outcome_line_parse(const char *line, size_t len, outcome_line_t *l);

/* The format of a message (a MSG_C_* of messages.h); NULL for one outside the enum. */
const char *outcome_msg_format(outcome_msg_t msg);

/* A whole run of a one-shot client. */
typedef struct {
    char letter;              /* 'A' or 'B', from the "up" line */
    wire_creq_t req;          /* what the "sent" line asked (op 0: the request never went out) */
    wire_crep_t reply;        /* the reply shown (kind 0: none): balance; names (NOUSER,
                               * NOUSERS); count (TXLIST: the transactions; STATS: the rows
                               * shown); text (TXLIST: the file; UNAVAILABLE, STALE: the
                               * backend letters; INTERNAL: what failed). serial is never shown. */
    outcome_msg_t failure;    /* 0, or why the client gave up (OUTCOME_MSG_FAIL_*) */
    uint32_t timeout_ms;      /* failure OUTCOME_MSG_FAIL_TIMEOUT: the client's timeout */
    int in_doubt;             /* the transfer's outcome is unknown: reply CREP_UNKNOWN, or it
                               * gave up after the request went out */
    unsigned driver_lines;    /* stderr lines of the driver (net/), not core's: skipped */
    char error[OUTCOME_ERROR_BYTES]; /* when refused: which line and why */
} outcome_t;

/* Reads a finished client's stdout (out_len bytes) and stderr (err_len) as the real programs
 * print them: every line ends in '\n'; each stderr line starts with "client<j>: " (net/drive.c),
 * j the letter of the "up" line. stdout must be exactly what client.c prints for some run:
 * the "up" line, then the "sent" line and the result of its reply, if it got that far. On
 * stderr, at most one line is core's (an error reply or a failure, allowed only where
 * client.c prints one); other stderr lines with the prefix are the driver's (socket errors)
 * and are counted. Stats rows are stored in rows[0..rows_cap) (rows may be NULL), all of
 * them checked. Returns 0 with o filled, or AC_EINVAL with o->error saying why. */
int outcome_parse(const char *out, size_t out_len, const char *err, size_t err_len,
                  outcome_t *o, wire_crow_t *rows, size_t rows_cap);

/* The exit code of a client that printed o (CLIENT_EXIT_OK, _REFUSED or _FAILED). */
int outcome_exit_code(const outcome_t *o);

#endif
