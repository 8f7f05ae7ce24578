/* client.h — clientA/clientB as a sans-I/O state machine: argv -> request, reply lines ->
 * the exact screen lines of SPEC.md and an exit code (FX_DONE). The real client and the
 * simulator's clients run this same code, so their output is byte-identical. */
#ifndef ALICHAIN_CLIENT_H
#define ALICHAIN_CLIENT_H

#include "outbox.h"
#include "wire.h"

/* exit codes (SPEC.md) */
enum { CLIENT_EXIT_OK = 0, CLIENT_EXIT_REFUSED = 1, CLIENT_EXIT_USAGE = 2, CLIENT_EXIT_FAILED = 3 };

typedef struct client client_t;

/* Parses argv[1..argc) (argv[0] is the program). Returns 0, or AC_EINVAL with a one-line
 * reason in err that names the argument (the caller prints it, exits CLIENT_EXIT_USAGE). */
int client_parse_argv(int argc, const char *const *argv, wire_creq_t *req, char *err,
                      size_t err_cap);
/* The usage text for client j (0 = A, 1 = B), several lines, each ending in '\n'. */
const char *client_usage(int client_index);

/* The column widths of a stats table: each column as wide as its widest value (names up
 * to 64 bytes), never narrower than the SPEC.md example's. */
typedef struct {
    int rank, name, count;
} client_stats_widths_t;
/* The widths for row_count rows whose longest partner name is name_len_max bytes and
 * whose largest count is count_max. */
client_stats_widths_t client_stats_widths(uint64_t row_count, size_t name_len_max,
                                          uint64_t count_max);
/* Writes one row (without '\n') into buf, like snprintf: returns the length it needs. */
int client_stats_row(char *buf, size_t cap, const client_stats_widths_t *w, uint64_t rank,
                     const char *name, uint64_t count, int64_t net);

#define CLIENT_SERVER_NAMES_BYTES 48 /* "serverA, serverB and serverC" */
/* Backend letters ("BC") as the programs are called, into buf: "serverB and serverC". */
void client_server_names(const char *letters, char *buf, size_t cap);

/* Returns NULL when memory runs out. */
client_t *client_new(int client_index, const wire_creq_t *req, uint32_t timeout_ms);
void client_free(client_t *c);

/* Prints "The client <j> is up and running." and arms the deadline; the driver connects. */
void client_start(client_t *c, uint64_t now_us, outbox_t *out);
/* Connected: sends the request (FX_CONN_SEND, target 0) and prints its "sent" line. */
void client_on_connected(client_t *c, uint64_t now_us, outbox_t *out);
/* Could not connect: serverM unreachable, exit 3. */
void client_on_connect_failed(client_t *c, uint64_t now_us, outbox_t *out);
void client_on_data(client_t *c, uint64_t now_us, const uint8_t *data, size_t len,
                    outbox_t *out);
/* serverM closed or reset the connection. Before a complete reply: exit 3 (for a transfer,
 * "outcome unknown"). */
void client_on_closed(client_t *c, uint64_t now_us, outbox_t *out);
void client_on_timer(client_t *c, uint64_t now_us, outbox_t *out);
uint64_t client_deadline_us(const client_t *c);

/* After FX_DONE: the exit code and, when a reply head arrived, that reply (for checkers).
 * Returns 1 when done, 0 before. */
int client_result(const client_t *c, int *exit_code, wire_crep_t *reply);

#endif
