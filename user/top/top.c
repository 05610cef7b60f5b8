// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch top, also run as dmatop: the live view an operator opens first
 * when a confidential guest's IO slows down or hangs. One frame says which
 * device bounces how much (a row per device), whether the pool is about to
 * run out (the gauge) and what is failing (the latest events).
 *
 * The engine, the interval loop and the per-device arithmetic are stat's
 * (engine.c, loop.c, report.c); the model of a frame is topmodel.c, the
 * kind of guest cc.c. This file lays a frame out on a canvas (canvas.c),
 * which goes to the terminal through ncurses or, in batch mode, to stdout
 * as text; so both modes show the same thing.
 */
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
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
#include "top/topmodel.h"
#include "util.h"

#define EVENT_RING 64
#define BATCH_EVENTS 32  /* per frame; the rest are counted, not printed */
#define BATCH_PROCS 10
#define MAX_ROWS (SNAP_MAX_DEVS + SNAP_MAX_VQS)

/* ---- formatting ---------------------------------------------------------- */

/* Counts in at most 5 characters ("12345", "123k", "12M"). */
static void fmt_count(char *buf, size_t len, double v)
{
	if (v < 99999.5)
		snprintf(buf, len, "%.0f", v);
	else if (v < 9999.5e3)
		snprintf(buf, len, "%.0fk", v / 1e3);
	else
		snprintf(buf, len, "%.0fM", v / 1e6);
}

/* ---- state ---------------------------------------------------------------- */

struct top_event {
	double wall;            /* seconds since the epoch */
	struct dmaw_event ev;   /* stack left out */
};

struct top_proc {
	__u32 pid;
	char comm[DMAW_COMM_LEN];
	double Bps;
	__u64 bytes;
	signed char shown;  /* -1: not asked yet (see proc_shown) */
};

struct top {
	/* options */
	bool batch, json;
	char filter[DMAW_DEV_NAME_LEN];
	/* what does not change */
	char kernel[65];
	struct cc_state cc;
	/* the interval shown (frozen while paused) */
	struct snapshot *prev, *cur;
	bool have_prev, have_cur;
	/* events: a ring of the latest, counted by kind since start */
	struct top_event ring[EVENT_RING];
	__u64 nevents, frozen_events, batch_seen;
	__u64 by_kind[5], frozen_by_kind[5];
	/* the terminal */
	bool paused, help, hist, prompt;
	enum top_sort sort;
	char input[DMAW_DEV_NAME_LEN];
	char selected[DMAW_DEV_NAME_LEN];
	int sel;
	struct canvas cv;
	int winch_pipe[2];
	int epfd;
	bool colors;
	/* processes of the interval shown, sorted */
	struct top_proc procs[SNAP_MAX_PROCS];
	size_t nprocs;
	__u32 dead[SNAP_MAX_PROCS];  /* pids seen exited, sorted */
	size_t ndead;
	/* scratch */
	struct top_row rows[MAX_ROWS];
	struct json j;
	int err;            /* why a tick stopped the loop */
};

static int on_event(void *ctx, const struct dmaw_event *ev)
{
	struct top *t = ctx;
	struct top_event *e = &t->ring[t->nevents % EVENT_RING];
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	/* ts_ns is bpf_ktime_get_ns(): CLOCK_MONOTONIC. */
	e->wall = real.tv_sec + real.tv_nsec / 1e9 -
		  (mono.tv_sec + mono.tv_nsec / 1e9 - ev->ts_ns / 1e9);
	memcpy(&e->ev, ev, offsetof(struct dmaw_event, stack));
	e->ev.stack_len = 0;
	e->ev.comm[sizeof(e->ev.comm) - 1] = 0;
	e->ev.dev[sizeof(e->ev.dev) - 1] = 0;
	e->ev.driver[sizeof(e->ev.driver) - 1] = 0;
	e->ev.vq[sizeof(e->ev.vq) - 1] = 0;
	t->nevents++;
	if (ev->kind < ARRAY_SIZE(t->by_kind))
		t->by_kind[ev->kind]++;
	return 0;
}

/* ---- the frame ------------------------------------------------------------ */

/* The device table's columns at 80 characters: every header has room for
 * the sort marker '*' right after it (the next header keeps a space). */
struct column {
	const char *title;
	int width;
	enum top_sort key;
};

static const struct column num_cols[] = {
	{ "TO/s", 6, TOP_SORT_TO },     { "FROM/s", 8, TOP_SORT_FROM },
	{ "MAPS/s", 8, TOP_SORT_MAPS }, { "AVG", 5, TOP_SORT_AVG },
	{ "MAX", 5, TOP_SORT_MAX },     { "FAIL/s", 8, TOP_SORT_FAIL },
	{ "OVER", 5, TOP_SORT_OVER },   { "NOFIT", 6, TOP_SORT_NEVER },
	{ "POOL%", 6, TOP_SORT_POOL },
};

struct layout {
	int dev_w, drv_w;
};

static void clock_str(char *buf, size_t len, double wall)
{
	time_t s = (time_t)wall;
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Header: kernel and guest, the pool gauge, totals. Returns the next row. */
static int draw_header(struct top *t, struct canvas *c, int y)
{
	const struct snapshot *s = t->cur, *p = t->have_prev ? t->prev : NULL;
	double to = 0, from = 0, maps = 0, fail = 0, dt = report_interval(p, s);
	char now[16], a[16], b[32];
	int x;

	clock_str(now, sizeof(now), wall_now());
	x = cprintf(c, y, 0, P_TITLE, "dmatop");
	x = cprintf(c, y, x + 1, P_NORMAL, "%s  CC: ", t->kernel);
	x = cprintf(c, y, x, t->cc.kind != CC_NONE ? P_WARN : P_NORMAL, "%s%s",
		    cc_name(t->cc.kind), t->cc.hint ? "?" : "");
	if (t->cc.kind != CC_NONE)
		x = cprintf(c, y, x, P_NORMAL, "  bounce: all DMA (encrypted memory)");
	else if (t->cc.forced)
		x = cprintf(c, y, x, P_NORMAL, "  bounce: forced (swiotlb=%s)", t->cc.swiotlb_arg);
	else if (t->cc.noforce)
		x = cprintf(c, y, x, P_NORMAL, "  bounce: off (swiotlb=noforce)");
	else
		x = cprintf(c, y, x, P_NORMAL, "  bounce: when needed");
	if (t->paused)
		x = cprintf(c, y, x + 2, P_WARN, "PAUSED");
	if (t->batch || c->cols - 9 > x) /* one blank before the clock */
		cput(c, y, t->batch ? x + 2 : c->cols - 9, -1, P_NORMAL, now);
	y++;

	for (size_t k = 0; k < FAMILY_IDS; k++)
		if (family_table[k]->view.top)
			y = family_table[k]->view.top(c, y, p, s);

	for (size_t i = 0; i < s->ndevs; i++) {
		struct dev_rates r;

		dev_rates(&r, p, &s->devs[i], dt);
		to += r.to_dev_Bps;
		from += r.from_dev_Bps;
		maps += r.maps_s;
		fail += r.fail_s;
	}
	x = cprintf(c, y, 0, P_TITLE, "Total");
	fmt_bytes4(a, sizeof(a), to);
	fmt_bytes4(b, sizeof(b), from);
	x = cprintf(c, y, x + 1, P_NORMAL, "to-dev %s/s  from-dev %s/s  maps %.0f/s  ", a, b, maps);
	x = cprintf(c, y, x, fail > 0 ? P_BAD : P_NORMAL, "fail %.0f/s", fail);
	x = cprintf(c, y, x, P_NORMAL, "  ");
	cprintf(c, y, x, s->event_drops ? P_BAD : P_NORMAL, "event drops %llu",
		(unsigned long long)s->event_drops);
	return y + 1;
}

static void make_layout(struct layout *l, const struct top_row *rows, size_t n, int cols,
			bool batch)
{
	int need_dev = 6, need_drv = 6, extra;

	for (size_t i = 0; i < n; i++) {
		int a = strlen(rows[i].name), b = strlen(rows[i].driver);

		need_dev = a > need_dev ? a : need_dev;
		need_drv = b > need_drv ? b : need_drv;
	}
	l->dev_w = 12;
	l->drv_w = 10;
	if (batch) {
		/* Text is for reading and grepping: never cut a name. */
		l->dev_w = need_dev > l->dev_w ? need_dev : l->dev_w;
		l->drv_w = need_drv > l->drv_w ? need_drv : l->drv_w;
		return;
	}
	/* Under 80 columns the driver goes first (the numbers matter more);
	 * a wider terminal gives the names what they need, device first. */
	if (cols < 80)
		l->drv_w = 0;
	extra = cols - 80;
	if (extra > 0 && need_dev > l->dev_w) {
		int add = need_dev - l->dev_w < extra ? need_dev - l->dev_w : extra;

		l->dev_w += add;
		extra -= add;
	}
	if (extra > 0 && need_drv > l->drv_w)
		l->drv_w += need_drv - l->drv_w < extra ? need_drv - l->drv_w : extra;
}

static bool sorted_by(enum top_sort sort, enum top_sort col)
{
	return sort == col || (sort == TOP_SORT_BYTES && (col == TOP_SORT_TO || col == TOP_SORT_FROM));
}

static void draw_table_header(struct top *t, struct canvas *c, int y, const struct layout *l,
			      int width)
{
	int x;

	cpaint(c, y, 0, width, P_BAR);
	cput(c, y, 0, -1, t->sort == TOP_SORT_NAME ? P_SORT : P_BAR, "DEVICE");
	if (t->sort == TOP_SORT_NAME)
		cput(c, y, 6, 1, P_SORT, "*");
	if (l->drv_w)
		cput(c, y, l->dev_w + 1, -1, P_BAR, "DRIVER");
	x = l->dev_w + 1 + l->drv_w;
	for (size_t i = 0; i < ARRAY_SIZE(num_cols); i++) {
		const struct column *col = &num_cols[i];
		int len = strlen(col->title);

		x += col->width;
		if (sorted_by(t->sort, col->key)) {
			cput(c, y, x - len, -1, P_SORT, col->title);
			cput(c, y, x, 1, P_SORT, "*");
		} else {
			cput(c, y, x - len, -1, P_BAR, col->title);
		}
	}
}

static void draw_row(struct canvas *c, int y, const struct layout *l, const struct top_row *r,
		     bool selected)
{
	char cell[ARRAY_SIZE(num_cols)][16];
	int paint[ARRAY_SIZE(num_cols)] = {};
	int x;

	fmt_bytes4(cell[0], 16, r->to_Bps);
	fmt_bytes4(cell[1], 16, r->from_Bps);
	fmt_count(cell[2], 16, r->maps_s);
	if (r->avg_size > 0)
		fmt_bytes4(cell[3], 16, r->avg_size);
	else
		snprintf(cell[3], 16, "-");
	fmt_bytes4(cell[4], 16, r->max_size);
	fmt_count(cell[5], 16, r->fail_s);
	fmt_count(cell[6], 16, r->over_limit);
	fmt_count(cell[7], 16, r->never_fit);
	if (r->pool_pct < 0)
		snprintf(cell[8], 16, "-");
	else
		snprintf(cell[8], 16, r->pool_pct >= 99.95 ? "%.0f" : "%.1f", r->pool_pct);
	paint[5] = r->fail_s > 0 ? P_BAD : P_NORMAL;
	paint[6] = r->over_limit ? P_WARN : P_NORMAL;
	paint[7] = r->never_fit ? P_BAD : P_NORMAL;

	cput(c, y, 0, l->dev_w, P_NORMAL, r->name);
	if (l->drv_w)
		cput(c, y, l->dev_w + 1, l->drv_w, P_NORMAL, r->driver[0] ? r->driver : "-");
	x = l->dev_w + 1 + l->drv_w;
	for (size_t i = 0; i < ARRAY_SIZE(num_cols); i++) {
		x += num_cols[i].width;
		cput(c, y, x - (int)strlen(cell[i]), -1, paint[i], cell[i]);
	}
	if (selected)
		cpaint(c, y, 0, x + 1, P_SEL);
}

/* Appends " piece" when it still fits in width. */
static void add_piece(char *buf, size_t len, int width, const char *piece)
{
	size_t n = strlen(buf);

	if (n + 1 + strlen(piece) <= (size_t)width && n + 1 + strlen(piece) < len)
		snprintf(buf + n, len - n, " %s", piece);
}

/* One event in one line: what fits in a pane of width, or (width < 0)
 * every field, for batch mode. */
static void event_line(char *buf, size_t len, const struct top_event *e, int dev_w, int width)
{
	const struct dmaw_event *ev = &e->ev;
	char when[16], a[16], b[16], piece[64];

	clock_str(when, sizeof(when), e->wall);
	snprintf(buf, len, "%s %-10s %-*s", when, event_kind_name(ev->kind), dev_w, ev->dev);
	if (width < 0) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n,
			 " size=%llu limit=%llu slots=%u/%u used=%u%s%s err=%d retries=%u comm=%s pid=%u",
			 (unsigned long long)ev->size, (unsigned long long)ev->limit, ev->slots_needed,
			 ev->slots_total, ev->slots_used, ev->vq[0] ? " vq=" : "", ev->vq, ev->err,
			 ev->retries, ev->comm, ev->pid);
		return;
	}
	fmt_bytes4(a, sizeof(a), ev->size);
	fmt_bytes4(b, sizeof(b), ev->limit);
	switch (ev->kind) {
	case DMAW_EV_OVER_LIMIT:
		snprintf(piece, sizeof(piece), "%s>%s", a, b);
		break;
	case DMAW_EV_NEVER_FIT:
		snprintf(piece, sizeof(piece), "%s %u/%u", a, ev->slots_needed, ev->slots_total);
		break;
	case DMAW_EV_MAP_FAILED:
		snprintf(piece, sizeof(piece), "%s used %u/%u", a, ev->slots_used, ev->slots_total);
		break;
	default:
		snprintf(piece, sizeof(piece), "%s err %d", a, ev->err);
	}
	add_piece(buf, len, width, piece);
	if (ev->vq[0])
		add_piece(buf, len, width, ev->vq);
	if (ev->retries) {
		snprintf(piece, sizeof(piece), "x%u", ev->retries);
		add_piece(buf, len, width, piece);
	}
	add_piece(buf, len, width, ev->comm);
}

static bool event_shown(const struct top *t, const struct top_event *e)
{
	return top_matches(t->filter, e->ev.dev, e->ev.driver);
}

static void draw_events(struct top *t, struct canvas *c, int y, int x, int w, int h)
{
	__u64 upto = t->paused ? t->frozen_events : t->nevents;
	__u64 oldest = upto > EVENT_RING ? upto - EVENT_RING : 0;
	const __u64 *k = t->paused ? t->frozen_by_kind : t->by_kind;
	char line[256];
	int row = 0;

	cpaint(c, y, x, x + w, P_BAR);
	cprintf(c, y, x, P_BAR, "EVENTS  over-limit %llu  failed %llu  never-fit %llu",
		(unsigned long long)k[DMAW_EV_OVER_LIMIT],
		(unsigned long long)(k[DMAW_EV_MAP_FAILED] + k[DMAW_EV_VQ_FAILED]),
		(unsigned long long)k[DMAW_EV_NEVER_FIT]);
	for (__u64 i = upto; i > oldest && row < h - 1; i--) {
		const struct top_event *e = &t->ring[(i - 1) % EVENT_RING];

		if (!event_shown(t, e))
			continue;
		event_line(line, sizeof(line), e, 12, w);
		cput(c, y + 1 + row++, x, w, e->ev.kind == DMAW_EV_OVER_LIMIT ? P_WARN : P_BAD, line);
	}
	if (!row && h > 1)
		cput(c, y + 1, x, w, P_DIM, "(none since start)");
}

static int cmp_pid(const void *a, const void *b)
{
	const struct proc_snapshot *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct top_proc *x = a, *y = b;

	if (x->Bps != y->Bps)
		return x->Bps < y->Bps ? 1 : -1;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}


/* Processes by bytes bounced in the interval, then since start. */
static size_t top_procs(const struct top *t, struct top_proc *out)
{
	static struct proc_snapshot before[SNAP_MAX_PROCS];
	const struct snapshot *s = t->cur, *p = t->have_prev ? t->prev : NULL;
	double dt = report_interval(p, s);
	size_t nb = p ? p->nprocs : 0, n = 0;

	if (nb)
		memcpy(before, p->procs, nb * sizeof(before[0]));
	qsort(before, nb, sizeof(before[0]), cmp_pid);
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct proc_snapshot *q = &s->procs[i];
		const struct proc_snapshot *b = nb ? bsearch(q, before, nb, sizeof(before[0]),
							     cmp_pid) : NULL;

		out[n].pid = q->pid;
		snprintf(out[n].comm, sizeof(out[n].comm), "%s", q->st.comm);
		out[n].bytes = q->st.bytes;
		out[n].Bps = report_rate(q->st.bytes, b ? b->st.bytes : 0, dt);
		out[n].shown = -1;
		n++;
	}
	qsort(out, n, sizeof(out[0]), cmp_proc);
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* The table keeps exited processes until LRU eviction: once they bounce
 * nothing they only crowd the list. Asked only of rows about to be shown,
 * once per frame; a pid found gone is remembered (if it is reused and
 * bounces, its rate shows it), so a long table costs no syscalls. */
static bool proc_shown(struct top *t, struct top_proc *p)
{
	if (p->shown >= 0)
		return p->shown;
	p->shown = 1;
	if (p->Bps > 0)
		return true;
	if (t->ndead && bsearch(&p->pid, t->dead, t->ndead, sizeof(t->dead[0]), cmp_u32)) {
		p->shown = 0;
	} else if (kill(p->pid, 0) && errno == ESRCH) {
		size_t i = 0;

		if (t->ndead == ARRAY_SIZE(t->dead))
			t->ndead = 0;
		while (i < t->ndead && t->dead[i] < p->pid)
			i++;
		memmove(&t->dead[i + 1], &t->dead[i], (t->ndead - i) * sizeof(t->dead[0]));
		t->dead[i] = p->pid;
		t->ndead++;
		p->shown = 0;
	}
	return p->shown;
}

static void draw_procs(struct top *t, struct canvas *c, int y, int x, int w, int h)
{
	struct top_proc *procs = t->procs;
	size_t n = t->nprocs;
	char r[16], tot[16];

	cpaint(c, y, x, x + w, P_BAR);
	cprintf(c, y, x, P_BAR, "%6s %-12s %5s %5s", "PID", "PROCESS", "B/s", "TOTAL");
	if (!t->cur->detail && h > 1)
		cprintf(c, y + 1, x, P_NORMAL, "(-D: by process)");
	for (size_t i = 0, row = 0; i < n && (int)row < h - 1; i++) {
		if (!proc_shown(t, &procs[i]))
			continue;
		fmt_bytes4(r, sizeof(r), procs[i].Bps);
		fmt_bytes4(tot, sizeof(tot), procs[i].bytes);
		cprintf(c, y + 1 + row++, x, P_NORMAL, "%6u %-12.12s %5s %5s", procs[i].pid,
			procs[i].comm, r, tot);
	}
}

/* The selected device's mapping sizes since start, as log2 buckets. */
static void draw_hist(struct canvas *c, int y, int w, int h, const struct top_row *r)
{
	const __u64 *hist = r && r->dev ? r->dev->sw.size_hist : NULL;
	int first = -1, last = -1, vw, stars;
	__u64 max = 0;

	cpaint(c, y, 0, w, P_BAR);
	cprintf(c, y, 0, P_BAR, "MAPPING SIZES  %s since start  (d: back to events)",
		r ? r->name : "(no device selected)");
	for (int i = 0; hist && i < DMAW_HIST_SLOTS; i++) {
		if (!hist[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		max = hist[i] > max ? hist[i] : max;
	}
	if (first < 0) {
		cput(c, y + 1, 0, w, P_DIM, "(no mapping seen)");
		return;
	}
	/* Show the largest sizes when the pane is short: the limit is there. */
	if (last - first + 1 > h - 2)
		first = last - (h - 2) + 1;
	vw = snprintf(NULL, 0, "%llu", (1ULL << (last + 1)) - 1);
	stars = w - (2 * vw + 4 + 3 + 8 + 3);
	stars = stars > 40 ? 40 : stars < 4 ? 4 : stars;
	cprintf(c, y + 1, 0, P_TITLE, "%*s%-*s : count    distribution", vw, "bytes", vw + 4, "");
	for (int i = first; i <= last; i++) {
		char bar[48];
		int nstars = (int)(hist[i] * stars / max);

		memset(bar, ' ', stars);
		memset(bar, '*', nstars);
		bar[stars] = 0;
		cprintf(c, y + 2 + (i - first), 0, P_NORMAL, "%*llu -> %-*llu : %-8llu|%s|", vw,
			i ? 1ULL << i : 0ULL, vw, (1ULL << (i + 1)) - 1, (unsigned long long)hist[i],
			bar);
	}
}

static void draw_help(struct canvas *c)
{
	static const char *const lines[] = {
		"dmatop keys",
		"",
		"  q  Ctrl-C   quit (BPF programs detached)",
		"  s  S        next / previous sort column",
		"  /           filter devices: type, Enter; empty clears",
		"  p           pause / resume the display",
		"  d           mapping-size histogram of the selection",
		"  j k  Up Down  select a device",
		"  h           this help (any key closes it)",
		"",
		"TO/s FROM/s  bytes bounced toward / from the device",
		"MAPS/s FAIL/s  bounced mappings, failed ones",
		"AVG MAX      mapping size (interval / since start)",
		"OVER         mappings over the SWIOTLB limit",
		"NOFIT        requests larger than the whole pool",
		"POOL%        pool slots the device holds (approx.)",
	};
	int w = 60, h = ARRAY_SIZE(lines) + 2;
	int y0 = (c->rows - h) / 2, x0 = (c->cols - w) / 2;

	if (y0 < 0)
		y0 = 0;
	if (x0 < 0)
		x0 = 0;
	for (int i = 0; i < h; i++) {
		for (int x = x0; x < x0 + w && x < c->cols; x++)
			cput(c, y0 + i, x, 1, P_BAR, " ");
	}
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		cput(c, y0 + 1 + i, x0 + 2, w - 4, i ? P_BAR : P_SORT, lines[i]);
}

static void draw_status(struct top *t, struct canvas *c, int y)
{
	char state[96];
	int n, x;

	if (t->prompt) {
		x = cprintf(c, y, 0, P_TITLE, "Filter devices: ");
		cput(c, y, x, -1, P_NORMAL, t->input);
		return;
	}
	cput(c, y, 0, -1, P_DIM, "h help  q quit  s sort  / filter  p pause  d sizes");
	n = snprintf(state, sizeof(state), " sort:%s%s%s%s", top_sort_name(t->sort),
		     t->filter[0] ? " filter:" : "", t->filter, t->paused ? " PAUSED" : "");
	x = c->cols - 1 - n;
	cput(c, y, x < 0 ? 0 : x, -1, t->paused ? P_WARN : P_NORMAL, state);
}

/* Keeps the selection on the same device across sorting and filtering. */
static int find_selected(struct top *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t->rows[i].name, t->selected))
			return i;
	if (n)
		memcpy(t->selected, t->rows[0].name, sizeof(t->selected));
	return 0;
}

static void draw_screen(struct top *t, struct canvas *c)
{
	size_t n = top_rows(t->have_prev ? t->prev : NULL, t->cur, t->filter, t->rows, MAX_ROWS);
	int rows = c->rows, cols = c->cols, y, avail, cap, shown, first = 0, lower;
	struct layout l;

	top_sort_rows(t->rows, n, t->sort);
	t->sel = find_selected(t, n);
	make_layout(&l, t->rows, n, cols, false);
	y = draw_header(t, c, 0);
	/* Devices get up to half of what is left, the lower pane the rest. */
	avail = rows - y - 1;
	cap = avail / 2 - 1;
	cap = cap < 1 ? 1 : cap;
	shown = (int)n < cap ? (int)n : cap;
	if (t->sel >= shown)
		first = t->sel - shown + 1;
	draw_table_header(t, c, y++, &l, cols);
	for (int i = 0; i < shown; i++)
		draw_row(c, y++, &l, &t->rows[first + i], first + i == t->sel);
	if (!n)
		cput(c, y++, 0, -1, P_DIM, t->filter[0] ? "(no device matches the filter)" :
							   "(no bounced mapping yet)");
	else if ((int)n > shown)
		cprintf(c, y++, 0, P_DIM, "(%zu of %zu devices: j/k to scroll, / to filter)",
			(size_t)shown, n);
	lower = rows - 1 - y;
	if (lower >= 2) {
		if (t->hist)
			draw_hist(c, y, cols, lower, n ? &t->rows[t->sel] : NULL);
		else if (cols >= 72) {
			int pw = 31, ew = cols - pw - 1;

			draw_events(t, c, y, 0, ew, lower);
			draw_procs(t, c, y, ew + 1, pw, lower);
		} else {
			draw_events(t, c, y, 0, cols, lower / 2);
			draw_procs(t, c, y + lower / 2, 0, cols, lower - lower / 2);
		}
	}
	draw_status(t, c, rows - 1);
	if (t->help)
		draw_help(c);
}

/* ---- batch mode ------------------------------------------------------------ */

static int draw_batch(struct top *t)
{
	struct canvas *c = &t->cv;
	size_t n = top_rows(t->prev, t->cur, t->filter, t->rows, MAX_ROWS);
	__u64 oldest = t->nevents > EVENT_RING ? t->nevents - EVENT_RING : 0;
	__u64 from = t->batch_seen > oldest ? t->batch_seen : oldest, printed = 0;
	struct top_proc *procs = t->procs;
	size_t np = t->nprocs;
	struct layout l;
	char line[320];
	int y;

	if (canvas_resize(c, 16 + MAX_ROWS + BATCH_EVENTS + BATCH_PROCS, 256))
		return -ENOMEM;
	top_sort_rows(t->rows, n, t->sort);
	make_layout(&l, t->rows, n, c->cols, true);
	y = draw_header(t, c, 0) + 1;
	draw_table_header(t, c, y++, &l, 0);
	for (size_t i = 0; i < n; i++)
		draw_row(c, y++, &l, &t->rows[i], false);
	y++;
	cprintf(c, y++, 0, P_NORMAL, "EVENTS  over-limit %llu  failed %llu  never-fit %llu  (new: %llu)",
		(unsigned long long)t->by_kind[DMAW_EV_OVER_LIMIT],
		(unsigned long long)(t->by_kind[DMAW_EV_MAP_FAILED] + t->by_kind[DMAW_EV_VQ_FAILED]),
		(unsigned long long)t->by_kind[DMAW_EV_NEVER_FIT],
		(unsigned long long)(t->nevents - t->batch_seen));
	for (__u64 i = from; i < t->nevents; i++) {
		const struct top_event *e = &t->ring[i % EVENT_RING];

		if (!event_shown(t, e))
			continue;
		if (printed++ == BATCH_EVENTS)
			break;
		event_line(line, sizeof(line), e, l.dev_w, -1);
		cput(c, y++, 0, -1, P_NORMAL, line);
	}
	if (printed > BATCH_EVENTS || from > t->batch_seen)
		cprintf(c, y++, 0, P_NORMAL, "(more events than shown: see 'dmawatch trace')");
	t->batch_seen = t->nevents;
	y++;
	cprintf(c, y++, 0, P_NORMAL, "%7s %-16s %7s %7s", "PID", "PROCESS", "B/s", "TOTAL");
	if (!t->cur->detail)
		cprintf(c, y++, 0, P_NORMAL, "(processes are counted with -D, --detail)");
	for (size_t i = 0, shown = 0; i < np && shown < BATCH_PROCS; i++) {
		char r[16], tot[16];

		if (!proc_shown(t, &procs[i]))
			continue;
		shown++;
		fmt_bytes4(r, sizeof(r), procs[i].Bps);
		fmt_bytes4(tot, sizeof(tot), procs[i].bytes);
		cprintf(c, y++, 0, P_NORMAL, "%7u %-16s %7s %7s", procs[i].pid, procs[i].comm, r, tot);
	}
	print_canvas(c, stdout);
	putchar('\n');
	fflush(stdout);
	return ferror(stdout) ? -EIO : 0;
}

/* ---- the terminal ---------------------------------------------------------- */

static bool curses_active;

static void curses_end(void)
{
	if (curses_active) {
		curses_active = false;
		endwin();
	}
}

static int winch_fd = -1;

static void on_winch(int sig)
{
	int saved = errno;

	(void)sig;
	/* A full pipe already says "resized". */
	if (winch_fd >= 0 && write(winch_fd, "w", 1) < 0)
		(void)0;
	errno = saved;
}

static attr_t paint_attr(const struct top *t, int p)
{
	switch (p) {
	case P_BAR: return t->colors ? COLOR_PAIR(1) : A_REVERSE;
	case P_SORT: return (t->colors ? COLOR_PAIR(1) : A_REVERSE) | A_BOLD | A_UNDERLINE;
	case P_TITLE: return A_BOLD;
	case P_OK: return t->colors ? COLOR_PAIR(4) : A_NORMAL;
	case P_WARN: return t->colors ? COLOR_PAIR(2) | A_BOLD : A_BOLD;
	case P_BAD: return t->colors ? COLOR_PAIR(3) | A_BOLD : A_BOLD | A_UNDERLINE;
	case P_SEL: return A_REVERSE;
	case P_DIM: return t->colors ? COLOR_PAIR(5) : A_NORMAL;
	default: return A_NORMAL;
	}
}

static int curses_start(struct top *t)
{
	struct sigaction sa = { .sa_handler = on_winch };

	/* newterm, unlike initscr, returns an error instead of exiting. */
	if (!newterm(NULL, stdout, stdin)) {
		warnx_("top: cannot drive the terminal (TERM=%s): is its terminfo "
		       "installed? 'dmatop -b' prints text instead", getenv("TERM") ?: "");
		return -ENOTTY;
	}
	curses_active = true;
	atexit(curses_end);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	t->colors = has_colors() && start_color() == OK;
	if (t->colors) {
		short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;

		init_pair(1, COLOR_BLACK, COLOR_CYAN);
		init_pair(2, COLOR_YELLOW, bg);
		init_pair(3, COLOR_RED, bg);
		init_pair(4, COLOR_GREEN, bg);
		init_pair(5, COLOR_CYAN, bg);
	}
	/* The loop watches one fd: an epoll set of the keyboard and a pipe the
	 * SIGWINCH handler writes to, so a resize redraws at once. */
	if (pipe2(t->winch_pipe, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = i ? t->winch_pipe[0] : STDIN_FILENO;

		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
	}
	winch_fd = t->winch_pipe[1];
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGWINCH, &sa, NULL);
	return 0;
}

static void blit(struct top *t)
{
	struct canvas *c = &t->cv;

	for (int y = 0; y < c->rows; y++) {
		/* Never the bottom-right cell: writing it scrolls some terminals. */
		int end = y == c->rows - 1 ? c->cols - 1 : c->cols;

		for (int x = 0; x < end;) {
			int p = c->pt[y * c->cols + x], run = 1;

			while (x + run < end && c->pt[y * c->cols + x + run] == p)
				run++;
			attrset(paint_attr(t, p));
			mvaddnstr(y, x, &c->ch[y * c->cols + x], run);
			x += run;
		}
	}
	attrset(A_NORMAL);
	if (t->prompt) {
		move(c->rows - 1, (int)strlen("Filter devices: ") + (int)strlen(t->input));
		curs_set(1);
	} else {
		curs_set(0);
	}
	refresh();
}

static void redraw(struct top *t)
{
	if (!t->have_cur || canvas_resize(&t->cv, LINES, COLS))
		return;
	draw_screen(t, &t->cv);
	blit(t);
}

static void resized(void)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col &&
	    (ws.ws_row != LINES || ws.ws_col != COLS))
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

static void move_selection(struct top *t, int by)
{
	size_t n = top_rows(t->have_prev ? t->prev : NULL, t->cur, t->filter, t->rows, MAX_ROWS);
	int i;

	if (!n)
		return;
	top_sort_rows(t->rows, n, t->sort);
	i = find_selected(t, n) + by;
	i = i < 0 ? 0 : i >= (int)n ? (int)n - 1 : i;
	memcpy(t->selected, t->rows[i].name, sizeof(t->selected));
}

/* A key typed at the filter prompt. */
static void prompt_key(struct top *t, int ch)
{
	size_t len = strlen(t->input);

	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		snprintf(t->filter, sizeof(t->filter), "%s", t->input);
		t->prompt = false;
	} else if (ch == 27) {
		t->prompt = false;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (len)
			t->input[len - 1] = 0;
	} else if (ch == 21) { /* Ctrl-U */
		t->input[0] = 0;
	} else if (ch > 32 && ch < 127 && len + 1 < sizeof(t->input)) {
		t->input[len] = ch;
		t->input[len + 1] = 0;
	}
}

/* Returns non-zero to quit. */
static int key(struct top *t, int ch)
{
	if (t->prompt) {
		prompt_key(t, ch);
		return 0;
	}
	if (t->help && ch != 'q' && ch != KEY_RESIZE) {
		t->help = false;
		return 0;
	}
	switch (ch) {
	case 'q': case 'Q':
		return 1;
	case 's':
		t->sort = (t->sort + 1) % TOP_SORTS;
		break;
	case 'S':
		t->sort = (t->sort + TOP_SORTS - 1) % TOP_SORTS;
		break;
	case '/':
		t->prompt = true;
		snprintf(t->input, sizeof(t->input), "%s", t->filter);
		break;
	case 'p': case ' ':
		t->paused = !t->paused;
		t->frozen_events = t->nevents;
		memcpy(t->frozen_by_kind, t->by_kind, sizeof(t->by_kind));
		break;
	case 'h': case '?':
		t->help = true;
		break;
	case 'd':
		t->hist = !t->hist;
		break;
	case 'j': case KEY_DOWN:
		move_selection(t, 1);
		break;
	case 'k': case KEY_UP:
		move_selection(t, -1);
		break;
	case KEY_RESIZE:
		resized();
		break;
	case 12: /* Ctrl-L */
		clearok(curscr, TRUE);
		break;
	}
	return 0;
}

static int on_input(void *ctx)
{
	struct top *t = ctx;
	char drain[16];
	int ch, quit = 0;

	while (read(t->winch_pipe[0], drain, sizeof(drain)) > 0)
		resized();
	while (!quit && (ch = getch()) != ERR)
		quit = key(t, ch);
	if (!quit)
		redraw(t);
	return quit;
}

/* ---- the loop --------------------------------------------------------------- */

static int tick(void *ctx, const struct snapshot *prev, const struct snapshot *cur, bool final)
{
	struct top *t = ctx;

	(void)final;
	if (!t->paused) {
		if (prev)
			memcpy(t->prev, prev, sizeof(*prev));
		memcpy(t->cur, cur, sizeof(*cur));
		t->have_prev = prev != NULL;
		t->have_cur = true;
		t->nprocs = top_procs(t, t->procs);
	}
	if (!t->batch) {
		redraw(t);
		return 0;
	}
	/* Batch frames are intervals: the zero frame at start has no rates. */
	if (!prev)
		return 0;
	if (t->json) {
		report_json(&t->j, prev, cur);
		t->err = ferror(stdout) ? -EIO : 0;
	} else {
		t->err = draw_batch(t);
	}
	return t->err;
}

static void top_help(FILE *out)
{
	fprintf(out,
		"Usage: dmatop [-b [--json]] [-d SECONDS] [-n COUNT] [-f TEXT] [-v] [-K] [-L] [-F LIST]\n"
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

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "filter", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "kprobes", no_argument, NULL, 'K' },
		{ "detail", no_argument, NULL, 'D' },
		{ "latency", no_argument, NULL, 'L' },
		{ "families", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct top *t = calloc(1, sizeof(*t));
	struct snapshot *snaps = calloc(2, sizeof(*snaps));
	struct loop_opts o = { .interval_s = 1, .input_fd = -1, .tick_at_start = true };
	struct engine e;
	bool started = false, looped = false;
	uint64_t count;
	int c, err = 0, rc = 2;

	if (!t || !snaps) {
		warnx_("top: out of memory");
		goto out;
	}
	t->prev = &snaps[0];
	t->cur = &snaps[1];
	t->epfd = t->winch_pipe[0] = t->winch_pipe[1] = -1;
	while ((c = getopt_long(argc, argv, ":d:n:bjf:vKDLF:h", opts, NULL)) != -1) {
		int r = engine_option(c, optarg);

		if (r < 0)
			goto out;
		if (r)
			continue;
		switch (c) {
		case 'd':
			if (!parse_seconds(optarg, 86400, &o.interval_s) || o.interval_s < 0.1) {
				warnx_("top: bad delay '%s': seconds from 0.1, e.g. 1 or 2.5", optarg);
				goto out;
			}
			break;
		case 'n':
			if (!parse_u64(optarg, 1, UINT64_MAX, &count)) {
				warnx_("top: bad count '%s': a whole number of refreshes", optarg);
				goto out;
			}
			o.count = count;
			break;
		case 'b': t->batch = true; break;
		case 'j': t->json = t->batch = true; break;
		case 'f': snprintf(t->filter, sizeof(t->filter), "%s", optarg); break;
		case 'h': top_help(stdout); rc = 0; goto out;
		default: rc = bad_option("top", c, argv); goto out;
		}
	}
	if (optind < argc) {
		warnx_("top: unexpected argument '%s' (the interval is -d SECONDS)", argv[optind]);
		goto out;
	}
	if (!t->batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		warnx_("top: the live view needs a terminal; -b prints text frames instead");
		goto out;
	}
	rc = 1;
	{
		struct utsname u;

		snprintf(t->kernel, sizeof(t->kernel), "%s", uname(&u) ? "?" : u.release);
	}
	cc_detect(&t->cc);
	json_init(&t->j, stdout);
	if (t->batch)
		signal(SIGPIPE, SIG_IGN); /* a closed pipe ends the loop, cleanly */
	/* Before ncurses: it leaves handlers that exist alone, so Ctrl-C and
	 * SIGTERM end the loop and the cleanup below runs. */
	loop_install_signals();
	if (!t->batch)
		fprintf(stderr, "dmatop: attaching probes...\n");
	err = engine_start(&e, on_event, t);
	started = true;
	if (err)
		goto out;
	rc = 0;
	if (loop_stopping()) /* Ctrl-C while attaching */
		goto out;
	rc = 1;
	if (!t->batch) {
		err = curses_start(t);
		if (err)
			goto out;
		o.input_fd = t->epfd;
		o.on_input = on_input;
	}
	o.ctx = t;
	err = run_loop(&e, &o, tick);
	looped = true;
	if (!err)
		err = t->err;
	rc = err ? 1 : 0;
out:
	/* The terminal first, so the messages of the teardown can be read. */
	curses_end();
	/* engine_start and curses_start explain their own failures. */
	if (looped && err && err != -EIO)
		warnx_("top: %s", strerror(-err));
	if (started)
		engine_stop(&e);
	if (t) {
		winch_fd = -1;
		if (t->epfd >= 0)
			close(t->epfd);
		for (int i = 0; i < 2; i++)
			if (t->winch_pipe[i] >= 0)
				close(t->winch_pipe[i]);
		free(t->cv.ch);
		free(t->cv.pt);
	}
	free(t);
	free(snaps);
	if (started && err)
		rc = 1;
	return rc;
}
