// SPDX-License-Identifier: GPL-2.0
/* dmatop's model (topmodel.h), without a terminal: rows, filtering and
 * sorting; the event ring; the processes worth a line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "family/swiotlb_rates.h"
#include "out/report.h"
#include "top/topmodel.h"
#include "util.h"

static struct top_row *row_for(struct top_row *rows, size_t *n, size_t max, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	if (*n == max)
		return NULL;
	memset(&rows[*n], 0, sizeof(rows[0]));
	snprintf(rows[*n].name, sizeof(rows[0].name), "%s", name);
	rows[*n].pool_pct = -1;
	return &rows[(*n)++];
}

bool top_matches(const char *filter, const char *name, const char *driver)
{
	return !filter || !*filter || strcasestr(name, filter) || strcasestr(driver, filter);
}

size_t top_rows(const struct snapshot *prev, const struct snapshot *cur, const char *filter,
		struct top_row *rows, size_t max)
{
	double dt = report_interval(prev, cur);
	bool pool = (cur->pool.flags & DMAW_POOL_OK) && cur->pool.nslabs;
	size_t n = 0;

	for (size_t i = 0; i < cur->ndevs; i++) {
		const struct dev_snapshot *d = &cur->devs[i];
		struct top_row *r;
		struct dev_rates dr;

		/* The live view shows devices that are there. */
		if (d->gone)
			continue;
		r = row_for(rows, &n, max, d->id.dev);
		if (!r)
			break;
		dev_rates_between(&dr, prev, d, dt);
		r->dev = d;
		snprintf(r->driver, sizeof(r->driver), "%s", d->id.driver);
		r->to_Bps = dr.to_dev_Bps;
		r->from_Bps = dr.from_dev_Bps;
		r->maps_s = dr.maps_s;
		r->fail_s = dr.fail_s;
		r->avg_size = dr.avg_size;
		r->max_size = d->sw.max_size;
		r->over_limit = d->sw.over_limit;
		r->never_fit = d->api.never_fit;
		/* The held share needs the releases (--detail). */
		if (pool && cur->detail) {
			__u64 mapped = dev_bytes(d), unmapped = d->sw.unmap_bytes;
			__u64 slots = mapped > unmapped ? (mapped - unmapped + DMAW_IO_TLB_SIZE -
							   1) / DMAW_IO_TLB_SIZE :
							  0;

			/* Unmaps of mappings older than dmatop make this an
			 * estimate: never more than the kernel's own count. */
			if (slots > cur->pool.used)
				slots = cur->pool.used;
			r->pool_pct = 100.0 * slots / cur->pool.nslabs;
		}
	}
	/* virtio-blk requeues a request that can never fit: the failures are
	 * counted per virtqueue and belong to the device the queue maps for. */
	for (size_t i = 0; i < cur->nvqs; i++) {
		const struct vq_snapshot *v = &cur->vqs[i];
		struct top_row *r;

		if (!v->st.names.dev[0] || !v->st.never_fit || v->gone)
			continue;
		r = row_for(rows, &n, max, v->st.names.dev);
		if (r)
			r->never_fit += v->st.never_fit;
	}
	if (filter && *filter) {
		size_t kept = 0;

		for (size_t i = 0; i < n; i++)
			if (top_matches(filter, rows[i].name, rows[i].driver))
				rows[kept++] = rows[i];
		n = kept;
	}
	return n;
}

static const char *const sort_names[TOP_SORTS] = {
	[TOP_SORT_BYTES] = "TO+FROM", [TOP_SORT_TO] = "TO/s",     [TOP_SORT_FROM] = "FROM/s",
	[TOP_SORT_MAPS] = "MAPS/s",   [TOP_SORT_AVG] = "AVG",     [TOP_SORT_MAX] = "MAX",
	[TOP_SORT_FAIL] = "FAIL/s",   [TOP_SORT_OVER] = "OVER",   [TOP_SORT_NEVER] = "NOFIT",
	[TOP_SORT_POOL] = "POOL%",    [TOP_SORT_NAME] = "DEVICE",
};

const char *top_sort_name(enum top_sort key)
{
	return key < TOP_SORTS ? sort_names[key] : "?";
}

static double sort_value(const struct top_row *r, enum top_sort key)
{
	switch (key) {
	case TOP_SORT_BYTES: return r->to_Bps + r->from_Bps;
	case TOP_SORT_TO: return r->to_Bps;
	case TOP_SORT_FROM: return r->from_Bps;
	case TOP_SORT_MAPS: return r->maps_s;
	case TOP_SORT_AVG: return r->avg_size;
	case TOP_SORT_MAX: return r->max_size;
	case TOP_SORT_FAIL: return r->fail_s;
	case TOP_SORT_OVER: return r->over_limit;
	case TOP_SORT_NEVER: return r->never_fit;
	case TOP_SORT_POOL: return r->pool_pct;
	default: return 0;
	}
}

static enum top_sort sort_key;

/* Largest first (compared, never subtracted), then by name: stable frames. */
static int cmp_rows(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (sort_key != TOP_SORT_NAME) {
		double vx = sort_value(x, sort_key), vy = sort_value(y, sort_key);

		if (vx != vy)
			return vx < vy ? 1 : -1;
	}
	return strcmp(x->name, y->name);
}

void top_sort_rows(struct top_row *rows, size_t n, enum top_sort key)
{
	sort_key = key;
	qsort(rows, n, sizeof(*rows), cmp_rows);
}

int top_find_selected(const struct top_row *rows, size_t n, char *selected)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].name, selected))
			return i;
	if (n)
		memcpy(selected, rows[0].name, sizeof(rows[0].name));
	return 0;
}

/* ---- events --------------------------------------------------------------- */

void top_events_add(struct top_events *e, const struct dmaw_event *ev, const struct timespec *mono,
		    const struct timespec *real)
{
	struct top_event *slot = &e->ring[e->n % TOP_EVENT_RING];

	/* ts_ns is bpf_ktime_get_ns(): CLOCK_MONOTONIC. */
	slot->wall = real->tv_sec + real->tv_nsec / 1e9 -
		     (mono->tv_sec + mono->tv_nsec / 1e9 - ev->ts_ns / 1e9);
	memcpy(&slot->ev, ev, offsetof(struct dmaw_event, stack));
	slot->ev.stack_len = 0;
	slot->ev.comm[sizeof(slot->ev.comm) - 1] = 0;
	slot->ev.dev[sizeof(slot->ev.dev) - 1] = 0;
	slot->ev.driver[sizeof(slot->ev.driver) - 1] = 0;
	slot->ev.vq[sizeof(slot->ev.vq) - 1] = 0;
	e->n++;
	if (ev->kind < TOP_EVENT_KINDS)
		e->by_kind[ev->kind]++;
}

__u64 top_events_oldest(__u64 upto)
{
	return upto > TOP_EVENT_RING ? upto - TOP_EVENT_RING : 0;
}

const struct top_event *top_event(const struct top_events *e, __u64 i)
{
	return &e->ring[i % TOP_EVENT_RING];
}

/* ---- processes ------------------------------------------------------------ */

void top_procs_rank(struct top_procs *tp, const struct snapshot *prev, const struct snapshot *cur)
{
	double dt = report_interval(prev, cur);

	tp->n = snapshot_rank_procs(prev, cur, tp->rank, SNAP_MAX_PROCS);
	for (size_t i = 0; i < tp->n; i++) {
		tp->Bps[i] = report_rate(tp->rank[i].p.st.bytes, tp->rank[i].bytes_before, dt);
		tp->shown[i] = -1;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* The table keeps exited processes until LRU eviction: once they bounce
 * nothing they only crowd the list. Asked only of rows about to be shown,
 * once per ranking; a pid found gone is remembered (if it is reused and
 * bounces, its rate shows it), so a long table costs no syscalls. */
bool top_proc_shown(struct top_procs *tp, size_t i)
{
	__u32 pid = tp->rank[i].p.pid;

	if (tp->shown[i] >= 0)
		return tp->shown[i];
	tp->shown[i] = 1;
	if (tp->Bps[i] > 0)
		return true;
	if (tp->ndead && bsearch(&pid, tp->dead, tp->ndead, sizeof(tp->dead[0]), cmp_u32)) {
		tp->shown[i] = 0;
	} else if (tp->exited(pid)) {
		size_t k = 0;

		if (tp->ndead == ARRAY_SIZE(tp->dead))
			tp->ndead = 0;
		while (k < tp->ndead && tp->dead[k] < pid)
			k++;
		memmove(&tp->dead[k + 1], &tp->dead[k], (tp->ndead - k) * sizeof(tp->dead[0]));
		tp->dead[k] = pid;
		tp->ndead++;
		tp->shown[i] = 0;
	}
	return tp->shown[i];
}
