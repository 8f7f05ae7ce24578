/* fuzz_argv.c — libFuzzer target for the client command line (client_parse_argv). Input:
 * one byte choosing the error buffer's size, then the arguments separated by NUL bytes.
 * A refused command line must leave a NUL-terminated reason inside the buffer; an accepted
 * one must be a well-formed request that the client sends as a line decoding to it. */
#include <string.h>

#include "client.h"
#include "fuzz.h"

#define FUZZ_ARGV_ARGS_MAX 6 /* more than any valid command line (4) */

static void request_check(const wire_creq_t *req, char **argv, int argc) {
    FUZZ_CHECK(req->op >= CREQ_BALANCE && req->op <= CREQ_STATS);
    if (req->op != CREQ_TXLIST) {
        FUZZ_CHECK(tx_name_valid(req->user.s, req->user.len) && req->user.s[req->user.len] == 0);
        FUZZ_CHECK(strcmp(req->user.s, argv[1]) == 0);
    }
    if (req->op == CREQ_TRANSFER) {
        FUZZ_CHECK(argc == 4 && strcmp(req->receiver.s, argv[2]) == 0);
        FUZZ_CHECK(tx_name_valid(req->receiver.s, req->receiver.len));
        FUZZ_CHECK(req->amount >= AMOUNT_MIN && req->amount <= AMOUNT_MAX);
    }
    client_t *c = client_new(0, req, 1000);
    FUZZ_CHECK(c != NULL);
    outbox_t out;
    outbox_init(&out);
    client_start(c, 0, &out);
    client_on_connected(c, 0, &out);
    const fx_t *send = NULL;
    for (size_t i = 0; i < out.fx_count; i++)
        if (out.fx[i].kind == FX_CONN_SEND) send = &out.fx[i];
    FUZZ_CHECK(send != NULL && send->data_len > 1 && send->data_len <= TCP_REQUEST_BYTES_MAX);
    const char *line = (const char *)outbox_bytes(&out, send);
    FUZZ_CHECK(line[send->data_len - 1] == '\n');
    wire_creq_t back;
    FUZZ_CHECK(wire_creq_decode(line, send->data_len - 1, &back) == 0);
    FUZZ_CHECK(back.op == req->op && back.amount == req->amount);
    FUZZ_CHECK(back.user.len == req->user.len && strcmp(back.user.s, req->user.s) == 0);
    FUZZ_CHECK(back.receiver.len == req->receiver.len &&
               strcmp(back.receiver.s, req->receiver.s) == 0);
    outbox_free(&out);
    client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t err_cap = 1 + data[0] % 128;
    char *copy = malloc(size); /* the arguments, each NUL-terminated */
    char *err = malloc(err_cap);
    FUZZ_CHECK(copy != NULL && err != NULL);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    char *argv[FUZZ_ARGV_ARGS_MAX + 2] = {"clientA"};
    int argc = 1;
    for (size_t pos = 0; pos < size && argc <= FUZZ_ARGV_ARGS_MAX; argc++) {
        argv[argc] = copy + pos;
        pos += strlen(copy + pos) + 1;
    }
    if (size == 1) argc = 1; /* no bytes after the first: no arguments at all */
    argv[argc] = NULL;
    wire_creq_t req;
    memset(err, 'x', err_cap);
    int rc = client_parse_argv(argc, (const char *const *)argv, &req, err, err_cap);
    if (rc == 0) {
        request_check(&req, argv, argc);
    } else {
        FUZZ_CHECK(rc == AC_EINVAL && memchr(err, '\0', err_cap) != NULL);
        FUZZ_CHECK(err_cap == 1 || err[0] != '\0');
    }
    free(copy);
    free(err);
    return 0;
}
