// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "calibrate.h"
#include "ksyms.h"

static const struct {
	const char *name, *module;
} func_names[FN_COUNT] = {
	[FN_SWIOTLB_MAP] = { "swiotlb_map" },
	[FN_SWIOTLB_TBL_MAP_SINGLE] = { "swiotlb_tbl_map_single" },
	[FN_SWIOTLB_TBL_UNMAP_SINGLE] = { "swiotlb_tbl_unmap_single" },
	/* 6.6+ made the three below inline wrappers of __-prefixed ones. */
	[FN___SWIOTLB_TBL_UNMAP_SINGLE] = { "__swiotlb_tbl_unmap_single" },
	[FN_SWIOTLB_RELEASE_SLOTS] = { "swiotlb_release_slots" },
	[FN_SWIOTLB_SYNC_FOR_DEVICE] = { "swiotlb_sync_single_for_device" },
	[FN_SWIOTLB_SYNC_FOR_CPU] = { "swiotlb_sync_single_for_cpu" },
	[FN___SWIOTLB_SYNC_FOR_DEVICE] = { "__swiotlb_sync_single_for_device" },
	[FN___SWIOTLB_SYNC_FOR_CPU] = { "__swiotlb_sync_single_for_cpu" },
	[FN_DMA_MAP_PAGE_ATTRS] = { "dma_map_page_attrs" },
	[FN_DMA_UNMAP_PAGE_ATTRS] = { "dma_unmap_page_attrs" },
	[FN_DMA_MAP_SG_ATTRS] = { "dma_map_sg_attrs" },
	[FN___DMA_MAP_SG_ATTRS] = { "__dma_map_sg_attrs" },
	[FN_DMA_MAP_SGTABLE] = { "dma_map_sgtable" },
	/* virtio_ring is a module on some kernels (Debian 6.1), built in on
	 * others (6.12): looked up in vmlinux first, then in its module BTF. */
	[FN_VIRTQUEUE_ADD_SGS] = { "virtqueue_add_sgs", "virtio_ring" },
	[FN_VIRTQUEUE_ADD_OUTBUF] = { "virtqueue_add_outbuf", "virtio_ring" },
	[FN_VIRTQUEUE_ADD_INBUF] = { "virtqueue_add_inbuf", "virtio_ring" },
};

static const char *const tp_names[TP_COUNT] = {
	[TP_SWIOTLB_BOUNCED] = "swiotlb/swiotlb_bounced",
	[TP_DMA_MAP_PAGE] = "dma/dma_map_page",
	[TP_DMA_MAP_SG] = "dma/dma_map_sg",
	/* Where dma_map_phys() joined the DMA API (Debian's 7.3), its event
	 * replaces dma_map_page: dma_map_page_attrs() calls dma_map_phys(). */
	[TP_DMA_MAP_PHYS] = "dma/dma_map_phys",
};

const char *kernel_strerror(int err)
{
	/* ENOTSUPP is kernel-internal: libc has no text for it. */
	if (err == 524)
		return "ENOTSUPP, no BPF trampoline for this function";
	return strerror(err);
}

const char *attach_kind_name(enum attach_kind k)
{
	switch (k) {
	case ATTACH_FENTRY: return "fentry";
	case ATTACH_KPROBE: return "kprobe";
	case ATTACH_TP_BTF: return "tp_btf";
	case ATTACH_RAW_TP: return "raw_tp";
	default: return "none";
	}
}

/* The fd of a module's BTF object, for attach_btf_obj_fd; -1 if absent. */
static int module_btf_fd(const char *module)
{
	__u32 id = 0;

	while (!bpf_btf_get_next_id(id, &id)) {
		struct bpf_btf_info info = {};
		__u32 len = sizeof(info);
		char name[64] = "";
		int fd = bpf_btf_get_fd_by_id(id);

		if (fd < 0)
			continue;
		info.name = (__u64)(unsigned long)name;
		info.name_len = sizeof(name);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(name, module))
			return fd;
		close(fd);
	}
	return -1;
}

/* Loads "r0 = 0; exit" as an fentry program on btf_id and attaches it: the
 * only reliable test, since a function can be in BTF and still refuse a
 * trampoline (-ENOTSUPP, 524, for 7 arguments on 6.1 x86). */
static int trial_fentry(int btf_obj_fd, int btf_id)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = btf_id,
		    .attach_btf_obj_fd = btf_obj_fd > 0 ? btf_obj_fd : 0);
	int prog_fd, link_fd, err = 0;

	prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "dmaw_trial", "GPL", insns,
				sizeof(insns) / sizeof(insns[0]), &opts);
	if (prog_fd < 0)
		return -errno;
	link_fd = bpf_link_create(prog_fd, 0, BPF_TRACE_FENTRY, NULL);
	if (link_fd < 0)
		err = -errno;
	else
		close(link_fd);
	close(prog_fd);
	return err;
}

static bool tracefs_has(const char *event)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s", event);
	if (!access(path, F_OK))
		return true;
	snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/%s", event);
	return !access(path, F_OK);
}

static void probe_func(struct func_probe *p, const struct btf *vmlinux,
		       const struct ksyms *ks)
{
	const struct btf *btf = vmlinux;
	struct btf *mod_btf = NULL;
	int id, obj_fd = -1;

	id = btf__find_by_name_kind(vmlinux, p->name, BTF_KIND_FUNC);
	if (id < 0 && p->module) {
		mod_btf = btf__load_module_btf(p->module, (struct btf *)vmlinux);
		if (mod_btf) {
			btf = mod_btf;
			id = btf__find_by_name_kind(mod_btf, p->name, BTF_KIND_FUNC);
			obj_fd = id > 0 ? module_btf_fd(p->module) : -1;
		}
	}
	if (id > 0) {
		const struct btf_type *fn = btf__type_by_id(btf, id);
		const struct btf_type *proto = btf__type_by_id(btf, fn->type);

		p->in_btf = true;
		p->nargs = btf_vlen(proto);
		if (!p->module || obj_fd >= 0 || btf == vmlinux) {
			p->fentry_err = -trial_fentry(obj_fd, id);
			p->fentry_ok = !p->fentry_err;
		}
	}
	if (obj_fd >= 0)
		close(obj_fd);
	btf__free(mod_btf);
	p->in_kallsyms = ks && ksyms_find_name(ks, p->name);
}

int calibrate(struct features *f, const struct ksyms *ks)
{
	struct btf *vmlinux;
	char typedef_name[96];

	memset(f, 0, sizeof(*f));
	f->debugfs_swiotlb = !access("/sys/kernel/debug/swiotlb/io_tlb_nslabs", R_OK);
	f->tracefs = !access("/sys/kernel/tracing/events", F_OK) ||
		     !access("/sys/kernel/debug/tracing/events", F_OK);
	f->btf = !access("/sys/kernel/btf/vmlinux", R_OK);
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return -errno;
	for (int i = 0; i < FN_COUNT; i++) {
		f->funcs[i].name = func_names[i].name;
		f->funcs[i].module = func_names[i].module;
		probe_func(&f->funcs[i], vmlinux, ks);
	}
	for (int i = 0; i < TP_COUNT; i++) {
		const char *event = strchr(tp_names[i], '/') + 1;

		f->tps[i].name = tp_names[i];
		snprintf(typedef_name, sizeof(typedef_name), "btf_trace_%s", event);
		f->tps[i].in_btf = btf__find_by_name_kind(vmlinux, typedef_name,
							 BTF_KIND_TYPEDEF) > 0;
		f->tps[i].in_tracefs = tracefs_has(tp_names[i]);
	}
	btf__free(vmlinux);
	return 0;
}
