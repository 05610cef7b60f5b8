// SPDX-License-Identifier: GPL-2.0
/*
 * enforce prints what its programs decided to stdout: each event of the
 * ring buffer as it happens, and each disk's counts, as text or as JSON
 * lines.
 */
#include <stdio.h>

#include "enforce/enforce_cmd.h"
#include "family/enforce.h"
#include "family/enforce_find.h"
#include "out/json.h"
#include "out/stack.h"
#include "util.h"

static const char *op_name(__u32 op)
{
	return op == 0 ? "read" : op == 1 ? "write" : "other";
}

int enf_on_event(void *ctx, void *data, size_t len)
{
	struct enforcer *e = ctx;
	const struct dmaw_enf_event *ev = data;
	const char *action = ev->mode == DMAW_ENF_DENY ? "deny" : "audit";
	const char *policy = enf_policy_names[dmaw_enf_policy_index(ev->policy)];
	uint64_t used = 0;
	bool have_used;
	char dev[24];

	if (len < sizeof(*ev))
		return 0;
	have_used = read_u64_file(ENF_SWIOTLB_DEBUGFS "/io_tlb_used", &used);
	snprintf(dev, sizeof(dev), "%u:%u", ev->devt >> 20, ev->devt & 0xfffff);
	if (e->o.json) {
		json_object_begin(&e->j, NULL);
		json_string(&e->j, "event", action);
		json_string(&e->j, "policy", policy);
		json_string(&e->j, "disk", ev->disk);
		json_string(&e->j, "dev", dev);
		json_string(&e->j, "op", op_name(ev->op));
		json_u64(&e->j, "bytes", ev->bytes);
		json_u64(&e->j, "slots_needed", ev->slots_needed);
		if (ev->pool_slots != DMAW_ENF_POOL_GROWS)
			json_u64(&e->j, "pool_slots", ev->pool_slots);
		json_bool(&e->j, "pool_grows", ev->pool_slots == DMAW_ENF_POOL_GROWS);
		if (have_used)
			json_u64(&e->j, "pool_used_now", used);
		json_u64(&e->j, "segment_bytes", ev->seg_bytes);
		json_u64(&e->j, "requests", ev->reqs);
		json_u64(&e->j, "pid", ev->pid);
		json_string(&e->j, "comm", ev->comm);
		json_stack(&e->j, "stack", e->ksyms, ev->stack, stack_depth(ev->stack_len));
		json_object_end(&e->j);
		json_end_line(&e->j);
	} else {
		printf("%s %s: %s %s of %llu bytes by %s (pid %u): ",
		       ev->mode == DMAW_ENF_DENY ? "DENIED" : "AUDIT", policy, ev->disk,
		       op_name(ev->op), (unsigned long long)ev->bytes, ev->comm, ev->pid);
		if (ev->policy == DMAW_ENF_NEVER_FIT && ev->pool_slots == DMAW_ENF_POOL_GROWS)
			printf("a DMA segment of %llu bytes needs more than %d slots: no pool, "
			       "grown or not, holds it",
			       (unsigned long long)ev->seg_bytes, DMAW_IO_TLB_SEGSIZE);
		else if (ev->policy == DMAW_ENF_NEVER_FIT)
			printf("its largest request needs %llu slots (%llu-byte segments at most), "
			       "the pool has %u",
			       (unsigned long long)ev->slots_needed,
			       (unsigned long long)ev->seg_bytes, ev->pool_slots);
		else if (ev->policy == DMAW_ENF_MAX_SEGMENT)
			printf("a DMA segment of %llu bytes", (unsigned long long)ev->seg_bytes);
		else
			printf("over the byte cap");
		if (have_used)
			printf(" (%llu in use now)", (unsigned long long)used);
		printf("\n");
	}
	fflush(stdout);
	return 0;
}

void enf_print_counts(struct json *j, bool as_json, const char *action, const char *disk,
		      __u32 devt, const struct enf_disk_counts *c)
{
	if (as_json) {
		char dev[24];

		snprintf(dev, sizeof(dev), "%u:%u", devt >> 20, devt & 0xfffff);
		json_object_begin(j, NULL);
		json_string(j, "summary", action);
		json_string(j, "disk", disk);
		json_string(j, "dev", dev);
		json_u64(j, "checked", c->checked);
		if (action[0] == 'd')
			json_u64(j, "queued", c->queued);
		json_object_begin(j, action[0] == 'd' ? "denied" : "audited");
		for (int k = 0; k < DMAW_ENF_POLICIES; k++)
			json_u64(j, enf_policy_names[k], c->hits[k]);
		json_object_end(j);
		json_object_end(j);
		json_end_line(j);
		return;
	}
	printf("%s: %s: %llu bios checked", action, disk, (unsigned long long)c->checked);
	for (int k = 0; k < DMAW_ENF_POLICIES; k++)
		if (c->hits[k])
			printf(", %s %llu (%llu bytes)", enf_policy_names[k],
			       (unsigned long long)c->hits[k], (unsigned long long)c->bytes[k]);
	printf("\n");
}
