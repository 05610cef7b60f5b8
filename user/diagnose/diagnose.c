// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch diagnose: one verdict, the evidence it rests on and the remedy.
 * Reads this machine (or a bundle, diag_collect.c), watches a short live
 * window with the probes, judges (diag_rules.c) and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/utsname.h>

#include "commands.h"
#include "diagnose/diagnose.h"
#include "engine/engine.h"
#include "engine/loop.h"
#include "family/swiotlb_rates.h"
#include "out/json.h"
#include "out/report.h"
#include "util.h"

static void diagnose_help(FILE *out)
{
	fprintf(out, "Usage: dmawatch diagnose [--window SECONDS] [--no-bpf] [--json]\n"
		     "                         [--save-bundle DIR | --bundle DIR]\n"
		     "\nOne verdict on SWIOTLB in this guest: reads the confidential-computing\n"
		     "state, the pool (debugfs), every DMA device and its queue limits, the\n"
		     "kernel log and the tasks stuck in D state, then watches a few seconds\n"
		     "with the probes. Prints the findings, most severe first, each with the\n"
		     "evidence (the kernel's own lines and figures) and the exact remedy.\n"
		     "\n  -w, --window SECONDS   live window with the probes (default 3)\n"
		     "  -n, --no-bpf           no live window: files and the kernel log only\n"
		     "  -j, --json             one JSON object (schema: dmawatch-diagnose(8))\n"
		     "  -s, --save-bundle DIR  also write everything read into DIR (new)\n"
		     "  -b, --bundle DIR       judge a saved bundle instead of this machine:\n"
		     "                         no root, no BPF; the same findings\n"
		     "\nExit status: 0 healthy, 1 problems found, 2 could not diagnose.\n"
		     "\nExamples:\n"
		     "  dmawatch diagnose                      # as root, in the guest\n"
		     "  dmawatch diagnose --save-bundle /tmp/b # for a support engineer\n"
		     "  dmawatch diagnose --bundle /tmp/b      # anywhere, later\n");
}

/* ---- the live window ---- */

/* A device's counters in one snapshot. */
struct dev_counts {
	char dev[64];
	uint64_t maps, unmaps, failures, over_limit, never_fit, never_fit_reqs;
};

struct window_ctx {
	FILE *out; /* the window's text, into text (open_memstream) */
	char *text;
	size_t len;
	unsigned ticks;
	/* The counters at the first tick (right after attaching): the window's
	 * counts are the final ones less these. */
	struct dev_counts base[DIAG_MAX_DEVS];
	int nbase;
	struct {
		char dev[64];
		char comm[16];
		uint64_t never_fit, never_fit_size, over_limit_size;
	} ev[DIAG_MAX_DEVS];
	int nev;
};

static int window_event(void *ctx, const struct dmaw_event *ev)
{
	struct window_ctx *w = ctx;
	int i;

	for (i = 0; i < w->nev && strcmp(w->ev[i].dev, ev->dev); i++)
		;
	if (i == w->nev) {
		if (w->nev == DIAG_MAX_DEVS)
			return 0;
		snprintf(w->ev[w->nev++].dev, sizeof(w->ev[0].dev), "%s", ev->dev);
	}
	if (ev->kind == DMAW_EV_NEVER_FIT) {
		w->ev[i].never_fit++;
		w->ev[i].never_fit_size = ev->size;
		snprintf(w->ev[i].comm, sizeof(w->ev[i].comm), "%s", ev->comm);
	} else if (ev->kind == DMAW_EV_OVER_LIMIT && ev->size > w->ev[i].over_limit_size) {
		w->ev[i].over_limit_size = ev->size;
	}
	return 0;
}

static void dev_counts(const struct snapshot *s, const struct dev_snapshot *d, struct dev_counts *c)
{
	/* A live row with the devices of its name that left. */
	const struct dev_snapshot *g = d->gone ? NULL : snapshot_find_dev(s, d->id.dev, true);

	memset(c, 0, sizeof(*c));
	snprintf(c->dev, sizeof(c->dev), "%s", d->id.dev);
	c->maps = dev_maps(d) + (g ? dev_maps(g) : 0);
	c->unmaps = d->sw.unmaps + (g ? g->sw.unmaps : 0);
	c->failures = d->sw.failures + (g ? g->sw.failures : 0);
	c->over_limit = d->sw.over_limit + (g ? g->sw.over_limit : 0);
	/* Every failure from the virtqueue counters; the events are sampled. */
	for (size_t k = 0; k < s->nvqs; k++)
		if (!strcmp(s->vqs[k].st.names.dev, d->id.dev)) {
			c->never_fit += s->vqs[k].st.never_fit;
			c->never_fit_reqs += s->vqs[k].st.never_fit_reqs;
		}
}

static uint64_t since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static int window_tick(void *ctx, const struct snapshot *prev, const struct snapshot *cur,
		       bool final)
{
	struct window_ctx *w = ctx;
	const struct dmaw_pool_stats *p = &cur->pool;

	(void)prev;
	if (p->flags & DMAW_POOL_OK) {
		fprintf(w->out, "pool %" PRIu64 " %u %u\n", (uint64_t)p->used, p->free_segments,
			p->largest_free_run);
		if (p->flags & DMAW_POOL_DYNAMIC)
			fprintf(w->out, "pool-grows %d slots=%" PRIu64 " transient=%" PRIu64 "\n",
				!!(p->flags & DMAW_POOL_CAN_GROW), (uint64_t)p->nslabs,
				(uint64_t)p->transient_slots);
	}
	if (!w->ticks++)
		for (size_t i = 0; i < cur->ndevs && w->nbase < DIAG_MAX_DEVS; i++)
			if (!cur->devs[i].gone ||
			    !snapshot_find_dev(cur, cur->devs[i].id.dev, false))
				dev_counts(cur, &cur->devs[i], &w->base[w->nbase++]);
	if (!final)
		return 0;
	for (size_t i = 0; i < cur->ndevs; i++) {
		const struct dev_snapshot *d = &cur->devs[i];
		struct dev_counts c, b = {};
		uint64_t never_fit_size = 0, over_size = 0;
		const char *comm = "-";

		if (!d->id.dev[0] || strchr(d->id.dev, ' '))
			continue;
		/* Counted with its live namesake (dev_counts()). */
		if (d->gone && snapshot_find_dev(cur, d->id.dev, false))
			continue;
		dev_counts(cur, d, &c);
		for (int k = 0; k < w->nbase; k++)
			if (!strcmp(w->base[k].dev, c.dev))
				b = w->base[k];
		/* Sizes and the process from the events; their count where no
		 * virtqueue counts (sampled: at least that many). */
		for (int k = 0; k < w->nev; k++)
			if (!strcmp(w->ev[k].dev, d->id.dev)) {
				if (c.never_fit == b.never_fit)
					c.never_fit = b.never_fit + w->ev[k].never_fit;
				never_fit_size = w->ev[k].never_fit_size;
				over_size = w->ev[k].over_limit_size;
				comm = w->ev[k].comm[0] ? w->ev[k].comm : "-";
			}
		fprintf(w->out,
			"device %s maps=%" PRIu64 " unmaps=%" PRIu64 " failures=%" PRIu64
			" over_limit=%" PRIu64 " never_fit=%" PRIu64 " never_fit_reqs=%" PRIu64
			" max_size=%" PRIu64 " never_fit_size=%" PRIu64 " over_limit_size=%" PRIu64
			" limit=%" PRIu64 " never_fit_comm=%s\n",
			d->id.dev, since(c.maps, b.maps), since(c.unmaps, b.unmaps),
			since(c.failures, b.failures), since(c.over_limit, b.over_limit),
			/* Requests counted at their first failure the probes
			 * saw: one already failing when they attached counts in
			 * the base, so this one is not a difference. */
			since(c.never_fit, b.never_fit), c.never_fit_reqs, (uint64_t)d->sw.max_size,
			never_fit_size, over_size, (uint64_t)d->sw.limit, comm);
	}
	return 0;
}

/* Runs the probes for SECONDS; returns the window's text (see
 * docs/diagnose-bundle.md), or a "not-run" line saying why. */
static char *run_window(const struct engine_opts *eo, double seconds)
{
	struct window_ctx w = {};
	struct loop_opts o = {
		.interval_s = 0.5, .input_fd = -1, .ctx = &w, .tick_at_start = true
	};
	struct engine_opts opts;
	struct engine e;
	char *why;
	int err;

	o.count = (uint64_t)(seconds / o.interval_s + 0.5);
	if (!o.count)
		o.count = 1;
	loop_install_signals();
	/* A one-shot window: the releases (who holds slots) are worth their
	 * cost here, whatever -D said. */
	opts = *eo;
	opts.detail = true;
	err = engine_start(&e, &opts, window_event, &w);
	if (err) {
		engine_stop(&e);
		if (asprintf(&why,
			     "not-run the probes did not load (%s): findings from files and "
			     "the kernel log only\n",
			     strerror(-err)) < 0)
			why = NULL;
		return why;
	}
	w.out = open_memstream(&w.text, &w.len);
	if (!w.out) {
		engine_stop(&e);
		return strdup("not-run out of memory\n");
	}
	fprintf(w.out, "seconds %.1f\n", seconds);
	err = run_loop(&e, &o, window_tick);
	engine_stop(&e);
	if (err)
		fprintf(w.out, "not-run the window stopped early (%s)\n", strerror(-err));
	if (fclose(w.out)) {
		free(w.text);
		return strdup("not-run out of memory\n");
	}
	return w.text;
}

/* ---- live sources that are not files ---- */

static void log_unreadable(struct bundle *b, int err)
{
	char why[160];

	snprintf(why, sizeof(why), "%s%s", strerror(err),
		 err == EPERM ? " (needs CAP_SYSLOG, or sysctl kernel.dmesg_restrict=0)" : "");
	bundle_unreadable(b, "kernel log", why);
}

static void read_kernel_log(struct bundle *b)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *out;
	int n;

	if (size <= 0 || !(buf = malloc(size + 1))) {
		log_unreadable(b, size < 0 ? errno : ENOMEM);
		return;
	}
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	if (n < 0) {
		log_unreadable(b, errno);
		free(buf);
		return;
	}
	buf[n] = 0;
	/* Without the "<level>" prefixes: the bundle reads like dmesg. */
	out = buf;
	for (char *line = buf; *line;) {
		char *end = strchrnul(line, '\n');

		if (*line == '<' && strchr(line, '>') && strchr(line, '>') < end)
			line = strchr(line, '>') + 1;
		memmove(out, line, end - line);
		out += end - line;
		if (!*end)
			break;
		*out++ = '\n';
		line = end + 1;
	}
	*out = 0;
	bundle_put(b, "dmesg", buf);
	free(buf);
}

/* ---- output ---- */

static const char *verdict(const struct diag_report *r, bool unknown)
{
	if (unknown)
		return "unknown";
	for (int i = 0; i < r->n; i++)
		if (r->f[i].severity > DIAG_INFO)
			return "problems";
	return "healthy";
}

static void print_text(FILE *out, const struct diag_facts *x, const struct diag_report *r,
		       const struct bundle *b, bool unknown)
{
	const struct diag_finding *top = r->n ? &r->f[0] : NULL;

	/* Healthy: the verdict is the healthy finding, whatever notes come
	 * before it. */
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->f[i].id, "healthy"))
			top = &r->f[i];
	if (unknown)
		fprintf(out, "verdict: could not diagnose: neither the kernel log nor the pool "
			     "could be read (run as root)\n");
	else if (top)
		fprintf(out, "verdict: %s: %s\n", verdict(r, false), top->title);
	fprintf(out, "\nkernel %s, confidential computing: %s (%s)%s%s%s\n",
		x->env.release[0] ? x->env.release : "?", x->env.cc, x->env.cc_evidence,
		x->env.forced ? ", swiotlb=" : "", x->env.forced ? x->env.swiotlb_arg : "",
		x->env.btf ? "" : ", no BTF");
	if (x->window.ran)
		fprintf(out, "live window: %.1f s with the probes\n", x->window.seconds);
	else if (x->window.why_not[0])
		fprintf(out, "live window: not run: %s\n", x->window.why_not);
	for (int i = 0; i < r->n; i++) {
		const struct diag_finding *f = &r->f[i];

		fprintf(out, "\n%-7s %s: %s\n", diag_severity_name(f->severity), f->id, f->title);
		for (int k = 0; k < f->nevidence; k++)
			fprintf(out, "        | %s\n", f->evidence[k]);
		fprintf(out, "        remedy: %s\n", f->remedy);
	}
	if (b->unreadable && *b->unreadable) {
		char source[256], why[256];

		fprintf(out, "\nnot read:\n");
		for (const char *p = b->unreadable;
		     (p = bundle_unreadable_next(p, source, sizeof(source), why, sizeof(why)));)
			fprintf(out, "  %s: %s\n", source, why);
	}
}

static void print_json(FILE *out, const struct diag_facts *x, const struct diag_report *r,
		       const struct bundle *b, bool unknown)
{
	char source[256], why[256];
	struct json j;

	json_init(&j, out);
	json_object_begin(&j, NULL);
	json_u64(&j, "schema", 1);
	json_string(&j, "verdict", verdict(r, unknown));
	json_object_begin(&j, "environment");
	json_string(&j, "kernel", x->env.release);
	json_string(&j, "cc", x->env.cc);
	json_string(&j, "cc_evidence", x->env.cc_evidence);
	json_bool(&j, "cc_active", x->env.cc_active);
	json_bool(&j, "swiotlb_forced", x->env.forced);
	json_string(&j, "swiotlb_arg", x->env.swiotlb_arg);
	json_string(&j, "lockdown", x->env.lockdown);
	json_bool(&j, "btf", x->env.btf);
	json_object_end(&j);
	json_object_begin(&j, "pool");
	if (x->pool.have_total)
		json_u64(&j, "slots_total", x->pool.total);
	if (x->pool.have_used)
		json_u64(&j, "slots_used", x->pool.used);
	if (x->pool.have_hiwater)
		json_u64(&j, "slots_hiwater", x->pool.hiwater);
	if (x->pool.have_transient)
		json_u64(&j, "slots_transient", x->pool.transient);
	json_bool(&j, "grows", x->pool.grows);
	json_u64(&j, "boot_mb", x->pool.boot_mb);
	json_u64(&j, "areas", x->pool.areas);
	json_array_begin(&j, "restricted_pools");
	for (int k = 0; k < x->pool.nrestricted; k++)
		json_string(&j, NULL, x->pool.restricted[k]);
	json_array_end(&j);
	json_object_end(&j);
	json_array_begin(&j, "devices");
	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];

		json_object_begin(&j, NULL);
		json_string(&j, "device", d->name);
		json_string(&j, "driver", d->driver);
		json_string(&j, "bus", d->bus);
		if (d->virtio[0]) {
			json_string(&j, "virtio", d->virtio);
			json_string(&j, "virtio_driver", d->virtio_driver);
			if (d->access_platform >= 0)
				json_bool(&j, "access_platform", d->access_platform);
		}
		if (d->disk[0]) {
			json_string(&j, "disk", d->disk);
			json_u64(&j, "max_sectors_kb", d->max_sectors_kb);
			json_u64(&j, "max_hw_sectors_kb", d->max_hw_sectors_kb);
			json_u64(&j, "max_segment_size", d->max_segment_size);
			json_u64(&j, "max_segments", d->max_segments);
			json_u64(&j, "inflight", d->inflight);
		}
		if (d->iommu_group >= 0) {
			json_i64(&j, "iommu_group", d->iommu_group);
			json_array_begin(&j, "reserved_regions");
			for (int k = 0; k < d->nreserved; k++)
				json_string(&j, NULL, d->reserved_regions[k]);
			json_array_end(&j);
		}
		json_u64(&j, "mapping_limit", d->limit);
		if (d->limit_why[0])
			json_string(&j, "mapping_limit_why", d->limit_why);
		json_u64(&j, "buffer_full_lines", d->full_lines);
		json_u64(&j, "io_error_lines", d->io_errors);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_begin(&j, "log");
	json_bool(&j, "read", x->have_log);
	json_u64(&j, "lines", x->log.lines);
	json_u64(&j, "bytes", x->log.bytes);
	json_object_end(&j);
	json_object_begin(&j, "window");
	json_bool(&j, "ran", x->window.ran);
	if (x->window.ran) {
		json_double(&j, "seconds", x->window.seconds);
		json_u64(&j, "slots_used_min", x->window.used_min);
		json_u64(&j, "slots_used_max", x->window.used_max);
	} else {
		json_string(&j, "why_not", x->window.why_not);
	}
	json_object_end(&j);
	json_array_begin(&j, "findings");
	for (int i = 0; i < r->n; i++) {
		const struct diag_finding *f = &r->f[i];

		json_object_begin(&j, NULL);
		json_string(&j, "id", f->id);
		json_string(&j, "severity", diag_severity_name(f->severity));
		json_string(&j, "title", f->title);
		if (f->device[0])
			json_string(&j, "device", f->device);
		json_array_begin(&j, "evidence");
		for (int k = 0; k < f->nevidence; k++)
			json_string(&j, NULL, f->evidence[k]);
		json_array_end(&j);
		json_string(&j, "remedy", f->remedy);
		json_string(&j, "remedy_class", f->remedy_class ? f->remedy_class : "none");
		if (f->swiotlb)
			json_u64(&j, "swiotlb", f->swiotlb);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "unreadable");
	for (const char *p = b->unreadable;
	     (p = bundle_unreadable_next(p, source, sizeof(source), why, sizeof(why)));) {
		json_object_begin(&j, NULL);
		json_string(&j, "source", source);
		json_string(&j, "reason", why);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_end_line(&j);
}

/* With --json, a run that could not diagnose still prints one object:
 * scripts read the verdict, never an empty line. */
static int fail_json(bool json, bool said, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_json(bool json, bool said, const char *fmt, ...)
{
	char why[512];
	struct json j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!said)
		dmaw_warn("%s", why);
	if (json) {
		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_u64(&j, "schema", 1);
		json_string(&j, "verdict", "error");
		json_string(&j, "error", why);
		json_object_end(&j);
		json_end_line(&j);
	}
	return 2;
}

int cmd_diagnose(const struct engine_opts *eo, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "window", required_argument, NULL, 'w' },
		{ "no-bpf", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "save-bundle", required_argument, NULL, 's' },
		{ "bundle", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *replay = NULL, *save = NULL;
	double window_s = 3;
	bool json = false, no_bpf = false, unknown;
	struct diag_facts *facts;
	struct diag_report *report;
	struct bundle b;
	char *window;
	int c, ret;

	for (int i = 1; i < argc; i++)
		json |= !strcmp(argv[i], "--json") || !strcmp(argv[i], "-j");
	while ((c = getopt_long(argc, argv, ":w:njs:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (!parse_seconds(optarg, 600, &window_s))
				return fail_json(json, false,
						 "bad --window '%s': seconds, e.g. 3 (at "
						 "most 600)",
						 optarg);
			break;
		case 'n': no_bpf = true; break;
		case 'j': json = true; break;
		case 's': save = optarg; break;
		case 'b': replay = optarg; break;
		case 'h': diagnose_help(stdout); return 0;
		default:
			ret = bad_option("diagnose", c, argv);
			return json ? fail_json(json, true,
						"bad option: see 'dmawatch diagnose "
						"--help'") :
				      ret;
		}
	}
	if (optind < argc)
		return fail_json(json, false, "unexpected argument '%s'", argv[optind]);
	if (replay && save)
		return fail_json(json, false,
				 "--bundle and --save-bundle exclude each other: a "
				 "bundle is saved from a live machine");
	if (bundle_open(&b, replay, save))
		return fail_json(json, true, "%s", b.error);
	facts = calloc(1, sizeof(*facts));
	report = calloc(1, sizeof(*report));
	if (!facts || !report) {
		dmaw_warn("out of memory");
		bundle_close(&b, false);
		return 2;
	}
	if (!replay) {
		struct utsname u;

		if (!uname(&u))
			bundle_put(&b, "uname-r", u.release);
	}
	/* The tasks stuck now, before the probes; then the window: the limits
	 * the probes read from each device are what the log's refusals are
	 * judged against, and the log read after it holds what it saw. */
	diag_collect_tasks(&b, facts);
	if (replay)
		window = bundle_get(&b, "window", 1 << 20);
	else if (no_bpf)
		window = strdup("not-run --no-bpf\n");
	else
		window = run_window(eo, window_s);
	if (window) {
		if (!replay)
			bundle_put(&b, "window", window);
		diag_parse_window(facts, window);
		free(window);
	} else {
		snprintf(facts->window.why_not, sizeof(facts->window.why_not), "not in the bundle");
	}
	if (!replay)
		read_kernel_log(&b);
	diag_collect(&b, facts);
	diag_judge(facts, report);
	unknown = diag_unknown(facts);
	if (json)
		print_json(stdout, facts, report, &b, unknown);
	else
		print_text(stdout, facts, report, &b, unknown);
	if (unknown)
		dmaw_warn("could not diagnose: neither the kernel log nor the pool could be read "
			  "(run as root; 'not read' says why)");
	ret = unknown ? 2 : !strcmp(verdict(report, false), "healthy") ? 0 : 1;
	if (bundle_close(&b, true))
		ret = 2;
	free(facts);
	free(report);
	return ret;
}
