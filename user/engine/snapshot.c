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
		snprintf(d->id.driver, sizeof(d->id.driver), "%.*s",
			 (int)sizeof(names->driver) - 1, names->driver);
	return d;
}

const struct dev_snapshot *snapshot_find_dev(const struct snapshot *s, const char *name)
{
	for (size_t i = 0; s && i < s->ndevs; i++)
		if (!strcmp(s->devs[i].id.dev, name))
			return &s->devs[i];
	return NULL;
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

static int cmp_proc_bytes(const void *a, const void *b)
{
	const struct proc_snapshot *x = a, *y = b;

	if (x->st.bytes != y->st.bytes)
		return x->st.bytes < y->st.bytes ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

size_t snapshot_top_procs(const struct snapshot *s, struct proc_snapshot *out, size_t max)
{
	struct proc_snapshot *all;
	size_t n = s->nprocs < max ? s->nprocs : max;

	if (!n)
		return 0;
	all = malloc(s->nprocs * sizeof(*all));
	if (!all) {
		/* Unsorted is better than nothing. */
		memcpy(out, s->procs, n * sizeof(*out));
		return n;
	}
	memcpy(all, s->procs, s->nprocs * sizeof(*all));
	qsort(all, s->nprocs, sizeof(*all), cmp_proc_bytes);
	memcpy(out, all, n * sizeof(*out));
	free(all);
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
