/* realsess.h — keep-alive sessions on real processes (docs/PROTOCOL.md 2.5): the runner
 * opens each session's persistent connection itself, sends the hello and every request of
 * the operations "on" it at once (pipelined), frames the replies with core's wire_frame_take
 * and hands each, in request order, to that operation's own core client (core/client.c), so
 * its output and exit code are what a real clientA/clientB would print. The same rules as
 * the simulator's sessions (sim/world/session.c): who joins, when a session ends, what a
 * shutdown or a reset does. The runner (real.c) owns the operations; this module owns the
 * connections and the members' clients, and reports each operation's end through a hook. */
#ifndef ALICHAIN_SIM_REALSESS_H
#define ALICHAIN_SIM_REALSESS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario/scenario.h"
#include "wire.h"

#define REALSESS_OUT_BYTES_MAX (1u << 20) /* a session's requests not yet taken by its socket */

/* How one operation driven here ended (or stands, at the end of the run). The text is
 * owned by the module until realsess_free; stderr is core's lines as the real client prints
 * them (each prefixed "clientX: "). */
typedef struct {
    int exit_code;
    int have_reply;
    wire_crep_t reply;
    int disturbed;               /* its failure is the client's own doing (a reset session,
                                  * pipelining past TCP_PIPELINE_MAX): not an availability case */
    uint32_t session, seq;       /* its connection (1 + the session's op index) and place on it;
                                  * 0: the session itself */
} realsess_end_t;

typedef struct {
    /* op (an index into the steps' operations) ended at run time now_us */
    void (*done)(void *ctx, uint32_t op, uint64_t now_us, const realsess_end_t *e);
    /* serverM broke the framing of a session's replies (checker "effects") */
    void (*violation)(void *ctx, const char *checker, uint64_t now_us, const char *msg);
    void *ctx;
} realsess_hooks_t;

typedef struct realsess realsess_t;

/* ops[i]: the step of operation i (STEP_OP steps in order); each member's client waits
 * client_timeout_ms for its reply. Returns NULL when memory runs out; a scenario without
 * sessions gets an empty one. */
realsess_t *realsess_new(const scn_step_t *const *ops, size_t op_count, uint32_t client_timeout_ms,
                         const realsess_hooks_t *h);
/* Closes every connection still open (a reset) and frees everything. */
void realsess_free(realsess_t *rs);

/* Starts session op on fd, a nonblocking TCP socket whose connect() has been called (rc: its
 * result, errno in err_no when it failed at once). */
void realsess_start(realsess_t *rs, uint32_t op, int fd, int rc, int err_no, uint64_t now_us);

/* Operation op (one "on S") starts: 1 when it rides its running session (its request is
 * sent now, or when the connection is made), 0 when it must make its own connection. */
int realsess_join(realsess_t *rs, uint32_t op, uint64_t now_us);

/* `shutdown S` (reset 0) or `reset S` (1). Returns 1 when a connection was reset. */
int realsess_end(realsess_t *rs, const char *label, int reset, uint64_t now_us);

/* The descriptors to poll (at most cap) and, after poll, every event served; also fires the
 * members' own deadlines. */
int realsess_pollfds(const realsess_t *rs, struct pollfd *p, int cap);
void realsess_serve(realsess_t *rs, uint64_t now_us);

/* The output so far of an operation driven here (for one still running at the end). */
void realsess_output(const realsess_t *rs, uint32_t op, const char **out, size_t *out_len, const char **err,
                     size_t *err_len);

#endif
