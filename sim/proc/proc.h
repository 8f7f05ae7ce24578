/* proc.h — the process room: the one toolkit for running real programs (spawn, the "up"
 * line, kill, port lease, clock, temporary trees), used by real mode, the soak, the hosts
 * and bench/. Linux and POSIX only; no simulator types. */
#ifndef ALICHAIN_SIM_PROC_H
#define ALICHAIN_SIM_PROC_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds: every wall-clock time of the harness. */
uint64_t proc_now_us(void);

#endif
