// SPDX-License-Identifier: GPL-2.0
/* Virtqueue family, user half: program choice and per-virtqueue totals. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "engine.h"
#include "virtqueue.skel.h"

#define FAMILY "virtqueue"

static struct bpf_object *virtqueue_open(struct engine *e)
{
	struct virtqueue_bpf *skel = virtqueue_bpf__open();
	int chosen = 0;

	if (!skel)
		return NULL;
	e->virtqueue = skel;
	/* virtio_ring may be a module (6.1) or built in (6.12): calibration
	 * looked in both BTFs. The fentry/fexit pair when the trampoline
	 * attaches, else the kprobe/kretprobe pair. */
	chosen += choose_hook(e, FAMILY, skel->obj, FN_VIRTQUEUE_ADD_SGS, "vq_add_sgs") !=
		  ATTACH_NONE;
	chosen += choose_hook(e, FAMILY, skel->obj, FN_VIRTQUEUE_ADD_OUTBUF, "vq_add_outbuf") !=
		  ATTACH_NONE;
	chosen += choose_hook(e, FAMILY, skel->obj, FN_VIRTQUEUE_ADD_INBUF, "vq_add_inbuf") !=
		  ATTACH_NONE;
	if (!chosen) {
		/* No virtio on this kernel (or virtio_ring not loaded yet). */
		virtqueue_bpf__destroy(skel);
		e->virtqueue = NULL;
		errno = ENOENT;
		return NULL;
	}
	return skel->obj;
}

static int virtqueue_attach(struct engine *e)
{
	return engine_attach_object(e, e->virtqueue->obj, NULL);
}

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

static int virtqueue_read(struct engine *e, struct snapshot *s)
{
	return read_percpu_hash(e->virtqueue->maps.vq_stats, sizeof(struct dmaw_vq_key),
				sizeof(struct dmaw_vq_stats), add_vq, s);
}

static void virtqueue_destroy(struct engine *e)
{
	virtqueue_bpf__destroy(e->virtqueue);
	e->virtqueue = NULL;
}

const struct family virtqueue_family = {
	.name = FAMILY,
	.open = virtqueue_open,
	.attach = virtqueue_attach,
	.read = virtqueue_read,
	.destroy = virtqueue_destroy,
};
