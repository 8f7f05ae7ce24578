/* world_check.c — the simulator's side of the end-of-run judge (judge/judge.h): the world's
 * operations, disks and alichain.txt versions described as a check_input_t, verdicts
 * routed into the run's result; plus what only the simulator can see: each live backend's
 * index against its disk, and coins conserved once the run has settled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"
#include "judge/judge.h"

/* ---- the simulator's side ---- */

static void world_sink_violation(void *ctx, const char *checker, uint64_t at_us, const char *msg) {
    world_t *w = ctx;
    world_violation_at(w, at_us ? at_us : w->now_us, checker, msg);
}

static void world_sink_expect(void *ctx, const scn_expect_t *e, const char *msg) {
    world_t *w = ctx;
    char line[CHECK_MSG_BYTES + 96];
    int n = snprintf(line, sizeof(line), "expect failed: line %u: %s\n", e->line, msg);
    buf_append(&w->expect_log, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    w->res->expects_failed++;
    if (w->res->first_failure[0] == '\0')
        snprintf(w->res->first_failure, sizeof(w->res->first_failure), "expect (line %u): %s", e->line, msg);
}

static int world_settled(const world_t *w) {
    if (w->inflight || w->disk_pending) return 0;
    for (int n = 0; n < SIM_SERVERS; n++) {
        if (w->node[n].parked_count) return 0;
    }
    return w->coord == NULL || coord_idle(w->coord);
}

/* Each live backend's index agrees with itself and with its own disk. */
static void check_conservation(world_t *w, const check_txs_t *disk) {
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (!w->node[b + 1].up) continue;
        const ledger_t *l = &w->be[b]->ledger;
        uint64_t sent = 0, recv = 0, amounts = 0;
        for (uint32_t u = 0; u < l->user_count; u++) {
            sent += l->users[u].sent;
            recv += l->users[u].received;
        }
        for (uint32_t i = 0; i < l->tx_count; i++) amounts += (uint64_t)l->txs[i].amount;
        if (sent != recv || sent != amounts) {
            world_violation(w, "conservation", "server%c's index: coins sent %llu, received %llu, "
                            "in its transactions %llu", backend_letter(b), (unsigned long long)sent,
                            (unsigned long long)recv, (unsigned long long)amounts);
        }
        if (simdisk_unsynced(&w->disk[b]) != 0) continue; /* appends in flight: compare when settled */
        size_t on_disk = 0;
        for (size_t i = 0; i < disk->count; i++) on_disk += disk->txs[i].backend == b;
        if (on_disk != l->tx_count) {
            world_violation(w, "conservation", "server%c's index holds %u transactions, its disk %zu",
                            backend_letter(b), l->tx_count, on_disk);
        }
    }
}

void world_check_final(world_t *w) {
    check_txs_t disk = {0};
    check_op_t *ops = calloc(w->op_count + 1, sizeof(*ops));
    uint8_t *model = calloc(w->op_count + 1, 1);
    int rc = ops == NULL || model == NULL ? AC_ENOMEM : 0;
    for (int b = 0; rc == 0 && b < BACKEND_COUNT; b++) {
        char err[CHECK_MSG_BYTES];
        size_t marker_len;
        const char *marker = simdisk_marker(&w->disk[b], &marker_len);
        int bad = check_block_read(simdisk_image(&w->disk[b]), w->disk[b].durable_len, marker,
                                   marker_len, b, &disk, err, sizeof(err));
        if (bad < 0) rc = bad;
        else if (bad > 0)
            world_violation(w, "durability", "a restart could not recover block%d.txt: %s", b + 1, err);
    }
    for (uint32_t i = 0; rc == 0 && i < w->op_count; i++) {
        const sim_op_t *so = &w->ops[i];
        check_op_t *op = &ops[i];
        op->step = so->step;
        op->state = so->state == OP_DONE ? CHECK_OP_DONE : so->state == OP_RUNNING ? CHECK_OP_RUNNING
                                                                                   : CHECK_OP_WAITING;
        op->parsed = so->parsed;
        op->have_reply = so->have_reply;
        op->exit_code = so->exit_code;
        op->req = so->req;
        op->reply = so->reply;
        op->inv_us = so->inv_us;
        op->resp_us = so->resp_us;
        op->out = (const char *)so->out.p;
        op->out_len = so->out.len;
        op->err = (const char *)so->err.p;
        op->err_len = so->err.len;
        const sim_session_t *ka = so->joined && so->session != 0 ? w->ops[so->session - 1].ka : NULL;
        for (size_t m = 0; ka != NULL && m < ka->member_count; m++) {
            if (ka->members[m] != i) continue;
            op->session = so->session; /* the requests of one connection, in their order */
            op->session_seq = (uint32_t)m;
        }
        if (so->file_version != 0) {
            op->file = (const char *)w->files.versions[so->file_version].p;
            op->file_len = w->files.versions[so->file_version].len;
            if (op->file == NULL) op->file = "";
        }
    }
    const sim_buf_t *file = w->files.current ? &w->files.versions[w->files.current] : NULL;
    if (rc == 0) {
        check_input_t in = {.scn = w->scn, .ops = ops, .op_count = w->op_count, .disk = &disk,
                            .txlist = file ? (file->p ? (const char *)file->p : "") : NULL,
                            .txlist_len = file ? file->len : 0, .faults = w->res->faults,
                            .settled = world_settled(w), .model = model};
        check_sink_t sink = {.violation = world_sink_violation, .expect_failed = world_sink_expect, .ctx = w};
        rc = check_judge(&in, &sink);
        for (uint32_t i = 0; rc == 0 && i < w->op_count; i++) w->ops[i].model = model[i];
        if (rc == 0) check_conservation(w, &disk);
        if (rc == 0 && w->opts->on_end != NULL) w->opts->on_end(w->opts->hook_ctx, &disk, in.txlist, in.txlist_len);
    }
    if (rc != 0) world_violation(w, "runaway", "out of memory in the final checks");
    free(ops);
    free(model);
    check_txs_free(&disk);
}
