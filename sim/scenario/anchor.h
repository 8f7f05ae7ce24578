/* anchor.h — steps anchored to protocol events (scenario.h's scn_event_t): the words of an
 * event ("first WRITE M->B", "2nd QUERY reply C->M", "WRITE M->* ack"), the test whether a
 * datagram is one, and the table of anchored steps a run keeps. Pure: both drivers use it,
 * the simulator's world at every datagram a node sends and the real hosts' relay at every
 * datagram it reads, so an anchor fires at the same protocol moment on both. */
#ifndef ALICHAIN_SIM_ANCHOR_H
#define ALICHAIN_SIM_ANCHOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario.h"

#define SCN_EVENT_TEXT_BYTES 48

/* Parses an event from n words (the words between "on" and ':'):
 *   [ ORDINAL ] TYPE [ "reply" ] LINK [ "ack" ]
 * ORDINAL "first" or 2nd, 3rd, 4th, ... (default: first); TYPE QUERY, WRITE, LIST or STATS;
 * LINK M->X for a request, X->M for the backend's reply, X one of A, B, C or * (any
 * backend), possibly split over words ("M -> B"); "ack" after a request's link means the
 * reply to it ("WRITE M->B ack" = "WRITE B->M"). Returns 0, or AC_EINVAL with a reason in
 * err. */
int scn_event_parse(const char *const *words, int n, scn_event_t *ev, char *err, size_t cap);

/* The canonical words of ev ("first WRITE M->B", "3rd QUERY B->M"): they parse back to ev. */
void scn_event_format(const scn_event_t *ev, char *buf, size_t cap);

/* 1 when the datagram data[0..len) sent from node src to node dst (SIM_NODE_*) is of ev's
 * type on ev's link: its header's magic, version and type byte, as core/wire.c writes them. */
int scn_event_matches(const scn_event_t *ev, int src, int dst, const uint8_t *data, size_t len);

/* The anchored steps of s into f (none fired yet). Returns 0, or AC_ERANGE for more than
 * SCN_ANCHORS_MAX (the parser refuses such a scenario first). */
int scn_fired_init(scn_fired_t *f, const scenario_t *s);

/* When step st happens, for reports: "at 1.000s", or "on first WRITE M->B". */
void scn_step_when(const scn_step_t *st, char *buf, size_t cap);

/* "anchors: line 12 (on first WRITE M->*) fired at 0.004213s; line 13 (...) never fired"
 * (nothing when s has no anchored step). A step whose event never came did nothing: the
 * line says so, as the vacuous faults of judge/excuse.h do. */
void scn_fired_report(const scn_fired_t *f, const scenario_t *s, FILE *out);

/* 1 when an anchored step's fault applies to the very datagram that fired it (settings,
 * partitions, heals: plain data a driver changes at once); 0 when it is carried out right
 * after that datagram was sent, before it is delivered (crash, restart, pause, resume: a
 * node cannot be stopped inside its own send), or on.after_us after it. */
int scn_anchor_applies_at_once(const scn_step_t *st);

#endif
