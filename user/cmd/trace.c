// SPDX-License-Identifier: GPL-2.0
/* dmawatch trace: over-limit, failed and never-fitting mappings as they
 * happen, with the kernel stack that asked for them. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/ksyms.h"
#include "engine/loop.h"
#include "family/family.h"
#include "out/fmt.h"
#include "out/json.h"
#include "out/report.h"
#include "out/stack.h"
#include "util.h"

static void trace_help(FILE *out)
{
	fprintf(out, "Usage: dmawatch trace [--json] [--no-stack]\n"
		     "\nStreams one record per mapping over the SWIOTLB limit, per failed\n"
		     "bounced mapping (sampled when a starved pool fails thousands of times a\n"
		     "second: the counters of 'dmawatch stat' keep every one), per request that\n"
		     "can never fit the pool, and per failed virtqueue add, with process,\n"
		     "device, size, limit, slots and the kernel stack; and, while 'dmawatch\n"
		     "enforce' runs, a record per disk whose bios it denied (or would have)\n"
		     "within the second, with the latest one. Stops on Ctrl-C/SIGTERM.\n"
		     "\n  -j, --json      one JSON object per event\n"
		     "  -S, --no-stack  leave the kernel stack out\n");
}

struct trace_ctx {
	bool json, stack;
	struct json j;
	const struct ksyms *ks;
	__u64 drops_seen;
};

static int print_event(void *arg, const struct dmaw_event *ev)
{
	struct trace_ctx *c = arg;
	int depth = c->stack ? stack_depth(ev->stack_len) : 0;
	if (c->json) {
		struct json *j = &c->j;

		json_object_begin(j, NULL);
		json_double(j, "time_s", ev->ts_ns / 1e9);
		json_string(j, "kind", event_kind_name(ev->kind));
		json_string(j, "source", event_source_name(ev->source));
		json_u64(j, "pid", ev->pid);
		json_string(j, "comm", ev->comm);
		json_string(j, "device", ev->dev);
		json_string(j, "driver", ev->driver);
		if (ev->vq[0])
			json_string(j, "vq", ev->vq);
		json_u64(j, "size", ev->size);
		json_u64(j, "limit", ev->limit);
		json_u64(j, "slots_needed", ev->slots_needed);
		json_u64(j, "slots_total", ev->slots_total);
		json_u64(j, "slots_used", ev->slots_used);
		json_i64(j, "err", ev->err);
		json_u64(j, "retries", ev->retries);
		json_stack(j, "stack", c->ks, ev->stack, depth);
		json_object_end(j);
		json_end_line(j);
		return 0;
	}
	printf("%.6f %-10s %-16s %6u %-14s %-16s size=%llu limit=%llu slots=%u/%u used=%u",
	       ev->ts_ns / 1e9, event_kind_name(ev->kind), ev->comm, ev->pid,
	       event_source_name(ev->source), ev->dev, (unsigned long long)ev->size,
	       (unsigned long long)ev->limit, ev->slots_needed, ev->slots_total, ev->slots_used);
	if (ev->vq[0])
		printf(" vq=%s", ev->vq);
	if (ev->err)
		printf(" err=%d", ev->err);
	if (ev->retries)
		printf(" retries=%u", ev->retries);
	putchar('\n');
	text_stack(stdout, c->ks, ev->stack, depth);
	fflush(stdout);
	return 0;
}

/* Reports event drops as they grow; never silent. */
static int trace_tick(void *arg, const struct snapshot *prev, const struct snapshot *cur,
		      bool final)
{
	struct trace_ctx *c = arg;
	struct trace_out t = { .json = c->json, .stack = c->stack, .j = &c->j, .ks = c->ks };

	(void) final;
	for (size_t i = 0; i < FAMILY_IDS; i++)
		if (family_table[i]->view.trace)
			family_table[i]->view.trace(&t, prev, cur);
	if (cur->event_drops > c->drops_seen) {
		fprintf(stderr, "dmawatch: %llu events dropped (ring buffer full)\n",
			(unsigned long long)(cur->event_drops - c->drops_seen));
		c->drops_seen = cur->event_drops;
	}
	return 0;
}

int cmd_trace(const struct engine_opts *eo, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-stack", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct trace_ctx ctx = { .stack = true };
	struct loop_opts o = { .interval_s = 1, .input_fd = -1, .ctx = &ctx };
	struct engine e;
	int c, err;

	while ((c = getopt_long(argc, argv, ":jSh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctx.json = true; break;
		case 'S': ctx.stack = false; break;
		case 'h': trace_help(stdout); return 0;
		default: return bad_option("trace", c, argv);
		}
	}
	if (optind < argc) {
		dmaw_warn("trace: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	json_init(&ctx.j, stdout);
	loop_install_signals();
	err = engine_start(&e, eo, print_event, &ctx);
	if (!err) {
		ctx.ks = e.ksyms;
		fprintf(stderr, "dmawatch: tracing; Ctrl-C to stop\n");
		err = run_loop(&e, &o, trace_tick);
	}
	engine_stop(&e);
	return err ? 1 : 0;
}
