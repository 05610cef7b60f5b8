// SPDX-License-Identifier: GPL-2.0
/* dmawatch stat: per-device bounce counters, like iostat. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/loop.h"
#include "out/json.h"
#include "out/report.h"
#include "util.h"

static void stat_help(FILE *out)
{
	fprintf(out,
		"Usage: dmawatch stat [--json] [INTERVAL [COUNT]]\n"
		"\nEvery INTERVAL seconds (default 1), prints the SWIOTLB pool, one row per\n"
		"device that bounced (mappings and bytes per second, average and largest\n"
		"mapping, failures, mappings over the SWIOTLB limit, requests that can\n"
		"never fit the pool) and one row per virtqueue. Stops after COUNT reports\n"
		"or on Ctrl-C / SIGTERM, printing a final report.\n"
		"\n  -j, --json   one JSON object per report, counters cumulative since start\n"
		"\nExamples:\n"
		"  dmawatch stat              # every second until Ctrl-C\n"
		"  dmawatch stat 5 12         # every 5 s for a minute\n"
		"  dmawatch stat --json 1 10  # for scripts\n");
}

struct stat_ctx {
	bool json;
	struct json j;
};

static int stat_tick(void *ctx, const struct snapshot *prev, const struct snapshot *cur, bool final)
{
	struct stat_ctx *c = ctx;

	(void) final;
	if (c->json)
		report_json(&c->j, prev, cur);
	else
		report_text(stdout, prev, cur);
	return 0;
}

/* Parses [INTERVAL [COUNT]] after the options; shared with export and top. */
int parse_interval_args(int argc, char **argv, int first, struct loop_opts *o)
{
	uint64_t count;

	if (first < argc && !parse_seconds(argv[first], 86400, &o->interval_s)) {
		dmaw_warn("bad interval '%s': seconds, e.g. 1 or 0.5", argv[first]);
		return -1;
	}
	if (first + 1 < argc) {
		if (!parse_u64(argv[first + 1], 1, UINT64_MAX, &count)) {
			dmaw_warn("bad count '%s': a whole number of reports", argv[first + 1]);
			return -1;
		}
		o->count = count;
	}
	if (first + 2 < argc) {
		dmaw_warn("unexpected argument '%s'", argv[first + 2]);
		return -1;
	}
	return 0;
}

int cmd_stat(const struct engine_opts *eo, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct stat_ctx ctx = {};
	struct loop_opts o = { .interval_s = 1, .input_fd = -1, .ctx = &ctx };
	struct engine e;
	int c, err;

	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctx.json = true; break;
		case 'h': stat_help(stdout); return 0;
		default: return bad_option("stat", c, argv);
		}
	}
	if (parse_interval_args(argc, argv, optind, &o))
		return 2;
	json_init(&ctx.j, stdout);
	/* The first, all-zero report says "attached" to whoever waits for it. */
	o.tick_at_start = true;
	loop_install_signals();
	err = engine_start(&e, eo, NULL, NULL);
	if (!err)
		err = run_loop(&e, &o, stat_tick);
	engine_stop(&e);
	return err ? 1 : 0;
}
