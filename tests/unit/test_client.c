/* test_client.c — unit tests of core/client.c and of the replies serverM's coordinator
 * builds for it: argv refusals name the argument, the one amount rule (no leading zeros),
 * stats columns aligned for names up to 64 bytes, and the "unavailable" and "stale"
 * messages naming exactly the backends concerned. */
#include <stdlib.h>

#include "check.h"
#include "client.h"
#include "coordinator.h"
#include "messages.h"

#define ERR_BYTES 256
#define LINES_MAX 16
#define LINE_BYTES 256
#define S_LINE(s) (s), strlen(s)

/* The lines of one kind (FX_STDOUT or FX_STDERR) in o, NUL-terminated; returns the count. */
static int lines_of(const outbox_t *o, fx_kind_t kind, char lines[LINES_MAX][LINE_BYTES]) {
    int n = 0;
    for (size_t i = 0; i < o->fx_count && n < LINES_MAX; i++) {
        const fx_t *f = &o->fx[i];
        if (f->kind != kind) continue;
        size_t len = f->data_len < LINE_BYTES - 1 ? f->data_len : LINE_BYTES - 1;
        memcpy(lines[n], outbox_bytes(o, f), len);
        lines[n][len] = '\0';
        n++;
    }
    return n;
}

/* Parses argv words (argv[0] is added); returns client_parse_argv's result, err filled. */
static int parse(wire_creq_t *req, char *err, int argc, const char *a1, const char *a2,
                 const char *a3, const char *a4) {
    const char *argv[] = {"clientA", a1, a2, a3, a4, NULL};
    err[0] = '\0';
    return client_parse_argv(argc, argv, req, err, ERR_BYTES);
}

TEST(test_argv_refusals_name_the_argument) {
    wire_creq_t req;
    char err[ERR_BYTES];
    CHECK_EQ(parse(&req, err, 1, NULL, NULL, NULL, NULL), AC_EINVAL);
    CHECK(strstr(err, "missing the operation") != NULL);
    CHECK_EQ(parse(&req, err, 5, "a", "b", "5", "extra"), AC_EINVAL);
    CHECK(strstr(err, "\"extra\"") != NULL);
    CHECK_EQ(parse(&req, err, 3, "a", "Stats", NULL, NULL), AC_EINVAL);
    CHECK(strstr(err, "\"Stats\"") != NULL);
    CHECK_EQ(parse(&req, err, 2, "a*b", NULL, NULL, NULL), AC_EINVAL);
    CHECK(strstr(err, "\"a*b\"") != NULL);
    CHECK_EQ(parse(&req, err, 4, "a", "b", "5x", NULL), AC_EINVAL);
    CHECK(strstr(err, "\"5x\"") != NULL);
}

TEST(test_argv_amounts_one_rule) {
    wire_creq_t req;
    char err[ERR_BYTES];
    CHECK_EQ(parse(&req, err, 4, "a", "b", "12", NULL), AC_OK);
    CHECK_EQ(req.amount, 12);
    CHECK_EQ(parse(&req, err, 4, "a", "b", "1000000000000", NULL), AC_OK);
    /* a leading zero is refused, as in block files and on the wire (tx_amount_parse) */
    CHECK_EQ(parse(&req, err, 4, "a", "b", "0012", NULL), AC_EINVAL);
    CHECK(strstr(err, "\"0012\"") != NULL && strstr(err, "leading") != NULL);
    CHECK_EQ(parse(&req, err, 4, "a", "b", "01000000000000", NULL), AC_EINVAL);
    wire_creq_t w;
    CHECK_EQ(wire_creq_decode(S_LINE("ALICHAIN/1 TRANSFER a b 0012"), &w), AC_EINVAL);
    CHECK_EQ(wire_creq_decode(S_LINE("ALICHAIN/1 TRANSFER a b 12"), &w), AC_OK);
}

/* A client of request req that has sent it; out is cleared. */
static client_t *client_sent(const wire_creq_t *req, outbox_t *out) {
    client_t *c = client_new(0, req, 1000);
    if (c == NULL) return NULL;
    client_start(c, 0, out);
    client_on_connected(c, 0, out);
    outbox_clear(out);
    return c;
}

static void feed(client_t *c, const char *text, outbox_t *out) {
    client_on_data(c, 1, (const uint8_t *)text, strlen(text), out);
}

/* The byte offset in line where field k (0-based, blank-separated) starts, or -1. */
static int field_start(const char *line, int k) {
    int i = 0, f = -1;
    while (line[i] != '\0') {
        if (line[i] != ' ' && (i == 0 || line[i - 1] == ' ') && ++f == k) return i;
        i++;
    }
    return -1;
}

TEST(test_stats_rows_aligned_up_to_64_byte_names) {
    wire_creq_t req;
    char err[ERR_BYTES];
    CHECK_EQ(parse(&req, err, 3, "Hub", "stats", NULL, NULL), AC_OK);
    outbox_t out;
    outbox_init(&out);
    client_t *c = client_sent(&req, &out);
    CHECK(c != NULL);
    if (c == NULL) return;
    char longname[NAME_BYTES_MAX + 1];
    memset(longname, 'L', NAME_BYTES_MAX);
    longname[NAME_BYTES_MAX] = '\0';
    char text[1024];
    snprintf(text, sizeof(text), "OK STATS 3\n1 Luke 12345678901 -20\n2 %s 1 5\n3 Al 1 -1\n",
             longname);
    feed(c, text, &out);
    char lines[LINES_MAX][LINE_BYTES];
    int n = lines_of(&out, FX_STDOUT, lines);
    CHECK_EQ(n, 5); /* head, columns, three rows */
    int exit_code = -1;
    CHECK_EQ(client_result(c, &exit_code, NULL), 1);
    CHECK_EQ(exit_code, 0);
    for (int k = 1; k < 4 && n == 5; k++) {
        int col = field_start(lines[2], k);
        CHECK(col > 0);
        CHECK_EQ(field_start(lines[3], k), col);
        CHECK_EQ(field_start(lines[4], k), col);
    }
    client_free(c);
    outbox_free(&out);
}

TEST(test_stats_row_of_the_spec_example) {
    /* short names keep the layout of SPEC.md's example row */
    client_stats_widths_t w = client_stats_widths(3, 6, 1);
    char line[160];
    client_stats_row(line, sizeof(line), &w, 1, "Luke", 1, -20);
    CHECK_STR(line, "1     Luke                1          -20");
}

/* The one stderr line a client prints for reply head line. */
static void client_error_line(const char *reply, char *line) {
    wire_creq_t req;
    char err[ERR_BYTES];
    line[0] = '\0';
    CHECK_EQ(parse(&req, err, 2, "Chinmay", NULL, NULL, NULL), AC_OK);
    outbox_t out;
    outbox_init(&out);
    client_t *c = client_sent(&req, &out);
    CHECK(c != NULL);
    if (c == NULL) return;
    feed(c, reply, &out);
    char lines[LINES_MAX][LINE_BYTES];
    CHECK_EQ(lines_of(&out, FX_STDERR, lines), 1);
    snprintf(line, LINE_BYTES, "%s", lines[0]);
    int exit_code = -1;
    CHECK_EQ(client_result(c, &exit_code, NULL), 1);
    CHECK_EQ(exit_code, CLIENT_EXIT_FAILED);
    client_free(c);
    outbox_free(&out);
}

TEST(test_stale_reply_on_the_wire) {
    wire_crep_t r;
    CHECK_EQ(wire_crep_decode(S_LINE("ERROR STALE AC"), &r), AC_OK);
    CHECK_EQ(r.kind, CREP_STALE);
    CHECK_STR(r.text, "AC");
    CHECK_EQ(wire_crep_exit_code(CREP_STALE), CLIENT_EXIT_FAILED);
    char line[64];
    size_t n = wire_crep_encode(&r, line, sizeof(line));
    CHECK_EQ(n, strlen("ERROR STALE AC\n"));
    CHECK(memcmp(line, "ERROR STALE AC\n", n) == 0);
    /* the letters are checked as for UNAVAILABLE: A..C, each once, in order */
    CHECK_EQ(wire_crep_decode(S_LINE("ERROR STALE CA"), &r), AC_EINVAL);
    CHECK_EQ(wire_crep_decode(S_LINE("ERROR STALE"), &r), AC_EINVAL);
    CHECK_EQ(wire_crep_decode(S_LINE("ERROR STALE D"), &r), AC_EINVAL);
}

TEST(test_unavailable_and_stale_messages_name_the_backends) {
    char line[LINE_BYTES];
    client_error_line("ERROR UNAVAILABLE C\n", line);
    CHECK(strstr(line, " serverC did not answer") != NULL);
    client_error_line("ERROR UNAVAILABLE BC\n", line);
    CHECK(strstr(line, " serverB and serverC did not answer") != NULL);
    client_error_line("ERROR UNAVAILABLE ABC\n", line);
    CHECK(strstr(line, " serverA, serverB and serverC did not answer") != NULL);
    client_error_line("ERROR STALE B\n", line);
    CHECK(strstr(line, "serverB has seen a newer main server") != NULL);
    CHECK(strstr(line, "did not answer") == NULL);
    client_error_line("ERROR STALE AB\n", line);
    CHECK(strstr(line, "serverA and serverB have seen a newer main server") != NULL);
}

/* A one-shot client never asks for a persistent connection: an OK KEEPALIVE is not its
 * reply (exit 3, one diagnostic), never a success. */
TEST(test_keepalive_reply_is_not_a_one_shot_answer) {
    char line[LINE_BYTES];
    client_error_line("OK KEEPALIVE\n", line);
    CHECK(line[0] != '\0');
}

/* ---- the coordinator's side: which backends the reply names ---- */

#define INCARNATION 5

typedef enum { ANSWER_OK, ANSWER_STALE, ANSWER_NONE } answer_t;

/* Answers every datagram in out (then cleared) as backend fx->target would: answers[b]
 * says how. A QUERY gets every name as existing with no transfers (balance 1000) and a
 * largest serial of 9 - b (never one serial in two backends); a WRITE gets every
 * transaction stored. */
static void answer_all(coord_t *m, uint64_t now_us, outbox_t *out, const answer_t answers[3]) {
    outbox_t next;
    outbox_init(&next);
    for (size_t i = 0; i < out->fx_count; i++) {
        const fx_t *f = &out->fx[i];
        if (f->kind != FX_DGRAM || answers[f->target] == ANSWER_NONE) continue;
        wire_req_t req;
        CHECK_EQ(wire_req_decode(outbox_bytes(out, f), f->data_len, &req), AC_OK);
        wire_reply_t rep;
        memset(&rep, 0, sizeof(rep));
        rep.type = (uint8_t)(req.type | WIRE_REPLY);
        rep.incarnation = req.incarnation;
        rep.request_id = req.request_id;
        rep.fence = req.incarnation;
        if (answers[f->target] == ANSWER_STALE) {
            rep.status = WIRE_ST_STALE;
            rep.fence = req.incarnation + 1;
        } else if (req.type == WIRE_QUERY) {
            rep.u.query.max_serial = 9 - (uint64_t)f->target;
            rep.u.query.count = req.u.query.count;
            for (int k = 0; k < req.u.query.count; k++) rep.u.query.totals[k].exists = 1;
        } else if (req.type == WIRE_WRITE) {
            rep.u.write.count = req.u.write.count;
            for (int k = 0; k < req.u.write.count; k++)
                rep.u.write.serials[k] = req.u.write.txs[k].serial;
        }
        uint8_t buf[DGRAM_BYTES_MAX];
        size_t n = wire_reply_encode(&rep, buf, sizeof(buf));
        CHECK(n > 0);
        coord_on_datagram(m, now_us, (int)f->target, buf, n, &next);
    }
    outbox_free(out);
    *out = next;
}

/* The reply line serverM sends on connection 1 in out ("" when none). */
static void reply_of(const outbox_t *out, char *line) {
    line[0] = '\0';
    for (size_t i = 0; i < out->fx_count; i++) {
        const fx_t *f = &out->fx[i];
        if (f->kind != FX_CONN_SEND || f->target != 1) continue;
        size_t len = f->data_len < LINE_BYTES - 1 ? f->data_len : LINE_BYTES - 1;
        memcpy(line, outbox_bytes(out, f), len);
        line[len] = '\0';
    }
}

/* Runs one request line through a fresh coordinator whose backends answer the QUERY as
 * fetch[] says and a WRITE as write[] says; the reply line lands in line. */
static void coord_reply(const char *request, const answer_t fetch[3], const answer_t write[3],
                        char *line) {
    coord_config_t cfg = {.incarnation = INCARNATION, .seed = 1, .timeout_ms = 100,
                          .backend_port = {21000, 22000, 23000}, .client_port = {25000, 26000},
                          .txlist_path = "alichain.txt"};
    coord_t *m = coord_new(&cfg);
    CHECK(m != NULL);
    line[0] = '\0';
    if (m == NULL) return;
    outbox_t out;
    outbox_init(&out);
    coord_start(m, 0, &out);
    CHECK_EQ(coord_on_conn_open(m, 0, 1, 0, &out), AC_OK);
    coord_on_conn_data(m, 0, 1, (const uint8_t *)request, strlen(request), &out);
    answer_all(m, 1000, &out, fetch);
    reply_of(&out, line);
    if (line[0] == '\0') {
        answer_all(m, 2000, &out, write);
        reply_of(&out, line);
    }
    if (line[0] == '\0') { /* someone did not answer: let the deadline pass */
        outbox_clear(&out);
        coord_on_timer(m, 1000000, &out);
        reply_of(&out, line);
    }
    outbox_free(&out);
    coord_free(m);
}

TEST(test_coordinator_names_who_did_not_answer_and_who_is_stale) {
    static const answer_t all[3] = {ANSWER_OK, ANSWER_OK, ANSWER_OK};
    static const answer_t only_a[3] = {ANSWER_OK, ANSWER_NONE, ANSWER_NONE};
    static const answer_t b_stale[3] = {ANSWER_OK, ANSWER_STALE, ANSWER_OK};
    static const answer_t all_stale[3] = {ANSWER_STALE, ANSWER_STALE, ANSWER_STALE};
    char line[LINE_BYTES];
    coord_reply("ALICHAIN/1 BALANCE Chinmay\n", all, all, line);
    CHECK_STR(line, "OK BALANCE 1000\n");
    coord_reply("ALICHAIN/1 BALANCE Chinmay\n", only_a, all, line);
    CHECK_STR(line, "ERROR UNAVAILABLE BC\n");
    /* B answered: it is stale, not silent */
    coord_reply("ALICHAIN/1 BALANCE Chinmay\n", b_stale, all, line);
    CHECK_STR(line, "ERROR STALE B\n");
    /* a WRITE refused as stale: the backend the transfer went to is named */
    coord_reply("ALICHAIN/1 TRANSFER Chinmay Luke 5\n", all, all_stale, line);
    CHECK(strncmp(line, "ERROR STALE ", 12) == 0 && strlen(line) == 14);
}

int main(void) {
    RUN(test_argv_refusals_name_the_argument);
    RUN(test_argv_amounts_one_rule);
    RUN(test_stats_rows_aligned_up_to_64_byte_names);
    RUN(test_stats_row_of_the_spec_example);
    RUN(test_stale_reply_on_the_wire);
    RUN(test_unavailable_and_stale_messages_name_the_backends);
    RUN(test_keepalive_reply_is_not_a_one_shot_answer);
    RUN(test_coordinator_names_who_did_not_answer_and_who_is_stale);
    return CHECK_DONE();
}
