// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/snapshot.h"

ASSERT_NAMES_THEN_U64S(struct dmaw_swiotlb_stats);
ASSERT_NAMES_THEN_U64S(struct dmaw_dmamap_stats);
ASSERT_NAMES_THEN_U64S(struct dmaw_vq_stats);

const char *const dmaw_dir_names[DMAW_DIRS] = { "bidirectional", "to_device", "from_device",
						"none" };

/* A stable stand-in for an unreadable dev_name(): a hash of the struct
 * device pointer (the pointer itself is a kernel address; not printed). */
static void unnamed(char *buf, size_t len, __u64 key)
{
	__u64 h = key * 0x9e3779b97f4a7c15ULL;

	snprintf(buf, len, "unnamed-%08llx", (unsigned long long)(h >> 32));
}

/* Bytes in use of family i's part of s, within its room. */
static size_t mine_bytes(const struct snapshot *s, size_t i)
{
	return s->mine_size[i] < SNAP_FAMILY_BYTES ? s->mine_size[i] : SNAP_FAMILY_BYTES;
}

void snapshot_reset(struct snapshot *s)
{
	for (size_t i = 0; i < FAMILY_IDS; i++)
		memset(s->mine[i], 0, mine_bytes(s, i));
	/* The header last (it holds mine_size); the rows are zeroed as they
	 * are added (snapshot_dev() ...). */
	memset(s, 0, offsetof(struct snapshot, devs));
}

void snapshot_copy(struct snapshot *dst, const struct snapshot *src)
{
	memcpy(dst, src, offsetof(struct snapshot, devs));
	memcpy(dst->devs, src->devs, src->ndevs * sizeof(src->devs[0]));
	memcpy(dst->vqs, src->vqs, src->nvqs * sizeof(src->vqs[0]));
	memcpy(dst->procs, src->procs, src->nprocs * sizeof(src->procs[0]));
	for (size_t i = 0; i < FAMILY_IDS; i++)
		memcpy(dst->mine[i], src->mine[i], mine_bytes(src, i));
}

size_t snapshot_used_bytes(const struct snapshot *s)
{
	size_t n = offsetof(struct snapshot, devs) + s->ndevs * sizeof(s->devs[0]) +
		   s->nvqs * sizeof(s->vqs[0]) + s->nprocs * sizeof(s->procs[0]);

	for (size_t i = 0; i < FAMILY_IDS; i++)
		n += mine_bytes(s, i);
	return n;
}

struct dev_snapshot *snapshot_dev(struct snapshot *s, const struct dmaw_names *names, __u64 key)
{
	char name[DMAW_DEV_NAME_LEN];
	struct dev_snapshot *d;

	if (names->dev[0])
		snprintf(name, sizeof(name), "%.*s", (int)sizeof(names->dev) - 1, names->dev);
	else
		unnamed(name, sizeof(name), key);
	for (size_t i = 0; i < s->ndevs; i++)
		if (!strcmp(s->devs[i].id.dev, name)) {
			d = &s->devs[i];
			goto found;
		}
	if (s->ndevs == SNAP_MAX_DEVS) {
		s->rows_cut++;
		return NULL;
	}
	d = &s->devs[s->ndevs++];
	memset(d, 0, sizeof(*d));
	memcpy(d->id.dev, name, sizeof(d->id.dev));
found:
	if (!d->id.driver[0])
		snprintf(d->id.driver, sizeof(d->id.driver), "%.*s", (int)sizeof(names->driver) - 1,
			 names->driver);
	return d;
}

const struct dev_snapshot *snapshot_find_dev(const struct snapshot *s, const char *name, bool gone)
{
	for (size_t i = 0; s && i < s->ndevs; i++)
		if (s->devs[i].gone == gone && !strcmp(s->devs[i].id.dev, name))
			return &s->devs[i];
	return NULL;
}

struct dev_snapshot *departed_row(struct departed *d, const struct dmaw_names *names,
				  enum departed_from from)
{
	struct dev_snapshot *row = NULL;
	size_t i;

	for (i = 0; i < d->n && !row; i++)
		if (!strncmp(d->rows[i].id.dev, names->dev, sizeof(names->dev)))
			row = &d->rows[i];
	if (!row) {
		if (d->n == DMAW_MAX_DEVS) {
			d->cut++;
			return NULL;
		}
		i = d->n++;
		row = &d->rows[i];
		memset(row, 0, sizeof(*row));
		row->id = *names;
		row->id.dev[sizeof(row->id.dev) - 1] = 0;
		row->id.driver[sizeof(row->id.driver) - 1] = 0;
		row->gone = true;
		memset(d->records[i], 0, sizeof(d->records[i]));
	} else {
		i--;
		if (!row->id.driver[0])
			memcpy(row->id.driver, names->driver, sizeof(row->id.driver) - 1);
	}
	d->records[i][from]++;
	row->departures = d->records[i][0] > d->records[i][1] ? d->records[i][0] : d->records[i][1];
	return row;
}

void snapshot_add_departed(struct snapshot *s, const struct departed *d)
{
	size_t live = s->ndevs;

	s->rows_cut += d->cut;
	for (size_t i = 0; i < d->n; i++) {
		for (size_t j = 0; j < live; j++)
			if (!strcmp(s->devs[j].id.dev, d->rows[i].id.dev))
				s->devs[j].departures = d->rows[i].departures;
		if (s->ndevs == SNAP_MAX_DEVS) {
			s->rows_cut++;
			continue;
		}
		s->devs[s->ndevs++] = d->rows[i];
	}
}

struct vq_snapshot *snapshot_vq(struct snapshot *s)
{
	if (s->nvqs == SNAP_MAX_VQS) {
		s->rows_cut++;
		return NULL;
	}
	memset(&s->vqs[s->nvqs], 0, sizeof(s->vqs[0]));
	return &s->vqs[s->nvqs++];
}

struct proc_snapshot *snapshot_proc(struct snapshot *s)
{
	if (s->nprocs == SNAP_MAX_PROCS) {
		s->rows_cut++;
		return NULL;
	}
	memset(&s->procs[s->nprocs], 0, sizeof(s->procs[0]));
	return &s->procs[s->nprocs++];
}

static int cmp_pid(const void *a, const void *b)
{
	const struct proc_snapshot *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* q's bytes in prev: looked up in by_pid (prev's rows sorted by pid) or,
 * when there was no memory for that copy, by walking prev's rows. */
static __u64 bytes_before(const struct snapshot *prev, const struct proc_snapshot *by_pid,
			  const struct proc_snapshot *q)
{
	const struct proc_snapshot *b = NULL;

	if (by_pid)
		b = bsearch(q, by_pid, prev->nprocs, sizeof(*by_pid), cmp_pid);
	for (size_t i = 0; !by_pid && prev && i < prev->nprocs && !b; i++)
		if (prev->procs[i].pid == q->pid)
			b = &prev->procs[i];
	return b ? b->st.bytes : 0;
}

/* Bytes bounced since the previous snapshot. None when the counter went
 * back: the table evicted a process and its pid came back as another. */
static __u64 bytes_since(const struct proc_rank *r)
{
	return r->p.st.bytes > r->bytes_before ? r->p.st.bytes - r->bytes_before : 0;
}

/* Largest first (compared, never subtracted). */
static int cmp_proc_rank(const void *a, const void *b)
{
	const struct proc_rank *x = a, *y = b;
	__u64 dx = bytes_since(x), dy = bytes_since(y);

	if (dx != dy)
		return dx < dy ? 1 : -1;
	if (x->p.st.bytes != y->p.st.bytes)
		return x->p.st.bytes < y->p.st.bytes ? 1 : -1;
	return x->p.pid < y->p.pid ? -1 : x->p.pid > y->p.pid;
}

/* Every row of s, ranked, into all (room for s->nprocs). */
static void rank_all(const struct snapshot *prev, const struct snapshot *s, struct proc_rank *all)
{
	size_t nb = prev ? prev->nprocs : 0;
	struct proc_snapshot *by_pid = nb ? malloc(nb * sizeof(*by_pid)) : NULL;

	if (by_pid) {
		memcpy(by_pid, prev->procs, nb * sizeof(*by_pid));
		qsort(by_pid, nb, sizeof(*by_pid), cmp_pid);
	}
	for (size_t i = 0; i < s->nprocs; i++) {
		all[i].p = s->procs[i];
		all[i].bytes_before = bytes_before(prev, by_pid, &s->procs[i]);
	}
	qsort(all, s->nprocs, sizeof(*all), cmp_proc_rank);
	free(by_pid);
}

size_t snapshot_rank_procs(const struct snapshot *prev, const struct snapshot *s,
			   struct proc_rank *out, size_t max)
{
	size_t n = s->nprocs < max ? s->nprocs : max;
	struct proc_rank *all;

	if (!n)
		return 0;
	/* With room for every row, out is where they are ranked. */
	all = n < s->nprocs ? malloc(s->nprocs * sizeof(*all)) : out;
	if (!all) {
		/* Unsorted is better than nothing. */
		for (size_t i = 0; i < n; i++) {
			out[i].p = s->procs[i];
			out[i].bytes_before = bytes_before(prev, NULL, &s->procs[i]);
		}
		return n;
	}
	rank_all(prev, s, all);
	if (all != out) {
		memcpy(out, all, n * sizeof(*out));
		free(all);
	}
	return n;
}

size_t snapshot_top_procs(const struct snapshot *s, struct proc_snapshot *out, size_t max)
{
	size_t n = s->nprocs < max ? s->nprocs : max;
	struct proc_rank *ranked;

	if (!n)
		return 0;
	ranked = malloc(n * sizeof(*ranked));
	if (!ranked) {
		/* Unsorted is better than nothing. */
		memcpy(out, s->procs, n * sizeof(*out));
		return n;
	}
	n = snapshot_rank_procs(NULL, s, ranked, n);
	for (size_t i = 0; i < n; i++)
		out[i] = ranked[i].p;
	free(ranked);
	return n;
}

void add_u64_fields(void *dst, const void *src, size_t size)
{
	__u64 *d = (__u64 *)((char *)dst + sizeof(struct dmaw_names));
	const __u64 *s = (const __u64 *)((const char *)src + sizeof(struct dmaw_names));

	for (size_t i = 0; i < (size - sizeof(struct dmaw_names)) / sizeof(__u64); i++)
		d[i] += s[i];
}

void sum_percpu_u64(void *out, const void *percpu, size_t size, int ncpus)
{
	size_t stride = (size + 7) & ~(size_t)7;
	struct dmaw_names *names = out;

	memset(out, 0, size);
	for (int cpu = 0; cpu < ncpus; cpu++) {
		const void *v = (const char *)percpu + cpu * stride;
		const struct dmaw_names *n = v;

		if (!names->dev[0] && n->dev[0])
			*names = *n;
		add_u64_fields(out, v, size);
	}
	names->dev[sizeof(names->dev) - 1] = 0;
	names->driver[sizeof(names->driver) - 1] = 0;
}
