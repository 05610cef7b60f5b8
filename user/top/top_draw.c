// SPDX-License-Identifier: GPL-2.0
/*
 * dmatop's frame on a canvas: the header, the device table, the events,
 * the processes, the size histogram, the help and the status line, laid
 * out for the terminal (top_term.c shows the canvas) or, in batch mode,
 * printed to stdout as text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cc.h"
#include "engine/engine.h"
#include "family/swiotlb_rates.h"
#include "out/fmt.h"
#include "out/report.h"
#include "top/canvas.h"
#include "top/top.h"
#include "top/topmodel.h"
#include "util.h"

#define BATCH_EVENTS 32 /* per frame; the rest are counted, not printed */
#define BATCH_PROCS 10

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

static void clock_str(char *buf, size_t len, double wall)
{
	time_t s = (time_t)wall;
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

/* ---- the header ----------------------------------------------------------- */

/* Kernel and guest, the families' lines (the pool gauge), totals. Returns
 * the next row. */
static int draw_header(struct top *t, struct canvas *c, int y)
{
	const struct snapshot *s = t->cur, *p = t->have_prev ? t->prev : NULL;
	double to = 0, from = 0, maps = 0, fail = 0, dt = report_interval(p, s);
	char now[16], a[16], b[32];
	int x;

	clock_str(now, sizeof(now), wall_s());
	x = cprintf(c, y, 0, P_TITLE, "dmatop");
	x = cprintf(c, y, x + 1, P_NORMAL, "%s  CC: ", t->kernel);
	x = cprintf(c, y, x, t->cc.kind != CC_NONE ? P_WARN : P_NORMAL, "%s%s", cc_name(t->cc.kind),
		    t->cc.hint ? "?" : "");
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

		dev_rates_between(&r, p, &s->devs[i], dt);
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

/* ---- the device table ----------------------------------------------------- */

/* Room for any cell and its NUL: the widest column is 8. */
#define CELL_LEN 16

/* A number column of the device table: its header, its width at 80
 * characters (every header has room for the sort marker '*' right after
 * it; the next header keeps a space), the sort key it shows, and the
 * function that writes a row's cell and returns the cell's paint. */
struct column {
	const char *title;
	int width;
	enum top_sort key;
	int (*cell)(char *buf, size_t len, const struct top_row *r);
};

static int cell_to(char *buf, size_t len, const struct top_row *r)
{
	fmt_bytes4(buf, len, r->to_Bps);
	return P_NORMAL;
}

static int cell_from(char *buf, size_t len, const struct top_row *r)
{
	fmt_bytes4(buf, len, r->from_Bps);
	return P_NORMAL;
}

static int cell_maps(char *buf, size_t len, const struct top_row *r)
{
	fmt_count(buf, len, r->maps_s);
	return P_NORMAL;
}

/* "-": no mapping in the interval. */
static int cell_avg(char *buf, size_t len, const struct top_row *r)
{
	if (r->avg_size > 0)
		fmt_bytes4(buf, len, r->avg_size);
	else
		snprintf(buf, len, "-");
	return P_NORMAL;
}

static int cell_max(char *buf, size_t len, const struct top_row *r)
{
	fmt_bytes4(buf, len, r->max_size);
	return P_NORMAL;
}

static int cell_fail(char *buf, size_t len, const struct top_row *r)
{
	fmt_count(buf, len, r->fail_s);
	return r->fail_s > 0 ? P_BAD : P_NORMAL;
}

static int cell_over(char *buf, size_t len, const struct top_row *r)
{
	fmt_count(buf, len, r->over_limit);
	return r->over_limit ? P_WARN : P_NORMAL;
}

static int cell_never(char *buf, size_t len, const struct top_row *r)
{
	fmt_count(buf, len, r->never_fit);
	return r->never_fit ? P_BAD : P_NORMAL;
}

/* "-": the share is unknown (no pool, or no --detail). */
static int cell_pool(char *buf, size_t len, const struct top_row *r)
{
	if (r->pool_pct < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, r->pool_pct >= 99.95 ? "%.0f" : "%.1f", r->pool_pct);
	return P_NORMAL;
}

static const struct column num_cols[] = {
	{ "TO/s", 6, TOP_SORT_TO, cell_to },       { "FROM/s", 8, TOP_SORT_FROM, cell_from },
	{ "MAPS/s", 8, TOP_SORT_MAPS, cell_maps }, { "AVG", 5, TOP_SORT_AVG, cell_avg },
	{ "MAX", 5, TOP_SORT_MAX, cell_max },      { "FAIL/s", 8, TOP_SORT_FAIL, cell_fail },
	{ "OVER", 5, TOP_SORT_OVER, cell_over },   { "NOFIT", 6, TOP_SORT_NEVER, cell_never },
	{ "POOL%", 6, TOP_SORT_POOL, cell_pool },
};

struct layout {
	int dev_w, drv_w;
};

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
	return sort == col ||
	       (sort == TOP_SORT_BYTES && (col == TOP_SORT_TO || col == TOP_SORT_FROM));
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
	int x;

	cput(c, y, 0, l->dev_w, P_NORMAL, r->name);
	if (l->drv_w)
		cput(c, y, l->dev_w + 1, l->drv_w, P_NORMAL, r->driver[0] ? r->driver : "-");
	x = l->dev_w + 1 + l->drv_w;
	for (size_t i = 0; i < ARRAY_SIZE(num_cols); i++) {
		char cell[CELL_LEN];
		int paint = num_cols[i].cell(cell, sizeof(cell), r);

		x += num_cols[i].width;
		cput(c, y, x - (int)strlen(cell), -1, paint, cell);
	}
	if (selected)
		cpaint(c, y, 0, x + 1, P_SEL);
}

/* ---- the events ----------------------------------------------------------- */

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

		snprintf(
			buf + n, len - n,
			" size=%llu limit=%llu slots=%u/%u used=%u%s%s err=%d retries=%u comm=%s pid=%u",
			(unsigned long long)ev->size, (unsigned long long)ev->limit,
			ev->slots_needed, ev->slots_total, ev->slots_used, ev->vq[0] ? " vq=" : "",
			ev->vq, ev->err, ev->retries, ev->comm, ev->pid);
		return;
	}
	fmt_bytes4(a, sizeof(a), ev->size);
	fmt_bytes4(b, sizeof(b), ev->limit);
	switch (ev->kind) {
	case DMAW_EV_OVER_LIMIT: snprintf(piece, sizeof(piece), "%s>%s", a, b); break;
	case DMAW_EV_NEVER_FIT:
		snprintf(piece, sizeof(piece), "%s %u/%u", a, ev->slots_needed, ev->slots_total);
		break;
	case DMAW_EV_MAP_FAILED:
		snprintf(piece, sizeof(piece), "%s used %u/%u", a, ev->slots_used, ev->slots_total);
		break;
	default: snprintf(piece, sizeof(piece), "%s err %d", a, ev->err);
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
	__u64 upto = t->paused ? t->frozen_events : t->events.n;
	__u64 oldest = top_events_oldest(upto);
	const __u64 *k = t->paused ? t->frozen_by_kind : t->events.by_kind;
	char line[256];
	int row = 0;

	cpaint(c, y, x, x + w, P_BAR);
	cprintf(c, y, x, P_BAR, "EVENTS  over-limit %llu  failed %llu  never-fit %llu",
		(unsigned long long)k[DMAW_EV_OVER_LIMIT],
		(unsigned long long)(k[DMAW_EV_MAP_FAILED] + k[DMAW_EV_VQ_FAILED]),
		(unsigned long long)k[DMAW_EV_NEVER_FIT]);
	for (__u64 i = upto; i > oldest && row < h - 1; i--) {
		const struct top_event *e = top_event(&t->events, i - 1);

		if (!event_shown(t, e))
			continue;
		event_line(line, sizeof(line), e, 12, w);
		cput(c, y + 1 + row++, x, w, e->ev.kind == DMAW_EV_OVER_LIMIT ? P_WARN : P_BAD,
		     line);
	}
	if (!row && h > 1)
		cput(c, y + 1, x, w, P_DIM, "(none since start)");
}

/* ---- the processes, the sizes, help, status ------------------------------- */

static void draw_procs(struct top *t, struct canvas *c, int y, int x, int w, int h)
{
	struct top_procs *tp = &t->procs;
	char r[16], tot[16];

	cpaint(c, y, x, x + w, P_BAR);
	cprintf(c, y, x, P_BAR, "%6s %-12s %5s %5s", "PID", "PROCESS", "B/s", "TOTAL");
	if (!t->cur->detail && h > 1)
		cprintf(c, y + 1, x, P_NORMAL, "(-D: by process)");
	for (size_t i = 0, row = 0; i < tp->n && (int)row < h - 1; i++) {
		const struct proc_snapshot *p = &tp->rank[i].p;

		if (!top_proc_shown(tp, i))
			continue;
		fmt_bytes4(r, sizeof(r), tp->Bps[i]);
		fmt_bytes4(tot, sizeof(tot), p->st.bytes);
		cprintf(c, y + 1 + row++, x, P_NORMAL, "%6u %-12.12s %5s %5s", p->pid, p->st.comm,
			r, tot);
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
			i ? 1ULL << i : 0ULL, vw, (1ULL << (i + 1)) - 1,
			(unsigned long long)hist[i], bar);
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

/* ---- the screen ----------------------------------------------------------- */

void top_draw_screen(struct top *t, struct canvas *c)
{
	size_t n =
		top_rows(t->have_prev ? t->prev : NULL, t->cur, t->filter, t->rows, TOP_MAX_ROWS);
	int rows = c->rows, cols = c->cols, y, avail, cap, shown, first = 0, lower;
	struct layout l;

	top_sort_rows(t->rows, n, t->sort);
	t->sel = top_find_selected(t->rows, n, t->selected);
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
		cput(c, y++, 0, -1, P_DIM,
		     t->filter[0] ? "(no device matches the filter)" : "(no bounced mapping yet)");
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

/* ---- batch mode ----------------------------------------------------------- */

int top_draw_batch(struct top *t)
{
	struct canvas *c = &t->cv;
	size_t n = top_rows(t->prev, t->cur, t->filter, t->rows, TOP_MAX_ROWS);
	__u64 oldest = top_events_oldest(t->events.n);
	__u64 from = t->batch_seen > oldest ? t->batch_seen : oldest, printed = 0;
	const __u64 *k = t->events.by_kind;
	struct top_procs *tp = &t->procs;
	struct layout l;
	char line[320];
	int y;

	if (canvas_resize(c, 16 + TOP_MAX_ROWS + BATCH_EVENTS + BATCH_PROCS, 256))
		return -ENOMEM;
	top_sort_rows(t->rows, n, t->sort);
	make_layout(&l, t->rows, n, c->cols, true);
	y = draw_header(t, c, 0) + 1;
	draw_table_header(t, c, y++, &l, 0);
	for (size_t i = 0; i < n; i++)
		draw_row(c, y++, &l, &t->rows[i], false);
	y++;
	cprintf(c, y++, 0, P_NORMAL,
		"EVENTS  over-limit %llu  failed %llu  never-fit %llu  (new: %llu)",
		(unsigned long long)k[DMAW_EV_OVER_LIMIT],
		(unsigned long long)(k[DMAW_EV_MAP_FAILED] + k[DMAW_EV_VQ_FAILED]),
		(unsigned long long)k[DMAW_EV_NEVER_FIT],
		(unsigned long long)(t->events.n - t->batch_seen));
	for (__u64 i = from; i < t->events.n; i++) {
		const struct top_event *e = top_event(&t->events, i);

		if (!event_shown(t, e))
			continue;
		if (printed++ == BATCH_EVENTS)
			break;
		event_line(line, sizeof(line), e, l.dev_w, -1);
		cput(c, y++, 0, -1, P_NORMAL, line);
	}
	if (printed > BATCH_EVENTS || from > t->batch_seen)
		cprintf(c, y++, 0, P_NORMAL, "(more events than shown: see 'dmawatch trace')");
	t->batch_seen = t->events.n;
	y++;
	cprintf(c, y++, 0, P_NORMAL, "%7s %-16s %7s %7s", "PID", "PROCESS", "B/s", "TOTAL");
	if (!t->cur->detail)
		cprintf(c, y++, 0, P_NORMAL, "(processes are counted with -D, --detail)");
	for (size_t i = 0, shown = 0; i < tp->n && shown < BATCH_PROCS; i++) {
		const struct proc_snapshot *p = &tp->rank[i].p;
		char r[16], tot[16];

		if (!top_proc_shown(tp, i))
			continue;
		shown++;
		fmt_bytes4(r, sizeof(r), tp->Bps[i]);
		fmt_bytes4(tot, sizeof(tot), p->st.bytes);
		cprintf(c, y++, 0, P_NORMAL, "%7u %-16s %7s %7s", p->pid, p->st.comm, r, tot);
	}
	canvas_print(c, stdout);
	putchar('\n');
	fflush(stdout);
	return ferror(stdout) ? -EIO : 0;
}
