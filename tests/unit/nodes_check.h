/* nodes_check.h — what the unit tests on the shared harness (sim/world/nodes.h) have in common:
 * the sample blocks of SPEC.md, a world on the heap, its freeing (the harness itself must
 * have found nothing wrong) and a NUL-terminated view of a captured buffer. Include after
 * check.h; for test_nodes.c and test_jobs.c. */
#ifndef ALICHAIN_TESTS_NODES_CHECK_H
#define ALICHAIN_TESTS_NODES_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "world/nodes.h"

static const char *sample[3] = {
    "5 Chinmay Oliver 129\n1 Racheal John 45\n9 Ali Luke 155\n",
    "2 Rishil Alice 30\n8 Rishil Chinmay 10\n3 Oliver Rachit 94\n",
    "6 Racheal Alice 49\n4 Ben Victor 85\n7 Martin Luke 25\n",
};

static nodes_t *world_alloc(const char *const blocks[3], uint64_t incarnation, uint32_t timeout_ms,
                            size_t queue_max) {
    nodes_t *n = malloc(sizeof(*n));
    CHECK(n != NULL);
    CHECK_EQ(nodes_init(n, blocks, incarnation, timeout_ms, queue_max), 0);
    return n;
}

/* Frees the world; the harness itself must have found nothing wrong. */
static void world_free(nodes_t *n) {
    CHECK_EQ(n->failures, 0);
    if (n->failures) fprintf(stderr, "harness: %s\n", n->failure);
    nodes_free(n);
    free(n);
}

/* A NUL-terminated view of a captured buffer. */
static const char *text(sim_buf_t *b) {
    CHECK_EQ(buf_reserve(b, 1), 0);
    b->p[b->len] = '\0';
    return (const char *)b->p;
}

#define OUT(n, k) text(&(n)->conn[k].out)

#endif
