// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "engine/loop.h"
#include "util.h"

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

int loop_ring(struct ring_buffer *rb)
{
	struct epoll_event ev;
	int fd = ring_buffer__epoll_fd(rb), n;

	while (!stop_signal) {
		/* No timeout: a signal interrupts the wait (no SA_RESTART). */
		if (epoll_wait(fd, &ev, 1, -1) < 0 && errno != EINTR)
			return -errno;
		n = ring_buffer__consume(rb);
		if (n < 0 && n != -EINTR)
			return n;
	}
	n = ring_buffer__consume(rb);
	return n < 0 && n != -EINTR ? n : 0;
}

enum { SRC_EVENTS = 1, SRC_INPUT = 2 };

/* One epoll set for everything the loop waits on: the ring buffer's epoll
 * fd and the command's input (dmatop's terminal, export's HTTP clients),
 * woken by whichever is ready, by a signal, or at the deadline. No tick. */
static int loop_epoll(struct engine *e, const struct loop_opts *o)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0)
		return -errno;
	ev.data.u32 = SRC_EVENTS;
	if (engine_event_fd(e) >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, engine_event_fd(e), &ev))
		goto fail;
	ev.data.u32 = SRC_INPUT;
	if (o->input_fd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, o->input_fd, &ev))
		goto fail;
	return epfd;
fail:
	ev.data.u32 = errno;
	close(epfd);
	return -(int)ev.data.u32;
}

/* Events and input until the deadline, a signal, or input that says stop
 * (1). -errno on failure. */
static int wait_until(struct engine *e, const struct loop_opts *o, int epfd, double deadline)
{
	for (;;) {
		double left = deadline - mono_s();
		struct epoll_event evs[2];
		int n;

		if (left <= 0 || stop_signal)
			return 0;
		/* Rounded up: waking a hair early would only loop once more. */
		n = epoll_wait(epfd, evs, 2, left > 86400 ? 86400000 : (int)(left * 1000) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == SRC_EVENTS && engine_consume(e) < 0)
				return -errno;
			if (evs[i].data.u32 == SRC_INPUT && o->on_input && o->on_input(o->ctx))
				return 1;
		}
	}
}

int run_loop(struct engine *e, const struct loop_opts *o, tick_fn tick)
{
	struct snapshot *snaps = calloc(2, sizeof(*snaps));
	struct snapshot *prev = &snaps[0], *cur = &snaps[1], *tmp;
	bool have_prev = false;
	double next;
	uint64_t n = 0;
	int rc = 0, epfd;

	if (!snaps)
		return -ENOMEM;
	epfd = loop_epoll(e, o);
	if (epfd < 0) {
		free(snaps);
		return epfd;
	}
	if (o->tick_at_start) {
		engine_read(e, prev);
		have_prev = true;
		if (tick(o->ctx, NULL, prev, false))
			goto out;
	}
	next = mono_s() + o->interval_s;
	for (;;) {
		int w = wait_until(e, o, epfd, next);
		bool final;

		if (w < 0) {
			rc = w;
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
		if (next < mono_s())
			next = mono_s() + o->interval_s;
	}
out:
	close(epfd);
	free(snaps);
	return rc;
}
