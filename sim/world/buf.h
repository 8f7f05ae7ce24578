/* buf.h — the simulator's growable byte buffer: block files, captured output, traces.
 * The owner keeps the struct; buf_free releases the bytes. */
#ifndef ALICHAIN_SIM_BUF_H
#define ALICHAIN_SIM_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
} sim_buf_t;

/* Room for `extra` more bytes. Returns 0 or AC_ENOMEM (nothing changed then). */
int buf_reserve(sim_buf_t *b, size_t extra);
/* Appends data[0..len). Returns 0 or AC_ENOMEM (nothing changed then). */
int buf_append(sim_buf_t *b, const void *data, size_t len);
void buf_free(sim_buf_t *b);

#endif
