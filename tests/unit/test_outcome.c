/* test_outcome.c — unit tests of core/outcome.c: every message a client prints, printed by
 * core's own client (client.c driven through each reply and each failure) or its own format,
 * is read back with the values that went in; a changed word, a cut line, extra text are
 * refused. A changed sentence in messages.h fails here, not in a harness. */
#include <stdlib.h>

#include "check.h"
#include "client.h"
#include "messages.h"
#include "outcome.h"

#define TEXT_BYTES 8192
#define ROWS_MAX 8

/* Every message some test below read back from core's own output. */
static int seen[OUTCOME_MSG_END];

/* What a real client process shows: stdout, and stderr with the driver's "clientA: ". */
typedef struct {
    char out[TEXT_BYTES], err[TEXT_BYTES];
    size_t out_len, err_len;
    int exit_code;
} run_t;

/* Appends the screen lines in o to r (and marks their messages seen); clears o. */
static void run_take(run_t *r, outbox_t *o) {
    for (size_t i = 0; i < o->fx_count; i++) {
        const fx_t *f = &o->fx[i];
        const char *bytes = (const char *)outbox_bytes(o, f);
        int len = (int)f->data_len;
        if (f->kind == FX_STDOUT)
            r->out_len += (size_t)snprintf(r->out + r->out_len, TEXT_BYTES - r->out_len, "%.*s\n", len, bytes);
        else if (f->kind == FX_STDERR)
            r->err_len += (size_t)snprintf(r->err + r->err_len, TEXT_BYTES - r->err_len, "clientA: %.*s\n",
                                           len, bytes);
        else continue;
        outcome_line_t l;
        CHECK_EQ(outcome_line_parse(bytes, f->data_len, &l), AC_OK);
        seen[l.msg] = 1;
    }
    outbox_clear(o);
}

enum { EV_REPLY, EV_CONNECT_FAILED, EV_TIMEOUT_EARLY, EV_TIMEOUT, EV_CLOSED };

/* Runs clientA with argv words a1..a3 (argc of them) to its end: connected and fed reply
 * (EV_REPLY), or ended by the event; then parses its output into o (returns that result). */
static int run(run_t *r, outcome_t *o, wire_crow_t *rows, int argc, const char *a1, const char *a2,
               const char *a3, int event, const char *reply) {
    memset(r, 0, sizeof(*r));
    const char *argv[] = {"clientA", a1, a2, a3, NULL};
    wire_creq_t req;
    char err[256];
    CHECK_EQ(client_parse_argv(argc + 1, argv, &req, err, sizeof(err)), AC_OK);
    outbox_t box;
    outbox_init(&box);
    client_t *c = client_new(0, &req, 1000);
    CHECK(c != NULL);
    if (c == NULL) return AC_ENOMEM;
    client_start(c, 0, &box);
    if (event == EV_CONNECT_FAILED) client_on_connect_failed(c, 1, &box);
    else if (event == EV_TIMEOUT_EARLY) client_on_timer(c, 2000000, &box);
    else client_on_connected(c, 1, &box);
    if (reply != NULL) client_on_data(c, 2, (const uint8_t *)reply, strlen(reply), &box);
    if (event == EV_TIMEOUT) client_on_timer(c, 2000000, &box);
    if (event == EV_CLOSED) client_on_closed(c, 3, &box);
    run_take(r, &box);
    CHECK_EQ(client_result(c, &r->exit_code, NULL), 1);
    client_free(c);
    outbox_free(&box);
    int rc = outcome_parse(r->out, r->out_len, r->err, r->err_len, o, rows, rows != NULL ? ROWS_MAX : 0);
    if (rc != AC_OK) fprintf(stderr, "outcome_parse: %s\n--\n%s--\n%s--\n", o->error, r->out, r->err);
    if (rc == AC_OK) CHECK_EQ(outcome_exit_code(o), r->exit_code);
    return rc;
}

static int reply_of(int argc, const char *a1, const char *a2, const char *a3, const char *reply,
                    outcome_t *o) {
    run_t r;
    return run(&r, o, NULL, argc, a1, a2, a3, EV_REPLY, reply);
}

TEST(test_balance_and_refusals) {
    outcome_t o;
    CHECK_EQ(reply_of(1, "Chinmay", NULL, NULL, "OK BALANCE -25\n", &o), AC_OK);
    CHECK_EQ(o.letter, 'A');
    CHECK_EQ(o.req.op, CREQ_BALANCE);
    CHECK_STR(o.req.user.s, "Chinmay");
    CHECK_EQ(o.reply.kind, CREP_BALANCE);
    CHECK_EQ(o.reply.balance, -25);
    CHECK_EQ(reply_of(1, "Chinmay", NULL, NULL, "REFUSED NOUSER Chinmay\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_NOUSER);
    CHECK_STR(o.reply.names[0].s, "Chinmay");
    CHECK_EQ(reply_of(2, "Chinmay", "stats", NULL, "REFUSED NOUSER Chinmay\n", &o), AC_OK);
    CHECK_EQ(o.req.op, CREQ_STATS);
    CHECK_EQ(o.reply.kind, CREP_NOUSER);
}

TEST(test_transfers) {
    outcome_t o;
    CHECK_EQ(reply_of(3, "Luke", "Oliver", "1000000000000", "OK TRANSFER 880 17\n", &o), AC_OK);
    CHECK_EQ(o.req.op, CREQ_TRANSFER);
    CHECK_STR(o.req.user.s, "Luke");
    CHECK_STR(o.req.receiver.s, "Oliver");
    CHECK_EQ(o.req.amount, 1000000000000LL);
    CHECK_EQ(o.reply.kind, CREP_TRANSFER);
    CHECK_EQ(o.reply.balance, 880);
    CHECK_EQ(o.reply.serial, 0); /* not shown */
    CHECK_EQ(reply_of(3, "Luke", "Oliver", "50", "REFUSED INSUFFICIENT 0\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_INSUFFICIENT);
    CHECK_EQ(o.reply.balance, 0);
    CHECK_EQ(reply_of(3, "Luke", "Oliver", "50", "REFUSED NOUSER Oliver\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_NOUSER);
    CHECK_STR(o.reply.names[0].s, "Oliver");
    CHECK_EQ(reply_of(3, "Luke", "Oliver", "50", "REFUSED NOUSERS Luke Oliver\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_NOUSERS);
    CHECK_STR(o.reply.names[0].s, "Luke");
    CHECK_STR(o.reply.names[1].s, "Oliver");
    CHECK_EQ(reply_of(3, "Luke", "Luke", "50", "REFUSED SAME\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_SAME);
    CHECK_EQ(o.in_doubt, 0);
}

TEST(test_txlist) {
    outcome_t o;
    CHECK_EQ(reply_of(1, "TXLIST", NULL, NULL, "OK TXLIST 12 alichain.txt\n", &o), AC_OK);
    CHECK_EQ(o.req.op, CREQ_TXLIST);
    CHECK_EQ(o.reply.kind, CREP_TXLIST);
    CHECK_EQ(o.reply.count, 12);
    CHECK_STR(o.reply.text, "alichain.txt");
    CHECK_EQ(reply_of(1, "TXLIST", NULL, NULL, "OK TXLIST 0 /tmp/x y/alichain.txt\n", &o), AC_OK);
    CHECK_EQ(o.reply.count, 0);
    CHECK_STR(o.reply.text, "/tmp/x y/alichain.txt");
}

TEST(test_stats_rows_in_their_columns) {
    /* the widest values each column can hold: a 64-byte name, 20-digit numbers */
    char longname[NAME_BYTES_MAX + 1] = "";
    while (strlen(longname) < NAME_BYTES_MAX) strcat(longname, "Mx");
    char reply[512];
    snprintf(reply, sizeof(reply), "OK STATS 3\n1 Luke 18446744073709551615 -20\n2 %s 1 5\n"
             "3 Al 1 -9223372036854775808\n", longname);
    run_t r;
    outcome_t o;
    wire_crow_t rows[ROWS_MAX];
    CHECK_EQ(run(&r, &o, rows, 2, "Hub", "stats", NULL, EV_REPLY, reply), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_STATS);
    CHECK_EQ(o.reply.count, 3);
    CHECK_EQ(rows[0].rank, 1);
    CHECK_STR(rows[0].partner.s, "Luke");
    CHECK(rows[0].count == UINT64_MAX);
    CHECK_EQ(rows[0].net, -20);
    CHECK_STR(rows[1].partner.s, longname);
    CHECK_EQ(rows[2].net, INT64_MIN);
    /* the spec's widths; and no rows at all */
    CHECK_EQ(run(&r, &o, rows, 2, "Hub", "stats", NULL, EV_REPLY, "OK STATS 1\n1 Luke 1 -20\n"), AC_OK);
    CHECK_EQ(o.reply.count, 1);
    CHECK_EQ(reply_of(2, "Hub", "stats", NULL, "OK STATS 0\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_STATS);
    CHECK_EQ(o.reply.count, 0);
    /* a row printed again in other widths than its table's is refused */
    CHECK_EQ(run(&r, &o, rows, 2, "Hub", "stats", NULL, EV_REPLY, reply), AC_OK);
    char *second = strchr(strstr(r.out, "Rank--"), '\n') + 1;
    second = strchr(second, '\n') + 1;
    client_stats_widths_t w = client_stats_widths(3, 20, 1);
    char row[160];
    int n = client_stats_row(row, sizeof(row), &w, 2, "Bo", 1, 5);
    char text[TEXT_BYTES];
    snprintf(text, sizeof(text), "%.*s%s\n", (int)(second - r.out), r.out, row);
    CHECK_EQ(outcome_parse(text, strlen(text), "", 0, &o, NULL, 0), AC_EINVAL);
    CHECK(n > 0);
}

TEST(test_error_replies) {
    outcome_t o;
    CHECK_EQ(reply_of(1, "Ann", NULL, NULL, "ERROR UNAVAILABLE BC\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_UNAVAILABLE);
    CHECK_STR(o.reply.text, "BC");
    CHECK_EQ(reply_of(1, "Ann", NULL, NULL, "ERROR UNAVAILABLE ABC\n", &o), AC_OK);
    CHECK_STR(o.reply.text, "ABC");
    CHECK_EQ(reply_of(1, "Ann", NULL, NULL, "ERROR STALE A\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_STALE);
    CHECK_STR(o.reply.text, "A");
    CHECK_EQ(reply_of(1, "Ann", NULL, NULL, "ERROR STALE AC\n", &o), AC_OK);
    CHECK_STR(o.reply.text, "AC");
    CHECK_EQ(reply_of(3, "Ann", "Bo", "5", "ERROR UNKNOWN\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_UNKNOWN);
    CHECK_EQ(o.in_doubt, 1);
    CHECK_EQ(reply_of(1, "TXLIST", NULL, NULL, "ERROR BUSY\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_BUSY);
    CHECK_EQ(reply_of(1, "Ann", NULL, NULL, "ERROR BADREQ\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_BADREQ);
    CHECK_EQ(reply_of(1, "TXLIST", NULL, NULL, "ERROR INTERNAL txlist write failed\n", &o), AC_OK);
    CHECK_EQ(o.reply.kind, CREP_INTERNAL);
    CHECK_STR(o.reply.text, "txlist write failed");
    CHECK_EQ(o.in_doubt, 0);
}

TEST(test_failures) {
    run_t r;
    outcome_t o;
    CHECK_EQ(run(&r, &o, NULL, 1, "Ann", NULL, NULL, EV_CONNECT_FAILED, NULL), AC_OK);
    CHECK_EQ(o.req.op, 0);
    CHECK_EQ(o.failure, OUTCOME_MSG_FAIL_UNREACHABLE);
    /* the driver's own line before core's is skipped, and counted */
    snprintf(r.err, sizeof(r.err), "clientA: 127.0.0.1:25001: Connection refused\n"
             "clientA: " MSG_C_FAIL_UNREACHABLE "\n");
    CHECK_EQ(outcome_parse(r.out, r.out_len, r.err, strlen(r.err), &o, NULL, 0), AC_OK);
    CHECK_EQ(o.driver_lines, 1);
    CHECK_EQ(o.failure, OUTCOME_MSG_FAIL_UNREACHABLE);
    CHECK_EQ(run(&r, &o, NULL, 3, "Ann", "Bo", "5", EV_TIMEOUT_EARLY, NULL), AC_OK);
    CHECK_EQ(o.failure, OUTCOME_MSG_FAIL_TIMEOUT);
    CHECK_EQ(o.timeout_ms, 1000);
    CHECK_EQ(o.in_doubt, 0); /* the request never went out */
    CHECK_EQ(run(&r, &o, NULL, 3, "Ann", "Bo", "5", EV_TIMEOUT, NULL), AC_OK);
    CHECK_EQ(o.failure, OUTCOME_MSG_FAIL_TIMEOUT);
    CHECK_EQ(o.in_doubt, 1);
    CHECK_EQ(run(&r, &o, NULL, 3, "Ann", "Bo", "5", EV_CLOSED, NULL), AC_OK);
    CHECK_EQ(o.failure, OUTCOME_MSG_FAIL_CLOSED);
    CHECK_EQ(o.in_doubt, 1);
    CHECK_EQ(run(&r, &o, NULL, 1, "Ann", NULL, NULL, EV_REPLY, "OK SOMETHING\n"), AC_OK);
    CHECK_EQ(o.failure, OUTCOME_MSG_FAIL_MALFORMED);
    CHECK_EQ(o.reply.kind, 0);
    static char longline[TCP_LINE_BYTES_MAX + 8];
    memset(longline, 'x', sizeof(longline) - 1);
    CHECK_EQ(run(&r, &o, NULL, 1, "Ann", NULL, NULL, EV_REPLY, longline), AC_OK);
    CHECK_EQ(o.failure, OUTCOME_MSG_FAIL_LINE_TOO_LONG);
    /* stats: the rows that arrived, then why it stopped */
    CHECK_EQ(run(&r, &o, NULL, 2, "Hub", "stats", NULL, EV_REPLY, "OK STATS 3\n1 Luke 1 -20\n7 x\n"), AC_OK);
    CHECK_EQ(o.failure, OUTCOME_MSG_FAIL_MALFORMED_ROW);
    CHECK_EQ(o.reply.kind, CREP_STATS);
    CHECK_EQ(o.reply.count, 1);
    CHECK_EQ(run(&r, &o, NULL, 2, "Hub", "stats", NULL, EV_CLOSED, "OK STATS 3\n1 Luke 1 -20\n"), AC_OK);
    CHECK_EQ(o.failure, OUTCOME_MSG_FAIL_CLOSED_MID_REPLY);
    CHECK_EQ(outcome_exit_code(&o), CLIENT_EXIT_FAILED);
}

/* The one message no run above can provoke (client_row_keep out of memory), printed
 * with its format the way client_fail prints it. */
TEST(test_every_message_read_back) {
    char line[256];
    outcome_line_t l;
    snprintf(line, sizeof(line), MSG_C_FAIL_TRANSFER, MSG_C_FAIL_ROWS_NOMEM);
    CHECK_EQ(outcome_line_parse(line, strlen(line), &l), AC_OK);
    CHECK_EQ(l.msg, OUTCOME_MSG_FAIL_ROWS_NOMEM);
    CHECK_EQ(l.in_doubt, 1);
    seen[l.msg] = 1;
    for (int m = 1; m < OUTCOME_MSG_END; m++) {
        if (!seen[m]) fprintf(stderr, "message %d (%s) never read back\n", m, outcome_msg_format(m));
        CHECK(seen[m]);
    }
}

/* Each message as SPEC.md and README.md spell it, a second spelling on purpose: a sentence
 * changed in messages.h is read back above (printer and reader share the format) but not
 * here, so the change fails this test instead of a harness. */
static const struct {
    outcome_msg_t msg;
    const char *line;
} spelled[] = {
    {OUTCOME_MSG_UP, "The client A is up and running."},
    {OUTCOME_MSG_BALANCE_SENT, "\"Chinmay\" sent a balance enquiry request to the main server."},
    {OUTCOME_MSG_BALANCE, "The current balance of \"Chinmay\" is : -25 alicoins."},
    {OUTCOME_MSG_NOUSER_REQUEST, "Unable to proceed with the request as \"Ann\" is not part of the network."},
    {OUTCOME_MSG_TRANSFER_SENT, "\"Luke\" has requested to transfer 50 coins to \"Oliver\"."},
    {OUTCOME_MSG_TRANSFER_OK, "\"Luke\" successfully transferred 50 alicoins to \"Oliver\"."},
    {OUTCOME_MSG_INSUFFICIENT, "\"Luke\" was unable to transfer 50 alicoins to \"Oliver\" because of insufficient balance."},
    {OUTCOME_MSG_NOUSER_TX, "Unable to proceed with the transaction as \"Oliver\" is not part of the network."},
    {OUTCOME_MSG_NOUSERS_TX, "Unable to proceed with the transaction as \"Luke\" and \"Oliver\" are not part of the network."},
    {OUTCOME_MSG_SAME_TX, "Unable to proceed with the transaction as \"Luke\" cannot transfer coins to itself."},
    {OUTCOME_MSG_TXLIST_SENT, "Client B sent a sorted list request to the main server."},
    {OUTCOME_MSG_TXLIST_OK, "The sorted list of 12 transactions is ready in alichain.txt on the main server."},
    {OUTCOME_MSG_STATS_SENT, "\"Hub\" sent a statistics enquiry request to the main server."},
    {OUTCOME_MSG_STATS_HEAD, "\"Hub\" statistics are the following.:"},
    {OUTCOME_MSG_STATS_COLUMNS, "Rank--Username--NumofTransactions--Total"},
    {OUTCOME_MSG_STATS_ROW, "1     Luke                1          -20"},
    {OUTCOME_MSG_UNAVAILABLE, "the ledger is unavailable: serverB and serverC did not answer the main server in time; try again later"},
    {OUTCOME_MSG_STALE, "the main server is out of date: serverA has seen a newer main server, so this one may no longer serve; use the newer one"},
    {OUTCOME_MSG_UNKNOWN, "the outcome of the transfer is unknown: the main server could not confirm it in time (check the balance before trying again)"},
    {OUTCOME_MSG_BUSY, "the main server is busy; try again"},
    {OUTCOME_MSG_BADREQ, "the main server did not understand the request"},
    {OUTCOME_MSG_INTERNAL, "the main server failed: txlist write failed"},
    {OUTCOME_MSG_FAIL_UNREACHABLE, "cannot reach the main server"},
    {OUTCOME_MSG_FAIL_MALFORMED, "malformed reply from the main server"},
    {OUTCOME_MSG_FAIL_MALFORMED_ROW, "malformed statistics row from the main server"},
    {OUTCOME_MSG_FAIL_ROWS_NOMEM, "out of memory for the statistics rows"},
    {OUTCOME_MSG_FAIL_LINE_TOO_LONG, "reply line too long from the main server"},
    {OUTCOME_MSG_FAIL_CLOSED_MID_REPLY, "the main server closed the connection mid-reply"},
    {OUTCOME_MSG_FAIL_CLOSED, "the main server closed the connection without a reply"},
    {OUTCOME_MSG_FAIL_TIMEOUT, "no reply from the main server within 1000 ms"},
};
_Static_assert(AC_ARRAY_LEN(spelled) == OUTCOME_MSG_END - 1, "every message spelled");

TEST(test_every_message_as_spelled) {
    for (size_t i = 0; i < AC_ARRAY_LEN(spelled); i++) {
        outcome_line_t l;
        int rc = outcome_line_parse(spelled[i].line, strlen(spelled[i].line), &l);
        if (rc != AC_OK || l.msg != spelled[i].msg)
            fprintf(stderr, "not read as message %d: \"%s\"\n", spelled[i].msg, spelled[i].line);
        CHECK_EQ(rc, AC_OK);
        CHECK_EQ(l.msg, spelled[i].msg);
    }
    outcome_line_t l;
    const char *in_doubt = "the main server closed the connection without a reply; the outcome of the "
                           "transfer is unknown (check the balance before trying again)";
    CHECK_EQ(outcome_line_parse(in_doubt, strlen(in_doubt), &l), AC_OK);
    CHECK_EQ(l.msg, OUTCOME_MSG_FAIL_CLOSED);
    CHECK_EQ(l.in_doubt, 1);
}

/* line must be refused on its own. */
static void refused(const char *line) {
    outcome_line_t l;
    int rc = outcome_line_parse(line, strlen(line), &l);
    if (rc == AC_OK) fprintf(stderr, "accepted: \"%s\"\n", line);
    CHECK_EQ(rc, AC_EINVAL);
}

TEST(test_lines_refused) {
    refused("The current balance of \"Ann\" is : 10 alicoin.");          /* a changed word */
    refused("The current balance of \"Ann\" is : 10 alicoins");          /* cut short */
    refused("The current balance of \"Ann\" is : 10 alicoins. ");        /* extra text */
    refused("The current balance of \"Ann\" is : 010 alicoins.");        /* not printf's number */
    refused("The current balance of \"Ann\" is : +10 alicoins.");
    refused("The current balance of \"Ann\" is : -0 alicoins.");
    refused("The current balance of \"Ann\" is : 9223372036854775808 alicoins.");
    refused("The current balance of \"\" is : 10 alicoins.");            /* no name */
    refused("The current balance of \"A b\" is : 10 alicoins.");         /* not a name */
    refused("The client C is up and running.");                          /* no client C */
    refused("\"Ann\" has requested to transfer 0 coins to \"Bo\".");      /* not an amount */
    refused("The sorted list of 3 transactions is ready in  on the main server.");
    refused("the ledger is unavailable: serverD did not answer the main server in time; try again later");
    refused("the ledger is unavailable: serverB, serverC did not answer the main server in time; try again later");
    refused("the main server is out of date: serverA and serverB has seen a newer main server, so this one may no longer serve; use the newer one");
    refused("no reply from the main server within 4294967296 ms");
    refused("the main server is busy; try again; the outcome of the transfer is unknown (check the balance before trying again)");
    refused("1     Luke                1          -20 ");                   /* a row with extra text */
    refused("1    Luke                1          -20");                    /* narrower than the minimum */
    refused(" 1    Luke                1          -20");                   /* not where printf pads */
    refused("");
}

TEST(test_runs_refused) {
    run_t r;
    outcome_t o;
    CHECK_EQ(run(&r, &o, NULL, 3, "Luke", "Oliver", "5", EV_REPLY, "OK TRANSFER 880 17\n"), AC_OK);
    CHECK_EQ(outcome_parse(r.out, r.out_len - 1, r.err, r.err_len, &o, NULL, 0), AC_EINVAL); /* no '\n' */
    static char text[2 * TEXT_BYTES + 64];
    snprintf(text, sizeof(text), "%sThe current balance of \"Luke\" is : 880 alicoins.\n", r.out); /* twice */
    CHECK_EQ(outcome_parse(text, strlen(text), r.err, r.err_len, &o, NULL, 0), AC_EINVAL);
    CHECK(strstr(o.error, "stdout line 5") != NULL);
    CHECK_EQ(outcome_parse(r.out, r.out_len, "clientA: " MSG_C_BUSY "\n", strlen("clientA: " MSG_C_BUSY "\n"), &o,
                           NULL, 0), AC_EINVAL); /* an error after a result */
    /* the sender's balance after a transfer must be the sender's */
    char *bal = strstr(r.out, "\"Luke\" is");
    memcpy(bal, "\"Lukf\"", 6);
    CHECK_EQ(outcome_parse(r.out, r.out_len, r.err, r.err_len, &o, NULL, 0), AC_EINVAL);
    /* nothing beyond the request: no result */
    CHECK_EQ(run(&r, &o, NULL, 1, "Ann", NULL, NULL, EV_CONNECT_FAILED, NULL), AC_OK);
    CHECK_EQ(outcome_parse(r.out, r.out_len, "", 0, &o, NULL, 0), AC_EINVAL);
    CHECK(strstr(o.error, "no result") != NULL);
    /* stderr of another client, without the prefix, twice core's line; a stderr sentence on stdout */
    const char *b = "clientB: " MSG_C_FAIL_UNREACHABLE "\n";
    CHECK_EQ(outcome_parse(r.out, r.out_len, b, strlen(b), &o, NULL, 0), AC_EINVAL);
    CHECK_EQ(outcome_parse(r.out, r.out_len, b + 9, strlen(b + 9), &o, NULL, 0), AC_EINVAL);
    snprintf(text, sizeof(text), "%s%s", r.err, r.err);
    CHECK_EQ(outcome_parse(r.out, r.out_len, text, strlen(text), &o, NULL, 0), AC_EINVAL);
    snprintf(text, sizeof(text), "%s%s", r.out, b + 9);
    CHECK_EQ(outcome_parse(text, strlen(text), r.err, r.err_len, &o, NULL, 0), AC_EINVAL);
    /* a transfer's failure must say that its outcome is unknown, and only then */
    CHECK_EQ(run(&r, &o, NULL, 3, "Ann", "Bo", "5", EV_CLOSED, NULL), AC_OK);
    const char *plain = "clientA: " MSG_C_FAIL_CLOSED "\n";
    CHECK_EQ(outcome_parse(r.out, r.out_len, plain, strlen(plain), &o, NULL, 0), AC_EINVAL);
    /* a result that does not answer the request sent */
    CHECK_EQ(run(&r, &o, NULL, 1, "Ann", NULL, NULL, EV_REPLY, "OK BALANCE 1\n"), AC_OK);
    char *name = strstr(r.out, "of \"Ann\"");
    memcpy(name, "of \"Bob\"", 8);
    CHECK_EQ(outcome_parse(r.out, r.out_len, r.err, r.err_len, &o, NULL, 0), AC_EINVAL);
    CHECK_EQ(outcome_parse("", 0, "", 0, &o, NULL, 0), AC_EINVAL);
}

int main(void) {
    RUN(test_balance_and_refusals);
    RUN(test_transfers);
    RUN(test_txlist);
    RUN(test_stats_rows_in_their_columns);
    RUN(test_error_replies);
    RUN(test_failures);
    RUN(test_every_message_read_back);
    RUN(test_every_message_as_spelled);
    RUN(test_lines_refused);
    RUN(test_runs_refused);
    return CHECK_DONE();
}
