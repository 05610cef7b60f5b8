// SPDX-License-Identifier: GPL-2.0
/*
 * Enforce family: what `dmawatch enforce` (user/enforce/enforce.c) decides,
 * shown by stat, export and dmatop. The family attaches nothing: one
 * enforcer at a time holds should_fail_bio(), and stat or an exporter must
 * not become a second one. Each read finds the attached enforcer by its
 * program's name among the kernel's BPF links and reads its counters
 * through the program's own maps; with none attached the family shows
 * nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "engine/engine.h"
#include "engine/ksyms.h"
#include "family/enforce_find.h"
#include "family/family.h"
#include "out/json.h"
#include "out/prom.h"
#include "out/report.h"
#include "out/stack.h"
#include "top/canvas.h"
#include "util.h"

const char *const enf_prog_names[2] = { "enforce_deny", "enforce_tp" };
const char *const enf_policy_names[DMAW_ENF_POLICIES] = { "never-fit", "max-segment", "max-bytes" };

/* Is this link's program one of enforce's? Fills x's ids and name. */
static bool is_enforcer(__u32 link_id, struct enf_found *x)
{
	struct bpf_link_info li = {};
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(li), plen = sizeof(pi);
	int fd = bpf_link_get_fd_by_id(link_id), pfd;
	bool found = false;

	if (fd < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, &li, &len)) {
		close(fd);
		return false;
	}
	close(fd);
	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd < 0)
		return false;
	if (!bpf_obj_get_info_by_fd(pfd, &pi, &plen))
		for (size_t k = 0; k < ARRAY_SIZE(enf_prog_names) && !found; k++)
			found = !strcmp(pi.name, enf_prog_names[k]);
	close(pfd);
	if (found) {
		x->attached = 1;
		x->prog_id = li.prog_id;
		x->link_id = link_id;
		snprintf(x->prog, sizeof(x->prog), "%s", pi.name);
		x->mode = !strcmp(pi.name, "enforce_deny") ? DMAW_ENF_DENY : DMAW_ENF_AUDIT;
	}
	return found;
}

/* The program's maps named enf_rules, enf_stats and enf_last (-1 where
 * missing). */
static void prog_maps(__u32 prog_id, int *rules, int *stats, int *last)
{
	struct bpf_prog_info pi = {};
	__u32 plen = sizeof(pi), ids[8] = {};
	int pfd = bpf_prog_get_fd_by_id(prog_id);

	*rules = *stats = *last = -1;
	if (pfd < 0)
		return;
	pi.nr_map_ids = ARRAY_SIZE(ids);
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(pfd, &pi, &plen)) {
		close(pfd);
		return;
	}
	close(pfd);
	for (__u32 i = 0; i < pi.nr_map_ids && i < ARRAY_SIZE(ids); i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			if (!strcmp(mi.name, "enf_rules") && *rules < 0) {
				*rules = fd;
				continue;
			}
			if (!strcmp(mi.name, "enf_stats") && *stats < 0) {
				*stats = fd;
				continue;
			}
			if (!strcmp(mi.name, "enf_last") && *last < 0) {
				*last = fd;
				continue;
			}
		}
		if (fd >= 0)
			close(fd);
	}
}

void enf_read_counts(int stats, struct enf_disk_counts *d)
{
	int ncpus = libbpf_num_possible_cpus();
	struct dmaw_enf_stats *per = ncpus > 0 ? calloc(ncpus, sizeof(*per)) : NULL;

	if (!per || bpf_map_lookup_elem(stats, &d->devt, per)) {
		free(per);
		return;
	}
	for (int c = 0; c < ncpus; c++) {
		d->checked += per[c].checked;
		d->queued += per[c].queued;
		for (int k = 0; k < DMAW_ENF_POLICIES; k++) {
			d->hits[k] += per[c].hits[k];
			d->bytes[k] += per[c].hit_bytes[k];
		}
	}
	free(per);
}

bool enforcer_find(struct enf_found *x, bool counts)
{
	__u32 id = 0, key, next, *prev = NULL;
	int rules, stats, last;

	memset(x, 0, sizeof(*x));
	while (!x->attached && !bpf_link_get_next_id(id, &id))
		is_enforcer(id, x);
	if (!x->attached || !counts)
		return x->attached;
	prog_maps(x->prog_id, &rules, &stats, &last);
	while (rules >= 0 && x->ndisks < DMAW_ENF_SNAP_DISKS &&
	       !bpf_map_get_next_key(rules, prev, &next)) {
		struct enf_disk_counts *d = &x->disks[x->ndisks];
		struct dmaw_enf_rule r;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(rules, &key, &r))
			continue;
		memset(d, 0, sizeof(*d));
		d->devt = key;
		d->policies = r.policies;
		d->pool_slots = r.pool_slots;
		memcpy(d->name, r.disk, sizeof(d->name));
		d->name[sizeof(d->name) - 1] = 0;
		if (stats >= 0)
			enf_read_counts(stats, d);
		if (last >= 0 && bpf_map_lookup_elem(last, &key, &d->last))
			memset(&d->last, 0, sizeof(d->last));
		x->ndisks++;
	}
	if (rules >= 0)
		close(rules);
	if (stats >= 0)
		close(stats);
	if (last >= 0)
		close(last);
	return true;
}

/* ---- the family ------------------------------------------------------------- */

static int enforce_read(struct family_run *f, struct snapshot *s)
{
	(void)f;
	enforcer_find(SNAPSHOT_MINE(s, enforce), true);
	return 0;
}

static const char *action(const struct enf_found *x)
{
	return x->mode == DMAW_ENF_DENY ? "denied" : "audited";
}

static const struct enf_disk_counts *disk_in(const struct snapshot *s, __u32 devt)
{
	const struct enf_found *x = s ? SNAPSHOT_MINE(s, enforce) : NULL;

	for (__u32 i = 0; x && i < x->ndisks; i++)
		if (x->disks[i].devt == devt)
			return &x->disks[i];
	return NULL;
}

static void json(struct json *j, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct enf_found *x = SNAPSHOT_MINE(cur, enforce);
	char dev[24];

	(void)prev;
	if (!x->attached)
		return;
	json_object_begin(j, "enforce");
	json_string(j, "mode", x->mode == DMAW_ENF_DENY ? "deny" : "audit");
	json_string(j, "program", x->prog);
	json_array_begin(j, "disks");
	for (__u32 i = 0; i < x->ndisks; i++) {
		const struct enf_disk_counts *d = &x->disks[i];

		snprintf(dev, sizeof(dev), "%u:%u", d->devt >> 20, d->devt & 0xfffff);
		json_object_begin(j, NULL);
		json_string(j, "disk", d->name);
		json_string(j, "dev", dev);
		json_u64(j, "checked", d->checked);
		json_object_begin(j, action(x));
		for (int k = 0; k < DMAW_ENF_POLICIES; k++)
			if (d->policies & (1u << k))
				json_u64(j, enf_policy_names[k], d->hits[k]);
		json_object_end(j);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static void text_tail(FILE *out, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct enf_found *x = SNAPSHOT_MINE(cur, enforce);
	double dt = report_interval(prev, cur);

	for (__u32 i = 0; x->attached && i < x->ndisks; i++) {
		const struct enf_disk_counts *d = &x->disks[i], *p = disk_in(prev, d->devt);

		if (!i)
			fprintf(out, "%-16s %8s %10s %12s %12s %12s\n",
				x->mode == DMAW_ENF_DENY ? "ENFORCE-DENY" : "ENFORCE-AUDIT",
				"BIOS/S", "CHECKED", "NEVER-FIT", "MAX-SEGMENT", "MAX-BYTES");
		fprintf(out, "%-16s %8.0f %10llu %12llu %12llu %12llu\n", d->name,
			report_rate(d->checked, p ? p->checked : 0, dt),
			(unsigned long long)d->checked, (unsigned long long)d->hits[0],
			(unsigned long long)d->hits[1], (unsigned long long)d->hits[2]);
	}
}

static void prom(struct prom_out *o)
{
	const struct enf_found *x = SNAPSHOT_MINE(o->s, enforce);
	static struct prom_rows r;
	char l[PROM_LABELS_LEN];
	const char *name = x->mode == DMAW_ENF_DENY ? "dmawatch_enforce_denied_total" :
						      "dmawatch_enforce_audited_total";

	if (!x->attached || !x->ndisks)
		return;
	r.n = 0;
	for (__u32 i = 0; i < x->ndisks; i++) {
		l[0] = 0;
		prom_add_label(l, sizeof(l), "device", x->disks[i].name, sizeof(x->disks[i].name));
		prom_rows_add(&r, i, l);
	}
	prom_family(o, "dmawatch_enforce_checked_total", "counter",
		    "Read and write bios dmawatch enforce checked at submission.");
	for (size_t i = 0; i < r.n; i++)
		prom_sample(o, "dmawatch_enforce_checked_total", r.labels[i], NULL,
			    x->disks[r.idx[i]].checked);
	prom_family(o, name, "counter",
		    x->mode == DMAW_ENF_DENY ?
			    "Bios dmawatch enforce failed with EIO at submission, by policy." :
			    "Bios dmawatch enforce --audit would have failed, by policy.");
	for (size_t i = 0; i < r.n; i++) {
		const struct enf_disk_counts *d = &x->disks[r.idx[i]];

		for (int k = 0; k < DMAW_ENF_POLICIES; k++) {
			char pl[PROM_LABELS_LEN];

			if (!(d->policies & (1u << k)))
				continue;
			snprintf(pl, sizeof(pl), "%s", r.labels[i]);
			prom_add_label(pl, sizeof(pl), "policy", enf_policy_names[k],
				       strlen(enf_policy_names[k]) + 1);
			prom_sample(o, name, pl, NULL, d->hits[k]);
		}
	}
}

/* Counters never go down while the same enforcer runs. */
static void keep(struct snapshot *cur, const struct snapshot *last)
{
	struct enf_found *x = SNAPSHOT_MINE(cur, enforce);
	const struct enf_found *l = SNAPSHOT_MINE(last, enforce);

	if (!x->attached || x->prog_id != l->prog_id)
		return;
	for (__u32 i = 0; i < x->ndisks; i++) {
		struct enf_disk_counts *d = &x->disks[i];
		const struct enf_disk_counts *p = disk_in(last, d->devt);

		if (!p)
			continue;
		if (p->checked > d->checked)
			d->checked = p->checked;
		for (int k = 0; k < DMAW_ENF_POLICIES; k++)
			if (p->hits[k] > d->hits[k])
				d->hits[k] = p->hits[k];
	}
}

/*
 * trace: a record per disk whose decisions grew over the interval, with
 * the latest one's details (the enforcer's own output has each); the
 * count says how many it stands for. Decisions before trace's first read
 * are not news.
 */
static void trace(struct trace_out *t, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct enf_found *x = SNAPSHOT_MINE(cur, enforce);
	const struct enf_found *px = prev ? SNAPSHOT_MINE(prev, enforce) : NULL;
	const char *kind = x->mode == DMAW_ENF_DENY ? "enforce-deny" : "enforce-audit";

	if (!x->attached || !px)
		return;
	for (__u32 i = 0; i < x->ndisks; i++) {
		const struct enf_disk_counts *d = &x->disks[i], *p = disk_in(prev, d->devt);
		const struct dmaw_enf_event *ev = &d->last;
		__u64 now = d->hits[0] + d->hits[1] + d->hits[2], before = 0;
		int depth = t->stack ? stack_depth(ev->stack_len) : 0;
		const char *policy = enf_policy_names[dmaw_enf_policy_index(ev->policy)];

		if (p && px->prog_id == x->prog_id)
			before = p->hits[0] + p->hits[1] + p->hits[2];
		if (now <= before || !ev->ts_ns)
			continue;
		if (t->json) {
			json_object_begin(t->j, NULL);
			json_double(t->j, "time_s", ev->ts_ns / 1e9);
			json_string(t->j, "kind", kind);
			json_string(t->j, "policy", policy);
			json_u64(t->j, "pid", ev->pid);
			json_string(t->j, "comm", ev->comm);
			json_string(t->j, "disk", ev->disk);
			json_u64(t->j, "size", ev->bytes);
			json_u64(t->j, "slots_needed", ev->slots_needed);
			json_u64(t->j, "slots_total", ev->pool_slots);
			json_u64(t->j, "segment_bytes", ev->seg_bytes);
			json_u64(t->j, "count", now - before);
			json_stack(t->j, "stack", t->ks, ev->stack, depth);
			json_object_end(t->j);
			json_end_line(t->j);
			continue;
		}
		printf("%.6f %-13s %-16s %6u %-11s %-16s size=%llu slots=%llu/%u segment=%llu count=%llu\n",
		       ev->ts_ns / 1e9, kind, ev->comm, ev->pid, policy, ev->disk,
		       (unsigned long long)ev->bytes, (unsigned long long)ev->slots_needed,
		       ev->pool_slots, (unsigned long long)ev->seg_bytes,
		       (unsigned long long)(now - before));
		text_stack(stdout, t->ks, ev->stack, depth);
	}
	fflush(stdout);
}

/* dmatop: a line while an enforcer is attached. */
static int top(struct canvas *c, int y, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct enf_found *x = SNAPSHOT_MINE(cur, enforce);
	int px;

	(void)prev;
	if (!x->attached)
		return y;
	px = cprintf(c, y, 0, P_TITLE, "Enforce");
	px = cprintf(c, y, px + 1, P_NORMAL, "%s", x->mode == DMAW_ENF_DENY ? "deny" : "audit");
	for (__u32 i = 0; i < x->ndisks; i++) {
		const struct enf_disk_counts *d = &x->disks[i];
		__u64 n = d->hits[0] + d->hits[1] + d->hits[2];

		px = cprintf(c, y, px + 1, n ? P_BAD : P_NORMAL, "%s %s %llu", d->name, action(x),
			     (unsigned long long)n);
	}
	return y + 1;
}

const struct family enforce_family = {
	.name = "enforce",
	.summary = "what 'dmawatch enforce' denies or audits, per disk (attaches nothing itself)",
	/* No BPF of its own: it reads the enforcer's, found by name. */
	.read = enforce_read,
	.snap_size = FAMILY_SNAPSHOT(struct enf_found),
	.view = {
		.json = json,
		.text_tail = text_tail,
		.prom = prom,
		.keep = keep,
		.trace = trace,
		.top = top,
	},
};
