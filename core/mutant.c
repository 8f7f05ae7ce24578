/* mutant.c — the names of the planted bugs, and (mutant builds only) the selector. */
#include "mutant.h"

#if defined(ALICHAIN_MUTANTS)
mutant_t ac_mutant = MUT_NONE;
#endif

const char *const mutant_names[MUT_COUNT] = {
    "none",
    "backend-double-store",
    "serial-reuse-in-doubt",
    "same-balance",
    "ack-before-sync",
    "partial-balance",
    "retx-other-backend",
    "no-retransmit",
    "no-fencing",
    "keep-torn-tail",
    "no-marker",
    "txlist-no-snapshot",
    "stats-no-lock",
    "reply-out-of-order",
    "conn-unordered",
    "skip-mac",
    "disk-error-no-cut",
    "no-epoch-check",
    "txlist-page-order",
    "reads-across-batches",
    "ahead-no-catch-up",
    /* real programs only (MUT_SIM_COUNT ..) */
    "restart-forgets-last-line",
    "half-timeout",
    "wrong-balance",
};
