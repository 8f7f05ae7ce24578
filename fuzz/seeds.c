/* seeds.c — writes the hand-picked seed corpora (fuzz/corpus/<target>/<name>): a valid
 * example of every message type and the boundary cases, built with core's own encoders so
 * they stay valid when the protocol changes. `make fuzz-seeds` runs it; inputs libFuzzer
 * found are added separately (`make fuzz-merge`). Usage: seeds CORPUS_DIR */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "wire.h"

#define SEED_BYTES_MAX 8192
#define SEED_PATH_BYTES_MAX 512

static const char *corpus_dir;
static int seeds_written;

static void seed_write(const char *target, const char *name, const void *data, size_t len) {
    char path[SEED_PATH_BYTES_MAX];
    snprintf(path, sizeof path, "%s/%s", corpus_dir, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", corpus_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    seeds_written++;
}

static void seed_text(const char *target, const char *name, const char *text) {
    seed_write(target, name, text, strlen(text));
}

static void name_set(wire_name_t *n, const char *s) {
    n->len = (uint8_t)strlen(s);
    memcpy(n->s, s, n->len + 1u);
}

/* A valid name of `len` bytes, distinct per `k`. */
static void name_long(char *out, size_t len, unsigned k) {
    for (size_t i = 0; i < len; i++) out[i] = "abcdefghijklmnopqrstuvwxyz0123456789_-.XYZ"[(i + k) % 42];
    out[0] = (char)('A' + k % 26);
    out[len] = '\0';
}

static void tx_fill(tx_t *t, uint64_t serial, const char *s, const char *r, int64_t amount) {
    tx_set(t, serial, s, strlen(s), r, strlen(r), amount);
}

/* ---- fuzz_udp ---- */

static void udp_req(const char *name, const wire_req_t *m) {
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_req_encode(m, buf, sizeof buf);
    FUZZ_CHECK(n > 0);
    seed_write("fuzz_udp", name, buf, n);
}

static void udp_reply(const char *name, const wire_reply_t *m) {
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_reply_encode(m, buf, sizeof buf);
    FUZZ_CHECK(n > 0);
    seed_write("fuzz_udp", name, buf, n);
}

static void seeds_udp(void) {
    static wire_req_t q;
    static wire_reply_t p;
    char big[NAME_BYTES_MAX + 1];

    memset(&q, 0, sizeof q);
    q.type = WIRE_QUERY, q.incarnation = 1, q.request_id = 1;
    udp_req("req_query_0", &q);
    q.u.query.count = 1;
    name_set(&q.u.query.names[0], "Chinmay");
    udp_req("req_query_1", &q);
    q.incarnation = UINT64_MAX, q.request_id = UINT64_MAX;
    q.u.query.count = WIRE_QUERY_NAMES_FIT;
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_FIT; i++) {
        name_long(big, NAME_BYTES_MAX, i);
        name_set(&q.u.query.names[i], big);
    }
    udp_req("req_query_18_longest", &q);
    q.u.query.count = WIRE_QUERY_NAMES_MAX;
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_MAX; i++) {
        name_long(big, 17, i);
        name_set(&q.u.query.names[i], big);
    }
    udp_req("req_query_64_short", &q);

    memset(&q, 0, sizeof q);
    q.type = WIRE_WRITE, q.incarnation = 2, q.request_id = 7;
    q.u.write.epoch = 0x2a;
    q.u.write.count = 1;
    tx_fill(&q.u.write.txs[0], 10, "Chinmay", "Luke", 20);
    udp_req("req_write_1", &q);
    q.u.write.count = WIRE_WRITE_TXS_MAX;
    for (unsigned i = 0; i < WIRE_WRITE_TXS_MAX; i++)
        tx_fill(&q.u.write.txs[i], 100 + i, "a", "b.c-d_E", 1 + i);
    q.u.write.epoch = UINT64_MAX;
    udp_req("req_write_64", &q);
    q.u.write.count = 8; /* as many longest transactions as fit a datagram */
    for (unsigned i = 0; i < 8; i++) {
        char other[NAME_BYTES_MAX + 1];
        name_long(big, NAME_BYTES_MAX, i);
        name_long(other, NAME_BYTES_MAX, i + 9);
        tx_fill(&q.u.write.txs[i], UINT64_MAX - 7 + i, big, other, AMOUNT_MAX); /* ascending */
    }
    udp_req("req_write_8_longest", &q);

    memset(&q, 0, sizeof q);
    q.type = WIRE_LIST, q.incarnation = 3, q.request_id = 9;
    q.u.list.cursor = 0, q.u.list.max = WIRE_LIST_TXS_MAX, q.u.list.pages = WIRE_LIST_PAGES_MAX;
    udp_req("req_list_first", &q);
    q.u.list.cursor = UINT32_MAX, q.u.list.max = 1, q.u.list.pages = 1;
    udp_req("req_list_last", &q);

    memset(&q, 0, sizeof q);
    q.type = WIRE_STATS, q.incarnation = 3, q.request_id = 10;
    name_set(&q.u.stats.user, "Chinmay");
    udp_req("req_stats_first", &q);
    name_long(big, NAME_BYTES_MAX, 3);
    name_set(&q.u.stats.user, big);
    q.u.stats.cursor = UINT32_MAX;
    udp_req("req_stats_longest", &q);

    memset(&p, 0, sizeof p);
    p.type = WIRE_QUERY | WIRE_REPLY, p.incarnation = 1, p.request_id = 1, p.fence = 1;
    p.epoch = 0x2a;
    p.u.query.max_serial = 9, p.u.query.tx_count = 3, p.u.query.count = 2;
    p.u.query.totals[0] = (wire_totals_t){1, 139, 0};
    p.u.query.totals[1] = (wire_totals_t){0, 0, 0};
    udp_reply("reply_query_2", &p);
    p.u.query.max_serial = UINT64_MAX, p.u.query.tx_count = UINT32_MAX;
    p.u.query.count = WIRE_QUERY_NAMES_MAX;
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_MAX; i++)
        p.u.query.totals[i] = (wire_totals_t){1, UINT64_MAX - i, i};
    udp_reply("reply_query_64_extremes", &p);
    p.status = WIRE_ST_STALE, p.fence = 5, p.u.query.count = 0;
    udp_reply("reply_query_stale", &p);

    memset(&p, 0, sizeof p);
    p.type = WIRE_WRITE | WIRE_REPLY, p.incarnation = 2, p.request_id = 7, p.fence = 2;
    p.status = WIRE_ST_UNFENCED;
    udp_reply("reply_write_unfenced", &p);
    p.status = WIRE_ST_EPOCH, p.epoch = UINT64_MAX;
    udp_reply("reply_write_epoch", &p);
    p.status = WIRE_ST_OK, p.u.write.count = 1, p.u.write.serials[0] = 10;
    udp_reply("reply_write_1", &p);
    p.u.write.count = WIRE_WRITE_TXS_MAX;
    for (unsigned i = 0; i < WIRE_WRITE_TXS_MAX; i++) {
        p.u.write.serials[i] = 100 + i;
        p.u.write.results[i] = (uint8_t)(i % 3);
    }
    udp_reply("reply_write_64_mixed", &p);

    memset(&p, 0, sizeof p);
    p.type = WIRE_LIST | WIRE_REPLY, p.incarnation = 3, p.request_id = 9, p.fence = 3;
    p.u.list.done = 1;
    udp_reply("reply_list_empty", &p);
    p.u.list.done = 0, p.u.list.next_cursor = 3, p.u.list.count = 3;
    tx_fill(&p.u.list.txs[0], 1, "Racheal", "John", 45);
    tx_fill(&p.u.list.txs[1], 5, "Chinmay", "Oliver", 129);
    tx_fill(&p.u.list.txs[2], 9, "Ali", "Luke", 155);
    udp_reply("reply_list_3", &p);
    p.u.list.cursor = 3, p.u.list.next_cursor = 47; /* a window's next page */
    p.u.list.count = 44;
    for (unsigned i = 0; i < 44; i++) tx_fill(&p.u.list.txs[i], i + 1, "ab", "cd", AMOUNT_MAX);
    udp_reply("reply_list_full", &p);

    memset(&p, 0, sizeof p);
    p.type = WIRE_STATS | WIRE_REPLY, p.incarnation = 3, p.request_id = 10, p.fence = 3;
    p.u.stats.done = 1;
    udp_reply("reply_stats_empty", &p);
    p.u.stats.count = 3, p.u.stats.next_cursor = 7;
    p.u.stats.rows[0] = (wire_row_t){{0}, 1, -20};
    name_set(&p.u.stats.rows[0].partner, "Luke");
    p.u.stats.rows[1] = (wire_row_t){{0}, UINT32_MAX, INT64_MIN};
    name_set(&p.u.stats.rows[1].partner, "Oliver");
    p.u.stats.rows[2] = (wire_row_t){{0}, 1, INT64_MAX};
    name_set(&p.u.stats.rows[2].partner, "Rishil");
    udp_reply("reply_stats_3_extremes", &p);

    /* malformed: the decoders' refusals */
    static const uint8_t bad_magic[WIRE_HEADER_BYTES + 1] = {0xA2, 1, 1, 0};
    static const uint8_t bad_version[WIRE_HEADER_BYTES + 1] = {0xA1, 2, 1, 0};
    static const uint8_t bad_flags[WIRE_HEADER_BYTES + 1] = {0xA1, 1, 1, 1};
    static const uint8_t bad_type[WIRE_HEADER_BYTES + 1] = {0xA1, 1, 9, 0};
    static const uint8_t short_header[5] = {0xA1, 1, 1, 0, 0};
    seed_write("fuzz_udp", "bad_magic", bad_magic, sizeof bad_magic);
    seed_write("fuzz_udp", "bad_version", bad_version, sizeof bad_version);
    seed_write("fuzz_udp", "bad_flags", bad_flags, sizeof bad_flags);
    seed_write("fuzz_udp", "bad_type", bad_type, sizeof bad_type);
    seed_write("fuzz_udp", "short_header", short_header, sizeof short_header);
}

/* ---- fuzz_tcp: mode byte (bit 0 reply side, bits 1-2 the client's op), split byte ---- */

static void tcp_seed(const char *name, int reply, creq_op_t op, uint8_t split, const char *s) {
    char buf[SEED_BYTES_MAX];
    size_t n = strlen(s);
    FUZZ_CHECK(n + 2 <= sizeof buf);
    buf[0] = (char)((reply ? 1 : 0) | ((op - CREQ_BALANCE) << 1));
    buf[1] = (char)split;
    memcpy(buf + 2, s, n);
    seed_write("fuzz_tcp", name, buf, n + 2);
}

/* q's request line into line[cap] as a C string (the encoder writes no NUL: strlen on
 * what it left read on into the stack, and the seeds got random trailing bytes). */
static void creq_line(const wire_creq_t *q, char *line, size_t cap) {
    size_t n = wire_creq_encode(q, line, cap - 1);
    FUZZ_CHECK(n > 0);
    line[n] = '\0';
}

static void seeds_tcp(void) {
    char line[TCP_LINE_BYTES_MAX + 1], big[NAME_BYTES_MAX + 1], other[NAME_BYTES_MAX + 1];
    wire_creq_t q;
    memset(&q, 0, sizeof q);
    q.op = CREQ_BALANCE;
    name_set(&q.user, "Chinmay");
    creq_line(&q, line, sizeof line);
    tcp_seed("req_balance", 0, CREQ_BALANCE, 0, line);
    tcp_seed("req_balance_bytewise", 0, CREQ_BALANCE, 1, line);
    q.op = CREQ_STATS;
    creq_line(&q, line, sizeof line);
    tcp_seed("req_stats", 0, CREQ_BALANCE, 7, line);
    q.op = CREQ_TXLIST;
    creq_line(&q, line, sizeof line);
    tcp_seed("req_txlist", 0, CREQ_BALANCE, 3, line);
    q.op = CREQ_TRANSFER;
    name_long(big, NAME_BYTES_MAX, 1);
    name_long(other, NAME_BYTES_MAX, 2);
    name_set(&q.user, big);
    name_set(&q.receiver, other);
    q.amount = AMOUNT_MAX;
    creq_line(&q, line, sizeof line);
    tcp_seed("req_transfer_longest", 0, CREQ_BALANCE, 63, line);
    tcp_seed("req_transfer_crlf", 0, CREQ_BALANCE, 5, "ALICHAIN/1 TRANSFER Chinmay Luke 20\r\n");
    tcp_seed("req_two_lines", 0, CREQ_BALANCE, 2,
             "ALICHAIN/1 BALANCE Luke\nALICHAIN/1 STATS Luke\n");
    tcp_seed("req_bad_amount", 0, CREQ_BALANCE, 0, "ALICHAIN/1 TRANSFER a b 020\n");
    tcp_seed("req_bad_spaces", 0, CREQ_BALANCE, 0, "ALICHAIN/1  BALANCE a \n");
    tcp_seed("req_missing_arg", 0, CREQ_BALANCE, 0, "ALICHAIN/1 BALANCE\n");
    tcp_seed("req_unterminated", 0, CREQ_BALANCE, 9, "ALICHAIN/1 BALANCE Luke");
    char over[TCP_LINE_BYTES_MAX + 64];
    memset(over, 'A', sizeof over - 2);
    over[sizeof over - 2] = '\n';
    over[sizeof over - 1] = '\0';
    tcp_seed("req_overlong", 0, CREQ_BALANCE, 40, over);
    tcp_seed("reply_overlong", 1, CREQ_BALANCE, 40, over);

    static const struct { const char *name; creq_op_t op; const char *text; } replies[] = {
        {"rep_balance", CREQ_BALANCE, "OK BALANCE 881\n"},
        {"rep_balance_min", CREQ_BALANCE, "OK BALANCE -9223372036854775808\n"},
        {"rep_nouser", CREQ_BALANCE, "REFUSED NOUSER Bob\n"},
        {"rep_unavailable", CREQ_BALANCE, "ERROR UNAVAILABLE AC\n"},
        {"rep_busy", CREQ_BALANCE, "ERROR BUSY\n"},
        {"rep_badreq", CREQ_STATS, "ERROR BADREQ\n"},
        {"rep_transfer", CREQ_TRANSFER, "OK TRANSFER 861 10\n"},
        {"rep_insufficient", CREQ_TRANSFER, "REFUSED INSUFFICIENT 5\n"},
        {"rep_nousers", CREQ_TRANSFER, "REFUSED NOUSERS Al.ice B-o_b\n"},
        {"rep_same", CREQ_TRANSFER, "REFUSED SAME\n"},
        {"rep_unknown", CREQ_TRANSFER, "ERROR UNKNOWN\r\n"},
        {"rep_nouser_tx", CREQ_TRANSFER, "REFUSED NOUSER x\n"},
        {"rep_txlist", CREQ_TXLIST, "OK TXLIST 10 /srv/a dir/alichain.txt\n"},
        {"rep_internal", CREQ_TXLIST, "ERROR INTERNAL txlist write failed\n"},
        {"rep_stats", CREQ_STATS, "OK STATS 3\n1 Luke 1 -20\n2 Oliver 1 -129\n3 Rishil 1 10\n"},
        {"rep_stats_0", CREQ_STATS, "OK STATS 0\n"},
        {"rep_stats_bad_rank", CREQ_STATS, "OK STATS 2\n1 Luke 1 -20\n3 Oliver 1 -129\n"},
        {"rep_stats_cut", CREQ_STATS, "OK STATS 2\n1 Luke 1 -20\n2 Oli"},
        {"rep_wrong_kind", CREQ_TXLIST, "OK BALANCE 1\n"},
        {"rep_garbage", CREQ_BALANCE, "HELLO\n"},
    };
    for (size_t i = 0; i < AC_ARRAY_LEN(replies); i++)
        tcp_seed(replies[i].name, 1, replies[i].op, (uint8_t)(i * 7), replies[i].text);
}

/* ---- fuzz_block ---- */

static void seeds_block(void) {
    seed_text("fuzz_block", "sample1", "5 Chinmay Oliver 129\n1 Racheal John 45\n9 Ali Luke 155\n");
    seed_text("fuzz_block", "sample2", "2 Rishil Alice 30\n8 Rishil Chinmay 10\n3 Oliver Rachit 94\n");
    seed_text("fuzz_block", "sample3_no_final_newline",
              "6 Racheal Alice 49\n4 Ben Victor 85\n7 Martin Luke 25");
    seed_text("fuzz_block", "crlf_blank_tabs",
              "1 A B 5\r\n\r\n\t \n 2\tB\t A  7 \r\n\n3 C A 1\r\n");
    seed_text("fuzz_block", "torn_tail", "1 A B 5\n2 B C 6\n3 C");
    seed_text("fuzz_block", "torn_blank_tail", "1 A B 5\n \r");
    seed_text("fuzz_block", "self_transfer_pop", "1 A B 5\n2 A A 9\n3 B A 2");
    seed_text("fuzz_block", "extremes",
              "18446744073709551615 A B 1000000000000\n"
              "1 a.b-c_D 0123456789012345678901234567890123456789012345678901234567890123 "
              "0000000000001\n");
    static const struct { const char *name, *text; } bad[] = {
        {"err_serial0", "0 A B 5\n"},
        {"err_serial_overflow", "18446744073709551616 A B 5\n"},
        {"err_serial_letters", "1x A B 5\n"},
        {"err_dup", "4 A B 5\n4 A B 5\n"},
        {"err_name", "1 A! B 5\n"},
        {"err_receiver", "1 A B/ 5\n"},
        {"err_name65",
         "1 A 01234567890123456789012345678901234567890123456789012345678901234 5\n"},
        {"err_amount0", "1 A B 0\n"},
        {"err_amount_big", "1 A B 1000000000001\n"},
        {"err_amount_14digits", "1 A B 00000000000001\n"},
        {"err_amount_sign", "1 A B -5\n"},
        {"err_fields3", "1 A B\n"},
        {"err_fields5", "1 A B 5 6\n"},
        {"err_then_more", "1 A B 5\nbad line\n2 A B 5\n"},
    };
    for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) seed_text("fuzz_block", bad[i].name, bad[i].text);
    char longline[BLOCK_LINE_BYTES_MAX + 16];
    memset(longline, ' ', sizeof longline);
    memcpy(longline, "1 A B 5", 7);
    longline[sizeof longline - 1] = '\n';
    seed_write("fuzz_block", "err_line_too_long", longline, sizeof longline);
    seed_write("fuzz_block", "torn_too_long", longline, sizeof longline - 1);
}

/* ---- fuzz_argv: err-size byte, then NUL-separated arguments ---- */

static void argv_seed(const char *name, uint8_t err_sel, const char *args, size_t len) {
    char buf[SEED_BYTES_MAX];
    buf[0] = (char)err_sel;
    memcpy(buf + 1, args, len);
    seed_write("fuzz_argv", name, buf, len + 1);
}
#define ARGV_SEED(name, sel, lit) argv_seed(name, sel, lit, sizeof lit - 1)

static void seeds_argv(void) {
    ARGV_SEED("balance", 127, "Chinmay");
    ARGV_SEED("txlist", 127, "TXLIST");
    ARGV_SEED("stats", 127, "Chinmay\0stats");
    ARGV_SEED("transfer", 127, "Chinmay\0Luke\00020");
    ARGV_SEED("transfer_max", 127, "a.b-c_D\0Luke\0001000000000000");
    ARGV_SEED("none", 127, "");
    ARGV_SEED("bad_name", 60, "Chin may");
    ARGV_SEED("bad_name65", 127,
              "01234567890123456789012345678901234567890123456789012345678901234");
    ARGV_SEED("bad_receiver", 9, "Chinmay\0Lu/ke\00020");
    ARGV_SEED("bad_amount0", 127, "Chinmay\0Luke\0000");
    ARGV_SEED("bad_amount_big", 127, "Chinmay\0Luke\0001000000000001");
    ARGV_SEED("bad_amount_text", 0, "Chinmay\0Luke\00020x");
    ARGV_SEED("bad_stats", 127, "Chinmay\0stat");
    ARGV_SEED("too_many", 127, "a\0b\0c\0d");
    ARGV_SEED("empty_arg", 3, "\0");
}

/* ---- fuzz_nodes: steps (see fuzz_nodes.c: kind = op % 11, sel = op / 11) ---- */

typedef struct {
    uint8_t b[SEED_BYTES_MAX];
    size_t n;
} prog_t;

static void prog_u8(prog_t *p, unsigned v) {
    FUZZ_CHECK(p->n < sizeof p->b);
    p->b[p->n++] = (uint8_t)v;
}
static void prog_u16(prog_t *p, unsigned v) {
    prog_u8(p, v >> 8);
    prog_u8(p, v & 0xff);
}
static void prog_request(prog_t *p, unsigned conn, const char *line) {
    prog_u8(p, 2 + 11 * (conn - 1));
    prog_u8(p, (unsigned)strlen(line));
    for (const char *c = line; *c != '\0'; c++) prog_u8(p, (uint8_t)*c);
}
/* Delivers what is in flight and completes syncs, `rounds` times. */
static void prog_pump(prog_t *p, int rounds) {
    for (int i = 0; i < rounds; i++) {
        prog_u8(p, 5), prog_u8(p, 0); /* deliver the oldest datagram */
        prog_u8(p, 8), prog_u8(p, 0); /* complete the oldest sync or file write */
    }
}
static void prog_seed(const char *name, const prog_t *p) { seed_write("fuzz_nodes", name, p->b, p->n); }

static void seeds_nodes(void) {
    prog_t p;
    p.n = 0;
    prog_request(&p, 1, "ALICHAIN/1 BALANCE Chinmay\n");
    prog_pump(&p, 8);
    prog_seed("balance", &p);

    p.n = 0;
    prog_request(&p, 2, "ALICHAIN/1 TRANSFER Chinmay Luke 20\n");
    prog_pump(&p, 12);
    prog_seed("transfer", &p);

    p.n = 0;
    prog_request(&p, 1, "ALICHAIN/1 TXLIST\n");
    prog_pump(&p, 12);
    prog_seed("txlist", &p);

    p.n = 0;
    prog_request(&p, 1, "ALICHAIN/1 TXLIST\n");
    for (int i = 0; i < 12; i++) prog_u8(&p, 5), prog_u8(&p, 0);
    prog_u8(&p, 8 + 11 * 3), prog_u8(&p, 0); /* the file write fails */
    prog_seed("txlist_write_fails", &p);

    p.n = 0;
    prog_request(&p, 3, "ALICHAIN/1 STATS Chinmay\n");
    prog_pump(&p, 12);
    prog_seed("stats", &p);

    p.n = 0; /* four clients at once: one batch */
    prog_request(&p, 1, "ALICHAIN/1 TRANSFER Racheal John 40\n");
    prog_request(&p, 2, "ALICHAIN/1 TRANSFER Racheal Alice 990\n");
    prog_request(&p, 3, "ALICHAIN/1 BALANCE Racheal\n");
    prog_request(&p, 4, "ALICHAIN/1 TRANSFER Nobody Alice 1\n");
    prog_pump(&p, 16);
    prog_seed("concurrent", &p);

    p.n = 0; /* a lost datagram, then retransmission at the deadline */
    prog_request(&p, 1, "ALICHAIN/1 BALANCE Luke\n");
    prog_u8(&p, 7), prog_u8(&p, 0);
    prog_u8(&p, 4);
    prog_pump(&p, 8);
    prog_seed("retransmit", &p);

    p.n = 0; /* nothing answers: the client hears "unavailable" */
    prog_request(&p, 1, "ALICHAIN/1 BALANCE Luke\n");
    prog_u8(&p, 4 + 11), prog_u16(&p, 30000);
    prog_seed("timeout", &p);

    p.n = 0; /* duplicated datagrams */
    prog_request(&p, 1, "ALICHAIN/1 TRANSFER Ali Ben 5\n");
    for (int i = 0; i < 8; i++) prog_u8(&p, 6), prog_u8(&p, 0), prog_u8(&p, 5), prog_u8(&p, 0);
    prog_pump(&p, 8);
    prog_seed("duplicates", &p);

    p.n = 0; /* serverM restarts mid-transfer; the old run's datagrams arrive later */
    prog_request(&p, 1, "ALICHAIN/1 TRANSFER Chinmay Luke 20\n");
    prog_pump(&p, 5);
    prog_u8(&p, 9);
    prog_request(&p, 2, "ALICHAIN/1 BALANCE Chinmay\n");
    prog_pump(&p, 12);
    prog_seed("coord_restart", &p);

    p.n = 0; /* every backend restarts while a write waits for its sync (torn append) */
    prog_request(&p, 1, "ALICHAIN/1 TRANSFER Chinmay Luke 20\n");
    for (int i = 0; i < 7; i++) prog_u8(&p, 5), prog_u8(&p, 0);
    for (unsigned b = 0; b < BACKEND_COUNT; b++) prog_u8(&p, 10 + 11 * b), prog_u16(&p, 7 + b);
    prog_u8(&p, 4);
    prog_pump(&p, 12);
    prog_seed("backend_restart_torn", &p);

    p.n = 0; /* the client leaves mid-operation; an idle connection is closed */
    prog_request(&p, 1, "ALICHAIN/1 TRANSFER Chinmay Luke 20\n");
    prog_u8(&p, 3);
    prog_request(&p, 2, "ALICH");
    prog_u8(&p, 4 + 11), prog_u16(&p, 60000);
    prog_u8(&p, 4 + 11), prog_u16(&p, 60000);
    prog_pump(&p, 12);
    prog_seed("client_gone_idle", &p);

    p.n = 0; /* corrupted deliveries */
    prog_request(&p, 1, "ALICHAIN/1 STATS Rishil\n");
    for (int i = 0; i < 6; i++) prog_u8(&p, 5 + 11 * 12), prog_u8(&p, 0), prog_u16(&p, 3 + 5 * i);
    prog_pump(&p, 8);
    prog_seed("corrupt", &p);

    p.n = 0; /* made-up datagrams: a request to a backend, a reply to serverM */
    static wire_req_t q;
    memset(&q, 0, sizeof q);
    q.type = WIRE_QUERY, q.incarnation = 1, q.request_id = 1, q.u.query.count = 1;
    name_set(&q.u.query.names[0], "Ali");
    uint8_t d[DGRAM_BYTES_MAX];
    size_t n = wire_req_encode(&q, d, sizeof d);
    prog_u8(&p, 0), prog_u16(&p, (unsigned)n);
    for (size_t i = 0; i < n; i++) prog_u8(&p, d[i]);
    q.type = WIRE_WRITE, q.u.write.count = 1;
    q.u.write.epoch = 1; /* serverA's first run in sim/world/nodes.c (backends start A, B, C) */
    tx_fill(&q.u.write.txs[0], 10, "Ali", "Ben", 5);
    n = wire_req_encode(&q, d, sizeof d);
    prog_u8(&p, 0), prog_u16(&p, (unsigned)n);
    for (size_t i = 0; i < n; i++) prog_u8(&p, d[i]);
    prog_u8(&p, 8), prog_u8(&p, 0);
    static wire_reply_t r;
    memset(&r, 0, sizeof r);
    r.type = WIRE_QUERY | WIRE_REPLY, r.incarnation = 1, r.request_id = 1, r.fence = 1;
    n = wire_reply_encode(&r, d, sizeof d);
    prog_u8(&p, 1), prog_u16(&p, (unsigned)n);
    for (size_t i = 0; i < n; i++) prog_u8(&p, d[i]);
    prog_seed("made_up", &p);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    corpus_dir = argv[1];
    seeds_udp();
    seeds_tcp();
    seeds_block();
    seeds_argv();
    seeds_nodes();
    printf("seeds: wrote %d files under %s\n", seeds_written, corpus_dir);
    return 0;
}

