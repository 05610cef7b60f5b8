// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch top, also run as dmatop: the live view an operator opens first
 * when a confidential guest's IO slows down or hangs. One frame says which
 * device bounces how much (a row per device), whether the pool is about to
 * run out (the gauge) and what is failing (the latest events).
 *
 * The engine, the interval loop and the per-device arithmetic are stat's
 * (engine.c, loop.c, report.c); the kind of guest is cc.c. This file reads
 * the options and runs the loop, whose ticks hand each interval to the
 * model of a frame (topmodel.c). top_draw.c lays the frame out on a canvas
 * (canvas.c), which goes to the terminal through top_term.c or, in batch
 * mode, to stdout as text; so both modes show the same thing.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cc.h"
#include "commands.h"
#include "engine/engine.h"
#include "engine/loop.h"
#include "out/json.h"
#include "out/report.h"
#include "top/canvas.h"
#include "top/top.h"
#include "top/topmodel.h"
#include "util.h"

static int on_event(void *ctx, const struct dmaw_event *ev)
{
	struct top *t = ctx;
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	top_events_add(&t->events, ev, &mono, &real);
	return 0;
}

/* kill(2) with no signal fails with ESRCH when no process has the pid. */
static bool pid_exited(__u32 pid)
{
	return kill(pid, 0) && errno == ESRCH;
}

static int tick(void *ctx, const struct snapshot *prev, const struct snapshot *cur, bool final)
{
	struct top *t = ctx;

	(void) final;
	if (!t->paused) {
		if (prev)
			snapshot_copy(t->prev, prev);
		snapshot_copy(t->cur, cur);
		t->have_prev = prev != NULL;
		t->have_cur = true;
		top_procs_rank(&t->procs, t->have_prev ? t->prev : NULL, t->cur);
	}
	if (!t->batch) {
		top_term_redraw(t);
		return 0;
	}
	/* Batch frames are intervals: the zero frame at start has no rates. */
	if (!prev)
		return 0;
	if (t->json) {
		report_json(&t->j, prev, cur);
		t->err = ferror(stdout) ? -EIO : 0;
	} else {
		t->err = top_draw_batch(t);
	}
	return t->err;
}

static void top_help(FILE *out)
{
	fprintf(out,
		"Usage: dmatop [-b [--json]] [-d SECONDS] [-n COUNT] [-f TEXT] [-v] [-K] [-D] [-F LIST]\n"
		"       dmawatch top [OPTIONS]\n"
		"\nThe live view of SWIOTLB bounce buffering: the guest (SEV, SEV-ES, SEV-SNP,\n"
		"TDX or none) and whether every DMA bounces, the pool's occupancy and largest\n"
		"free run, one row per device (bytes bounced each way per second, mappings,\n"
		"average and largest mapping, failures, mappings over the limit, requests\n"
		"that can never fit the pool, share of the pool held), the latest failure\n"
		"events and the processes that bounce most. Keys: q quit, s/S sort, / filter,\n"
		"p pause, d size histogram, j/k select, h help.\n"
		"\n  -d, --delay SECONDS  refresh interval (default 1, fractions allowed)\n"
		"  -n, --iterations N   stop after N refreshes\n"
		"  -b, --batch          text frames to stdout, one per interval (like top -b)\n"
		"  -j, --json           with -b: one JSON object per interval, as 'dmawatch\n"
		"                       stat --json' prints it\n"
		"  -f, --filter TEXT    only devices whose name or driver contains TEXT\n"
		"  -v, -K, -D, -F LIST  as for dmawatch: verbose, kprobes, detail (the\n"
		"                       process panel and held bytes), probe families\n"
		"\nExamples:\n"
		"  dmatop                      # the live view; h for help\n"
		"  dmatop -b -d 5 -n 12        # a minute of text frames, for a report\n"
		"  dmatop -b --json -n 1 | jq  # one interval for a script\n");
}

/* Reads the command line into t, o and eo (the engine's options, which
 * dmatop takes among its own). Returns -1 when dmatop is to run, else the
 * status to exit with: 0 after --help, 2 after a mistake. */
static int parse_options(struct top *t, struct loop_opts *o, struct engine_opts *eo, int argc,
			 char **argv)
{
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "filter", required_argument, NULL, 'f' },
		ENGINE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	uint64_t count;
	int c;

	while ((c = getopt_long(argc, argv, ":d:n:bjf:" ENGINE_SHORTOPTS "h", opts, NULL)) != -1) {
		int r = engine_option(eo, c, optarg);

		if (r < 0)
			return 2;
		if (r)
			continue;
		switch (c) {
		case 'd':
			if (!parse_seconds(optarg, 86400, &o->interval_s) || o->interval_s < 0.1) {
				dmaw_warn("top: bad delay '%s': seconds from 0.1, e.g. 1 or 2.5",
					  optarg);
				return 2;
			}
			break;
		case 'n':
			if (!parse_u64(optarg, 1, UINT64_MAX, &count)) {
				dmaw_warn("top: bad count '%s': a whole number of refreshes",
					  optarg);
				return 2;
			}
			o->count = count;
			break;
		case 'b': t->batch = true; break;
		case 'j': t->json = t->batch = true; break;
		case 'f': snprintf(t->filter, sizeof(t->filter), "%s", optarg); break;
		case 'h': top_help(stdout); return 0;
		default: return bad_option("top", c, argv);
		}
	}
	if (optind < argc) {
		dmaw_warn("top: unexpected argument '%s' (the interval is -d SECONDS)",
			  argv[optind]);
		return 2;
	}
	if (!t->batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		dmaw_warn("top: the live view needs a terminal; -b prints text frames instead");
		return 2;
	}
	return -1;
}

/* Shows the intervals until q, Ctrl-C or the last refresh. Returns 0 or a
 * negative errno, explained on stderr; -EIO, stdout failing (a closed
 * pipe), ends dmatop without a message. */
static int run(struct top *t, struct engine *e, struct loop_opts *o)
{
	int err;

	if (!t->batch) {
		err = top_term_start(t); /* it explains its own failures */
		if (err)
			return err;
		o->input_fd = t->epfd;
		o->on_input = top_term_input;
	}
	o->ctx = t;
	err = run_loop(e, o, tick);
	if (!err)
		err = t->err;
	/* The terminal first, so the message can be read. */
	top_term_stop(t);
	if (err && err != -EIO)
		dmaw_warn("top: %s", strerror(-err));
	return err;
}

int cmd_top(const struct engine_opts *global, int argc, char **argv)
{
	struct engine_opts eo = *global;
	struct top *t = calloc(1, sizeof(*t));
	struct snapshot *snaps = calloc(2, sizeof(*snaps));
	struct loop_opts o = { .interval_s = 1, .input_fd = -1, .tick_at_start = true };
	struct utsname u;
	struct engine e;
	bool started = false;
	int err, status;

	if (!t || !snaps) {
		dmaw_warn("top: out of memory");
		status = 2;
		goto cleanup;
	}
	t->prev = &snaps[0];
	t->cur = &snaps[1];
	t->epfd = t->winch_pipe[0] = t->winch_pipe[1] = -1;
	t->procs.exited = pid_exited;
	status = parse_options(t, &o, &eo, argc, argv);
	if (status >= 0)
		goto cleanup;

	snprintf(t->kernel, sizeof(t->kernel), "%s", uname(&u) ? "?" : u.release);
	cc_detect(&t->cc);
	json_init(&t->j, stdout);
	if (t->batch)
		signal(SIGPIPE, SIG_IGN); /* a closed pipe ends the loop, cleanly */
	/* Before ncurses: it leaves handlers that exist alone, so Ctrl-C and
	 * SIGTERM end the loop and the cleanup below runs. */
	loop_install_signals();
	if (!t->batch)
		fprintf(stderr, "dmatop: attaching probes...\n");
	err = engine_start(&e, &eo, on_event, t); /* it explains its own failures */
	started = true;
	/* Ctrl-C while attaching ends dmatop without an error. */
	if (!err && !loop_stopping())
		err = run(t, &e, &o);
	status = err ? 1 : 0;
cleanup:
	/* The terminal first, so the messages of the teardown can be read. */
	if (t)
		top_term_stop(t);
	if (started)
		engine_stop(&e);
	if (t)
		canvas_free(&t->cv);
	free(t);
	free(snaps);
	return status;
}
