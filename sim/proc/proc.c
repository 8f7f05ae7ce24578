/* proc.c — the process toolkit (proc.h). */
#include "proc.h"

#include <time.h>

uint64_t proc_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
