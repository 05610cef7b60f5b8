/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The faults the lab injects, each asked for by an environment variable
 * and inert without it: every test hook of the loader in one place.
 *
 *   DMAWATCH_TEST_STOP_AT=POINT     the process stops itself (SIGSTOP) at
 *       POINT ("load": one family loaded, nothing attached; "attach": one
 *       family attached, the others not; "read": halfway through reading
 *       the maps; "textfile": a new .prom written, not yet renamed;
 *       "running": everything attached), so a test can kill it there and
 *       look for what it left behind, or hold it there (the event
 *       consumer) while the kernel works.
 *   DMAWATCH_TEST_FAIL_LOAD=FAMILY  that family's load fails for real (one
 *       of its own maps asked for with no room, which the kernel refuses):
 *       one family's failure must leave the others running.
 *   DMAWATCH_TEST_RING_BYTES=N      the event ring buffer has N bytes (a
 *       power of two of at least a page), so the lab can overflow it
 *       (events are sampled at the source: a storm of failures alone
 *       does not).
 *   DMAWATCH_TEST_REFUSE_FENTRY=FUNC  fentry on FUNC is refused as 6.1
 *       refuses a 7-argument function (ENOTSUPP at the trial and at
 *       attach), on kernels that would take it.
 */
#ifndef DMAWATCH_LAB_FAULTS_H
#define DMAWATCH_LAB_FAULTS_H

#include <stdbool.h>

struct bpf_object;

void test_stop_at(const char *point);
/* Before load: the ring's size (every object's copy, so that the reused
 * one matches) and the failure of the family named `family`; the maps
 * named in `shared` (shared between families) are left alone. */
void test_faults_before_load(struct bpf_object *obj, const char *family, const char *const *shared,
			     int nshared);
bool test_refuses_fentry(const char *func);

#endif
