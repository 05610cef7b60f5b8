// SPDX-License-Identifier: GPL-2.0
/* Virtqueue family, user half: its hooks and per-virtqueue totals. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "engine.h"
#include "family.h"
#include "virtqueue.skel.h"

struct virtqueue_state {
	struct virtqueue_bpf *skel; /* first: FAMILY_SKELETON */
};

/* virtio_ring is a module on some kernels (Debian 6.1), built in on others
 * (6.12): calibration looks in vmlinux, then in its module's BTF. No hook
 * is required alone; the family needs one of the three. */
static const struct hook hooks[] = {
	{ .funcs = { "virtqueue_add_sgs" }, .module = "virtio_ring", .prog = "vq_add_sgs",
	  .progs = HOOK_TRAMPOLINE | HOOK_KPROBES },
	{ .funcs = { "virtqueue_add_outbuf" }, .module = "virtio_ring", .prog = "vq_add_outbuf",
	  .progs = HOOK_TRAMPOLINE | HOOK_KPROBES },
	{ .funcs = { "virtqueue_add_inbuf" }, .module = "virtio_ring", .prog = "vq_add_inbuf",
	  .progs = HOOK_TRAMPOLINE | HOOK_KPROBES },
};

FAMILY_SKELETON(virtqueue)

static int add_vq(void *ctx, const void *key, const void *percpu, int ncpus)
{
	struct vq_snapshot *v = snapshot_vq(ctx);

	if (!v)
		return 0;
	memcpy(&v->key, key, sizeof(v->key));
	v->key.dev[sizeof(v->key.dev) - 1] = 0;
	v->key.vq[sizeof(v->key.vq) - 1] = 0;
	sum_percpu_u64(&v->st, percpu, sizeof(v->st), ncpus);
	return 0;
}

static int virtqueue_read(struct fam *f, struct snapshot *s)
{
	struct virtqueue_state *st = f->state;

	return read_percpu_hash(bpf_map__fd(st->skel->maps.vq_stats), sizeof(struct dmaw_vq_key),
				sizeof(struct dmaw_vq_stats), add_vq, s);
}

const struct family virtqueue_family = {
	.name = "virtqueue",
	.summary = "virtqueue_add_*: submissions, failures and never-fitting requests per queue",
	.hooks = hooks,
	.nhooks = sizeof(hooks) / sizeof(hooks[0]),
	.needs_a_hook = true,
	.state_size = sizeof(struct virtqueue_state),
	.open = virtqueue_skel_open,
	.load = virtqueue_skel_load,
	.read = virtqueue_read,
	.destroy = virtqueue_skel_destroy,
};
