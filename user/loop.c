// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

void loop_install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

bool loop_stopping(void)
{
	return stop_signal != 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Events until the deadline (or a signal, or input). */
static int wait_until(struct engine *e, const struct loop_opts *o, double deadline)
{
	for (;;) {
		double left = deadline - now_s();
		int ms;

		if (left <= 0 || stop_signal)
			return 0;
		ms = left > 0.1 ? 100 : (int)(left * 1000) + 1;
		if (o->input_fd >= 0) {
			struct pollfd pfd = { .fd = o->input_fd, .events = POLLIN };

			if (poll(&pfd, 1, 0) > 0 && o->on_input && o->on_input(o->ctx))
				return 1;
		}
		if (engine_poll(e, ms) < 0 && errno != EINTR)
			return -1;
	}
}

int run_loop(struct engine *e, const struct loop_opts *o, tick_fn tick)
{
	struct snapshot *snaps = calloc(2, sizeof(*snaps));
	struct snapshot *prev = &snaps[0], *cur = &snaps[1], *tmp;
	bool have_prev = false;
	double next;
	uint64_t n = 0;
	int rc = 0;

	if (!snaps)
		return -ENOMEM;
	if (o->tick_at_start) {
		engine_read(e, prev);
		have_prev = true;
		if (tick(o->ctx, NULL, prev, false))
			goto out;
	}
	next = now_s() + o->interval_s;
	for (;;) {
		int w = wait_until(e, o, next);
		bool final;

		if (w < 0) {
			rc = -errno;
			break;
		}
		engine_read(e, cur);
		n++;
		final = w > 0 || stop_signal || (o->count && n >= o->count);
		if (tick(o->ctx, have_prev ? prev : NULL, cur, final) || final)
			break;
		tmp = prev;
		prev = cur;
		cur = tmp;
		have_prev = true;
		next += o->interval_s;
		/* A slow tick (a stalled terminal) skips, it does not burst. */
		if (next < now_s())
			next = now_s() + o->interval_s;
	}
out:
	free(snaps);
	return rc;
}
