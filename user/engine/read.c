// SPDX-License-Identifier: GPL-2.0
/* Reading: every running family's maps and the shared ones into a
 * snapshot, the runs the kernel skipped, and the events waiting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "engine/internal.h"
#include "engine/lab_faults.h"
#include "util.h"

int read_percpu_hash(int map_fd, size_t key_size, size_t value_size, percpu_entry_fn fn, void *ctx)
{
	int ncpus = libbpf_num_possible_cpus();
	size_t stride = (value_size + 7) & ~(size_t)7;
	char *key, *next, *percpu;
	int err;

	if (ncpus <= 0)
		return -EINVAL;
	percpu = malloc(stride * ncpus + 2 * key_size);
	if (!percpu)
		return -ENOMEM;
	key = percpu + stride * ncpus;
	next = key + key_size;
	for (err = bpf_map_get_next_key(map_fd, NULL, next); !err;
	     err = bpf_map_get_next_key(map_fd, key, next)) {
		memcpy(key, next, key_size);
		/* Deleted between the two calls: skip it. */
		if (bpf_map_lookup_elem(map_fd, key, percpu))
			continue;
		if (fn(ctx, key, percpu, ncpus))
			break;
	}
	free(percpu);
	return 0;
}

static int add_proc(void *ctx, const void *key, const void *percpu, int ncpus)
{
	const struct dmaw_proc_stats *per = percpu;
	struct proc_snapshot *p = snapshot_proc(ctx);

	if (!p)
		return 0; /* counted; the rest are counted too */
	p->pid = *(const __u32 *)key;
	for (int c = 0; c < ncpus; c++) {
		/* comm is filled on the CPU that saw the process first. */
		if (!p->st.comm[0] && per[c].comm[0])
			memcpy(p->st.comm, per[c].comm, sizeof(p->st.comm));
		p->st.maps += per[c].maps;
		p->st.bytes += per[c].bytes;
	}
	p->st.comm[sizeof(p->st.comm) - 1] = 0;
	return 0;
}

/* The maps every family shares: event drops and processes. */
static void read_common(struct engine *e, struct snapshot *s)
{
	int ncpus = libbpf_num_possible_cpus();
	__u32 zero = 0;

	int drops_fd = e->shared_fd[SHARED_EVENT_DROPS], procs_fd = e->shared_fd[SHARED_PROC_STATS];

	if (ncpus > 0 && drops_fd >= 0) {
		__u64 *drops = calloc(ncpus, sizeof(*drops));

		if (drops && !bpf_map_lookup_elem(drops_fd, &zero, drops))
			for (int c = 0; c < ncpus; c++)
				s->event_drops += drops[c];
		free(drops);
	}
	if (procs_fd >= 0)
		read_percpu_hash(procs_fd, sizeof(__u32), sizeof(struct dmaw_proc_stats), add_proc,
				 s);
}

/* The runs the kernel skipped, over the family's loaded programs. */
static __u64 missed_runs(const struct family_run *f)
{
	struct bpf_program *prog;
	__u64 n = 0;

	if (!f->obj)
		return 0;
	bpf_object__for_each_program (prog, f->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

int engine_read(struct engine *e, struct snapshot *s)
{
	snapshot_reset(s);
	s->time_s = mono_s();
	s->detail = e->opts.detail;
	for (size_t i = 0; i < e->nruns; i++) {
		if (e->runs[i].running) {
			s->mine_size[i] = e->runs[i].ops->snap_size;
			e->runs[i].ops->read(&e->runs[i], s);
			s->missed_runs[i] = missed_runs(&e->runs[i]);
		}
		if (i == e->nruns / 2)
			test_stop_at("read");
	}
	read_common(e, s);
	if (e->departed)
		snapshot_add_departed(s, e->departed);
	return 0;
}

int engine_event_fd(const struct engine *e)
{
	return e->rb ? ring_buffer__epoll_fd(e->rb) : -1;
}

int engine_consume(struct engine *e)
{
	int n = e->rb ? ring_buffer__consume(e->rb) : 0;

	return n == -EINTR ? 0 : n;
}
