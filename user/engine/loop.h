/* SPDX-License-Identifier: GPL-2.0 */
/* The one interval loop stat, trace, top and export run on: wait out an
 * interval in one epoll set (the ring buffer, the command's input fd)
 * while delivering events, read a snapshot, hand over (previous, current),
 * stop on SIGINT/SIGTERM/SIGHUP or after `count` intervals. And the one
 * stop path: the same signals end loop_ring(), enforce's loop over its own
 * ring buffer. */
#ifndef DMAWATCH_LOOP_H
#define DMAWATCH_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

/* Called once per interval; `final` is set for the last call (count reached
 * or a signal). Return non-zero to stop. prev is NULL on the first call. */
typedef int (*tick_fn)(void *ctx, const struct snapshot *prev, const struct snapshot *cur,
		       bool final);

struct loop_opts {
	double interval_s;
	uint64_t count;             /* 0: until signalled */
	bool tick_at_start;         /* a first (zero) tick right after attaching */
	int input_fd;               /* -1, or an fd to watch: dmatop's keyboard, export's clients */
	int (*on_input)(void *ctx); /* non-zero: stop */
	void *ctx;
};

int run_loop(struct engine *e, const struct loop_opts *o, tick_fn tick);
/* Installs the handlers run_loop stops on; true once one fired. */
void loop_install_signals(void);
bool loop_stopping(void);
/* Delivers rb's events as they come until one of those signals: 0, or
 * -errno when the ring buffer cannot be read. */
struct ring_buffer;
int loop_ring(struct ring_buffer *rb);

#endif
