/* soak.h — `alichain-sim soak`, the durability soak: concurrent transfers on the real programs
 * while a random server is killed (-9) and restarted every K ms, then the block files read with
 * core's blockfile_recover and every client's outcome checked against them (docs/REAL.md). */
#ifndef ALICHAIN_SIM_SOAK_H
#define ALICHAIN_SIM_SOAK_H

#include <stdint.h>
#include <stdio.h>

#include "realnet.h"

#define SOAK_TRANSFERS_DEFAULT 2000u
#define SOAK_CONCURRENCY_DEFAULT 16u
#define SOAK_KILL_MS_DEFAULT 200u
#define SOAK_TRANSFERS_MAX 1000000u
#define SOAK_CONCURRENCY_MAX 256u
#define SOAK_KILL_MS_MAX 600000u

/* A planted fault, to prove the checks can fail. */
typedef enum {
    SOAK_PLANT_NONE = 0,
    SOAK_PLANT_DROP_CONFIRMED = 1, /* delete one confirmed transfer's line before the check */
    SOAK_PLANT_TORN_CONFIRMED = 2, /* ... and put it into "<block>.torn" as a torn append */
    SOAK_PLANT_COPY_CONFIRMED = 3, /* append one confirmed line to a second block file */
} soak_plant_t;

typedef struct {
    const char *programs;   /* directory holding serverM/A/B/C, clientA/B */
    uint32_t transfers;
    uint32_t concurrency;
    uint32_t kill_ms;       /* 0: no kills */
    uint64_t seed;
    int has_port_offset;
    unsigned port_offset;
    soak_plant_t plant;
    int power_cut;          /* every kill is also a power cut of the server's disk (the disk
                             * fault file system: unsynced bytes lost, appends torn); refused
                             * where it cannot mount */
    realnet_t *net;         /* NULL: loopback */
    const char *net_note;   /* why the run is on loopback although hosts were wanted */
    FILE *report;
} soak_options_t;

/* Runs the soak and prints its report. Returns 0 (every check holds), 1 (a violation) or
 * 2 (cannot run, or interrupted). Everything it started (processes, the back end's hosts,
 * its temp dir, the port lease) is gone on return. */
int soak_run(const soak_options_t *o);

#endif
