/* wire.h — the two protocols, as strict bounded codecs (docs/PROTOCOL.md is the byte-level
 * reference). UDP: serverM <-> backends, binary, one message a datagram, <= 1200 bytes.
 * TCP: client <-> serverM, one text request line, then reply lines. Decoders never
 * allocate and never trust a length they have not checked against the buffer. */
#ifndef ALICHAIN_WIRE_H
#define ALICHAIN_WIRE_H

#include "tx.h"

/* ================================ UDP ================================ */
#define WIRE_MAGIC 0xA1
#define WIRE_VERSION 5             /* 2: the backend's boot epoch in WRITEs and replies;
                                      3: a LIST asks a window of pages, each reply its cursor,
                                         its transactions in varints;
                                      4: a QUERY of up to 64 names, packed by size;
                                      5: a WRITE's transactions as a page's, up to 64 */
#define WIRE_HEADER_BYTES 20        /* magic, version, type, flags, incarnation, request id */

enum {
    WIRE_QUERY = 1,   /* totals of up to WIRE_QUERY_NAMES_MAX users, plus max serial */
    WIRE_WRITE = 2,   /* record transactions durably */
    WIRE_LIST = 3,    /* a window of pages of transactions, from a cursor: one reply a page */
    WIRE_STATS = 4,   /* one page of a user's partner aggregates, from a cursor */
    WIRE_REPLY = 0x80 /* reply type = request type | WIRE_REPLY */
};

#define WIRE_QUERY_NAMES_MAX 64     /* as many totals as one reply holds (50 + 64 x 17 bytes) */
#define WIRE_WRITE_TXS_MAX 64
#define WIRE_LIST_TXS_MAX 64
#define WIRE_LIST_PAGES_MAX 32      /* pages a LIST may ask at once (one datagram each) */
#define WIRE_STATS_ROWS_MAX 96

/* reply status */
enum {
    WIRE_ST_OK = 0,
    WIRE_ST_STALE = 1,     /* request's incarnation is older than the backend's fence */
    WIRE_ST_UNFENCED = 2,  /* WRITE refused: the backend has not yet seen this incarnation
                              in a QUERY since it started; send a QUERY, then retry */
    WIRE_ST_EPOCH = 3,     /* WRITE refused: its epoch is not this backend process's (it was
                              meant for an earlier run of the backend, or serverM has not
                              heard from this one yet); send a QUERY, then retry with the
                              epoch of its reply */
};
/* per-transaction result of a WRITE */
enum {
    WIRE_TX_STORED = 0,    /* durable (now or before, with the very same line) */
    WIRE_TX_CONFLICT = 1,  /* the serial holds a different transaction */
    WIRE_TX_INVALID = 2,   /* the transaction itself is not valid */
    WIRE_TX_FULL = 3,      /* the block file would pass BLOCKFILE_BYTES_MAX (blockfile.h) */
    WIRE_TX_NOSPACE = 4,   /* the disk refused the append (ENOSPC): nothing of it kept */
    WIRE_TX_IOERR = 5,     /* the append's write or its sync failed (EIO): nothing of it kept */
};

typedef struct {
    uint8_t len;
    char s[NAME_BYTES_MAX + 1]; /* NUL-terminated */
} wire_name_t;

typedef struct {
    uint8_t type;
    uint64_t incarnation;
    uint64_t request_id;
    union {
        struct { uint8_t count; wire_name_t names[WIRE_QUERY_NAMES_MAX]; } query;
        /* epoch: the boot epoch of the backend process the WRITE is meant for, learned
         * from a reply of that process; any other process refuses it (WIRE_ST_EPOCH) */
        struct { uint64_t epoch; uint8_t count; tx_t txs[WIRE_WRITE_TXS_MAX]; } write;
        /* max: transactions a page; pages: how many pages, each from where the one before
         * ended (PROTOCOL.md 3.4) */
        struct { uint32_t cursor; uint16_t max; uint8_t pages; } list;
        struct { wire_name_t user; uint32_t cursor; } stats;
    } u;
} wire_req_t;

typedef struct {
    uint8_t exists;
    uint64_t sent;
    uint64_t received;
} wire_totals_t;

typedef struct {
    wire_name_t partner;
    uint32_t count;
    int64_t net;
} wire_row_t;

typedef struct {
    uint8_t type;          /* request type | WIRE_REPLY */
    uint64_t incarnation;  /* echoed from the request */
    uint64_t request_id;   /* echoed from the request */
    uint8_t status;        /* WIRE_ST_* */
    uint64_t fence;        /* the backend's current fence (highest incarnation seen) */
    uint64_t epoch;        /* the boot epoch of the backend process that answers */
    union {
        struct {
            uint64_t max_serial;
            uint32_t tx_count;
            uint8_t count;
            wire_totals_t totals[WIRE_QUERY_NAMES_MAX];
        } query;
        struct {
            uint8_t count;
            uint64_t serials[WIRE_WRITE_TXS_MAX];
            uint8_t results[WIRE_WRITE_TXS_MAX];
        } write;
        struct {
            uint32_t cursor;       /* where this page starts: serverM takes pages in order */
            uint32_t next_cursor;
            uint8_t done;
            uint8_t count;
            tx_t txs[WIRE_LIST_TXS_MAX];
        } list;
        struct {
            uint32_t next_cursor;
            uint8_t done;
            uint8_t count;
            wire_row_t rows[WIRE_STATS_ROWS_MAX];
        } stats;
    } u;
} wire_reply_t;

/* Encoders write at most cap bytes and return the length, or 0 when the message would
 * exceed cap or DGRAM_BYTES_MAX or is not a valid message (a caller bug: callers size messages with the *_bytes
 * helpers below). Decoders return 0, or AC_EINVAL for anything malformed: wrong magic or
 * version, unknown type, a count over its maximum, a length past the end, trailing bytes,
 * an invalid name or amount, a serial of 0. */
size_t wire_req_encode(const wire_req_t *m, uint8_t *buf, size_t cap);
int wire_req_decode(const uint8_t *buf, size_t len, wire_req_t *m);
size_t wire_reply_encode(const wire_reply_t *m, uint8_t *buf, size_t cap);
int wire_reply_decode(const uint8_t *buf, size_t len, wire_reply_t *m);
/* Clears m for a message of `type` (a request type; for a reply, with WIRE_REPLY): the
 * fixed fields and that type's member of the union up to its array (names, txs, totals,
 * serials and results, rows), not the array nor the other members: a LIST page is 10 kB,
 * a QUERY's names 4 kB, of which a message uses its count. Entries [0, count) are the
 * filler's to write (the decoders clear each before reading it, so a decoded entry is
 * what it was when the clear took the whole array); entries past count are left as they
 * were, and no reader looks at them. Any other type: all of m. */
void wire_req_clear(wire_req_t *m, uint8_t type);
void wire_reply_clear(wire_reply_t *m, uint8_t type);

/* The type byte of a datagram whose header (magic, version) is this protocol's, without
 * decoding the rest; 0 for anything else. For observers of the wire (the harness's
 * event-anchored faults): a type alone says nothing of the body's validity. */
uint8_t wire_type_of(const uint8_t *buf, size_t len);

/* Sets the epoch of an encoded WRITE request buf[0..len) in place (serverM resends a write
 * with the epoch a hello taught it). Returns 0, or AC_EINVAL when buf is not a WRITE. */
int wire_write_set_epoch(uint8_t *buf, size_t len, uint64_t epoch);

/* Sizes for packing pages greedily under DGRAM_BYTES_MAX. */
size_t wire_name_bytes(size_t name_len);      /* 1 + name_len */
/* Encoded size of one page transaction, of a LIST page or a WRITE (varints, PROTOCOL.md
 * 1.3): its serial's difference from prev_serial (the transaction before it in the message;
 * 0 for the first, and t->serial > prev_serial), its names, its amount. */
size_t wire_list_tx_bytes(uint64_t prev_serial, const tx_t *t);
size_t wire_row_bytes(size_t partner_len);    /* encoded size of one stats row */
#define WIRE_QUERY_REQ_FIXED_BYTES (WIRE_HEADER_BYTES + 1)
/* The names of any length a QUERY always has room for (18): a QUERY of longer names than the
 * short ones of most ledgers is packed like a WRITE, names while they fit (PROTOCOL.md 1.6). */
#define WIRE_QUERY_NAMES_FIT ((DGRAM_BYTES_MAX - WIRE_QUERY_REQ_FIXED_BYTES) / (1 + NAME_BYTES_MAX))
#define WIRE_WRITE_REQ_FIXED_BYTES (WIRE_HEADER_BYTES + 8 + 1)
#define WIRE_LIST_REQ_BYTES (WIRE_HEADER_BYTES + 4 + 2 + 1)
#define WIRE_LIST_REPLY_FIXED_BYTES (WIRE_HEADER_BYTES + 1 + 8 + 8 + 4 + 4 + 1 + 1)
#define WIRE_STATS_REPLY_FIXED_BYTES (WIRE_HEADER_BYTES + 1 + 8 + 8 + 4 + 1 + 1)

/* ================================ TCP ================================ */
/* Request: one line "ALICHAIN/1 <OP> <args>\n" of at most TCP_REQUEST_BYTES_MAX bytes.
 * Reply: one head line, then (STATS only) `count` row lines; each <= TCP_LINE_BYTES_MAX.
 * "ALICHAIN/1 KEEPALIVE" as a connection's first line makes it persistent (answered
 * "OK KEEPALIVE"): then any number of requests follow, answered in order (PROTOCOL.md 2.5). */
typedef enum {
    CREQ_BALANCE = 1,
    CREQ_TRANSFER = 2,
    CREQ_TXLIST = 3,
    CREQ_STATS = 4,
    CREQ_KEEPALIVE = 5,    /* no arguments: the connection is persistent from here on */
} creq_op_t;

typedef struct {
    creq_op_t op;
    wire_name_t user;      /* BALANCE/STATS: the user; TRANSFER: the sender */
    wire_name_t receiver;  /* TRANSFER */
    int64_t amount;        /* TRANSFER */
} wire_creq_t;

typedef enum {
    /* status OK (client exit 0) */
    CREP_BALANCE = 1,      /* balance */
    CREP_TRANSFER,         /* balance (sender's new), serial */
    CREP_TXLIST,           /* count, text (the file) */
    CREP_STATS,            /* count (rows that follow) */
    /* status REFUSED (exit 1) */
    CREP_NOUSER,           /* names[0] is not part of the network */
    CREP_NOUSERS,          /* neither names[0] nor names[1] is */
    CREP_SAME,             /* sender == receiver */
    CREP_INSUFFICIENT,     /* balance (the sender's current) */
    /* status ERROR (exit 3) */
    CREP_UNAVAILABLE,      /* text: the backend letters that did not answer, e.g. "BC" */
    CREP_UNKNOWN,          /* a transfer's outcome is unknown */
    CREP_BUSY,             /* serverM is at a limit; try again */
    CREP_BADREQ,           /* the request line was malformed */
    CREP_INTERNAL,         /* text: what went wrong (e.g. "txlist write failed") */
    CREP_STALE,            /* text: the backend letters that answered STALE: they have seen
                            * a newer serverM, so this one can no longer serve */
    CREP_KEEPALIVE,        /* status OK: the answer to ALICHAIN/1 KEEPALIVE (no arguments) */
} crep_kind_t;

typedef struct {
    crep_kind_t kind;
    int64_t balance;
    uint64_t serial;
    uint64_t count;
    wire_name_t names[2];
    char text[PATH_BYTES_MAX + 1];
} wire_crep_t;

typedef struct {
    uint64_t rank;
    wire_name_t partner;
    uint64_t count;
    int64_t net;
} wire_crow_t;

/* Exit code of a reply kind: 0 (OK kinds), 1 (REFUSED kinds) or 3 (ERROR kinds). */
int wire_crep_exit_code(crep_kind_t kind);

/* Line encoders write the line with its '\n' (no NUL) and return its length (0 if cap is
 * short or the reply is not valid).
 * Line decoders take one line without its '\n' and return 0 or AC_EINVAL; they validate
 * names and amounts with tx.h, so a decoded request is always well-formed. */
size_t wire_creq_encode(const wire_creq_t *r, char *buf, size_t cap);
int wire_creq_decode(const char *line, size_t len, wire_creq_t *r);
size_t wire_crep_encode(const wire_crep_t *r, char *buf, size_t cap);
int wire_crep_decode(const char *line, size_t len, wire_crep_t *r);
size_t wire_crow_encode(const wire_crow_t *r, char *buf, size_t cap);
int wire_crow_decode(const char *line, size_t len, wire_crow_t *r);

/* Line assembly over a byte stream that arrives in arbitrary pieces. */
typedef struct {
    char buf[TCP_LINE_BYTES_MAX];
    size_t len;
    size_t limit;   /* longest line accepted, '\n' included (<= TCP_LINE_BYTES_MAX) */
} wire_lines_t;

void wire_lines_init(wire_lines_t *lb, size_t limit);
/* Consumes bytes from data[0..len) up to and including the first '\n'. Returns 1 with
 * *line and *line_len set (valid until the next call; '\n' and a trailing '\r' removed) when a
 * line is complete; 0 when all bytes were consumed without completing a line; AC_EFULL
 * when the line exceeds the limit (and on every call after that, until wire_lines_init).
 * *used says how many bytes were consumed. */
int wire_lines_take(wire_lines_t *lb, const uint8_t *data, size_t len, size_t *used,
                    const char **line, size_t *line_len);

/* ---- persistent connections (PROTOCOL.md 2.5) ---- */
/* The hello that makes a connection persistent, "ALICHAIN/1 KEEPALIVE\n" (no NUL): returns
 * its length, or 0 when cap is short. */
size_t wire_hello_encode(char *buf, size_t cap);

/* Framing of the replies on a persistent connection, as they arrive in arbitrary pieces: a
 * reply is one head line, plus `count` row lines after OK STATS (the hello's answer, OK
 * KEEPALIVE, is a reply like the others). Rows are counted and held to the line limit, not
 * decoded: the reader checks them. The caller keeps the bytes; each is looked at once. */
typedef struct {
    wire_lines_t lines;  /* the line being read (TCP_LINE_BYTES_MAX) */
    int have_head;       /* the head line of the reply being read has come */
    uint64_t rows_left;  /* then: STATS rows still to come */
    wire_crep_t head;    /* the head line, decoded (once have_head; kept after a reply ends) */
} wire_frame_t;

void wire_frame_init(wire_frame_t *f);
/* Consumes bytes of data[0..len) up to the end of the reply being read; *used says how many.
 * Returns 1 when the reply is complete (its last byte is data[*used - 1]; f->head is its
 * head line, f->head.kind its kind) and f is ready for the next reply; 0 when all len bytes
 * were consumed and the reply is not complete yet; AC_EINVAL when the head line is not a
 * reply (*used ends with that line; f->head.kind is 0, and f takes the next line as the next
 * head, so a reader may count the line as a reply of its own or give up the stream);
 * AC_EFULL when a line exceeds TCP_LINE_BYTES_MAX (and on every call after that, until
 * wire_frame_init: the stream can no longer be framed). */
int wire_frame_take(wire_frame_t *f, const uint8_t *data, size_t len, size_t *used);

#endif
