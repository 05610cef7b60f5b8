// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch export: the counters for Prometheus, as a textfile for
 * node_exporter's textfile collector and/or on /metrics over HTTP. The
 * metric text comes from prom.c; this file owns when and where it goes.
 *
 * The textfile is replaced atomically: written to a temporary file in the
 * same directory (a name node_exporter ignores: it only reads *.prom),
 * fsync'ed, renamed over DIR/dmawatch.prom, and the directory fsync'ed, so
 * a scrape sees the old file or the new one, never a part, even across a
 * crash. Temporary files a killed exporter left are removed on start.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/loop.h"
#include "out/http.h"
#include "out/prom.h"
#include "out/textfile.h"
#include "util.h"

static void export_help(FILE *out)
{
	fprintf(out, "Usage: dmawatch export [--textfile-dir DIR] [--listen [ADDR:]PORT]\n"
		     "                       [--interval SECONDS] [--once] [INTERVAL [COUNT]]\n"
		     "\nExports the counters of 'dmawatch stat' in the Prometheus text format:\n"
		     "right after attaching and then every interval (default 15 s), it replaces\n"
		     "DIR/" PROM_FILE " for node_exporter's textfile collector (atomically: a\n"
		     "scrape never sees a partial file), and/or serves the same text on\n"
		     "http://ADDR:PORT/metrics. Counters are cumulative since the probes were\n"
		     "attached. On SIGTERM or Ctrl-C it writes a last file with dmawatch_up 0.\n"
		     "\n  -d, --textfile-dir DIR   write DIR/" PROM_FILE "\n"
		     "  -l, --listen [ADDR:]PORT serve /metrics over HTTP; ADDR defaults to\n"
		     "                           127.0.0.1 (IPv6: [::1]:PORT)\n"
		     "  -i, --interval SECONDS   seconds between writes (default 15)\n"
		     "  -1, --once               wait one interval after attaching, write, exit\n"
		     "\nExamples:\n"
		     "  dmawatch export --textfile-dir /var/lib/prometheus/node-exporter\n"
		     "  dmawatch export --listen 9435\n"
		     "  dmawatch export --textfile-dir /tmp/prom --once --interval 5\n"
		     "\nSee dmawatch-export(8) for the metric names.\n");
}

/* ---- the exporter ---------------------------------------------------------- */

struct export_ctx {
	struct engine *e;
	struct textfile tf;
	bool have_tf;
	struct http http;
	bool have_http;
	struct snapshot *last, *work; /* the last rendered (monotonic) one, scratch */
	bool have_last;
	char *text;
	size_t text_len;
	double started_at;
	bool once, failed;
};

/* The loop's input callback: whatever the epoll set has ready. */
static int http_on_input(void *ctx)
{
	struct export_ctx *x = ctx;

	http_serve(&x->http);
	return 0;
}

static void fill_health(struct export_ctx *x, struct prom_health *h, const struct snapshot *cur,
			bool up)
{
	memset(h, 0, sizeof(*h));
	h->up = up;
	/* The snapshot's read time, on the wall clock. */
	h->collected_at = mono_to_wall(cur->time_s);
	h->started_at = x->started_at;
	h->version = DMAWATCH_VERSION;
	for (size_t i = 0; i < x->e->nruns && i < PROM_MAX_FAMILIES; i++) {
		h->families[i].name = x->e->runs[i].ops->name;
		h->families[i].attached = x->e->runs[i].running;
		h->nfamilies++;
	}
	h->notes = x->e->notes;
	h->nnotes = x->e->nnotes;
}

static int export_tick(void *ctx, const struct snapshot *prev, const struct snapshot *cur,
		       bool final)
{
	struct export_ctx *x = ctx;
	struct snapshot *last;
	struct prom_health h;
	char *text = NULL;
	size_t len = 0;
	int err;

	(void)prev;
	snapshot_copy(x->work, cur);
	prom_fold_departed(x->work);
	if (x->have_last)
		prom_keep_monotonic(x->work, x->last);
	/* Stopped by a signal: the file left behind says so. */
	fill_health(x, &h, cur, !(final && loop_stopping()));
	err = prom_render_text(x->work, &h, &text, &len);
	if (err) {
		dmaw_warn("export: cannot render the metrics: %s", strerror(-err));
		x->failed = true;
		return x->once;
	}
	if (x->have_tf) {
		err = textfile_write(&x->tf, text, len);
		if (err && err != -x->tf.last_err)
			dmaw_warn("cannot write %s/" PROM_FILE ": %s%s", x->tf.path, strerror(-err),
				  x->once ? "" : " (keeps trying every interval)");
		else if (!err && x->tf.last_err)
			dmaw_warn("writing %s/" PROM_FILE " works again", x->tf.path);
		x->tf.last_err = -err;
		if (err)
			x->failed = true;
	}
	free(x->text);
	x->text = text;
	x->text_len = len;
	/* Clients past their deadline are closed by the server's own timer. */
	http_set_text(&x->http, text, len);
	/* What was rendered is the next tick's last; the old last is scratch. */
	last = x->last;
	x->last = x->work;
	x->work = last;
	x->have_last = true;
	return 0;
}

int cmd_export(const struct engine_opts *eo, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "textfile-dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct export_ctx x = { .tf.dirfd = -1, .http.lfd = -1, .http.epfd = -1, .http.tfd = -1 };
	struct loop_opts o = { .interval_s = 15, .input_fd = -1, .ctx = &x };
	const char *dir = NULL, *listen_spec = NULL, *interval = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct engine e;
	int c, err, rc = 1;

	while ((c = getopt_long(argc, argv, ":d:l:i:1h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'l': listen_spec = optarg; break;
		case 'i': interval = optarg; break;
		case '1': x.once = true; break;
		case 'h': export_help(stdout); return 0;
		default: return bad_option("export", c, argv);
		}
	}
	if (parse_interval_args(argc, argv, optind, &o))
		return 2;
	if (interval) {
		if (optind < argc) {
			dmaw_warn("interval given twice ('--interval %s' and '%s')", interval,
				  argv[optind]);
			return 2;
		}
		if (!parse_seconds(interval, 86400, &o.interval_s)) {
			dmaw_warn("bad interval '%s': seconds, e.g. 15 or 0.5", interval);
			return 2;
		}
	}
	if (x.once) {
		if (o.count > 1) {
			dmaw_warn("--once and a COUNT of %llu contradict each other",
				  (unsigned long long)o.count);
			return 2;
		}
		o.count = 1;
	}
	if (!dir && !listen_spec) {
		dmaw_warn("export: say where to: --textfile-dir DIR and/or --listen [ADDR:]PORT "
			  "(see 'dmawatch export --help')");
		return 2;
	}
	if (listen_spec && http_parse_listen(listen_spec, &ss, &sslen)) {
		dmaw_warn("bad --listen address '%s': PORT, ADDR:PORT or [ADDR6]:PORT with a "
			  "numeric address, e.g. 9435 or 127.0.0.1:9435",
			  listen_spec);
		return 2;
	}

	/* Everything that can fail for the user's reasons fails before the
	 * probes are loaded, which takes seconds. */
	x.e = &e;
	x.started_at = wall_s();
	memset(&e, 0, sizeof(e));
	x.last = calloc(1, sizeof(*x.last));
	x.work = calloc(1, sizeof(*x.work));
	if (!x.last || !x.work) {
		dmaw_warn("export: out of memory");
		goto out_nostop;
	}
	if (dir) {
		if (textfile_open(&x.tf, dir, eo->verbose))
			goto out_nostop;
		x.have_tf = true;
	}
	if (listen_spec) {
		if (http_open(&x.http, &ss, sslen, listen_spec))
			goto out_nostop;
		x.have_http = true;
		o.input_fd = x.http.epfd;
		o.on_input = http_on_input;
	}
	/* A client that hangs up mid-response must not kill the exporter. */
	signal(SIGPIPE, SIG_IGN);
	loop_install_signals();
	/* Continuous: a first file right after attaching (it also tells
	 * whoever waits that the probes are in). --once: only after one
	 * interval, so the counters cover a real window. */
	o.tick_at_start = !x.once;
	err = engine_start(&e, eo, NULL, NULL);
	if (!err)
		err = run_loop(&e, &o, export_tick);
	rc = err ? 1 : x.once && x.failed ? 1 : 0;
	engine_stop(&e);
out_nostop:
	http_close(&x.http);
	textfile_close(&x.tf);
	free(x.text);
	free(x.last);
	free(x.work);
	return rc;
}
