// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of make bench: on each hook a mapping can be seen
 * from, a program that only increments a per-CPU counter. What it costs is
 * the least any program on that hook can cost; dmawatch's own programs are
 * measured against it. All declared off; labfloor enables the one asked for.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline int hit(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&hits, &zero);

	if (n)
		(*n)++;
	return 0;
}

SEC("?fentry/swiotlb_map")
int BPF_PROG(floor_fentry)
{
	return hit();
}

SEC("?fexit/swiotlb_map")
int BPF_PROG(floor_fexit)
{
	return hit();
}

SEC("?kprobe/swiotlb_map")
int BPF_KPROBE(floor_kprobe)
{
	return hit();
}

SEC("?tp_btf/swiotlb_bounced")
int BPF_PROG(floor_tp_btf)
{
	return hit();
}

SEC("?raw_tp/swiotlb_bounced")
int BPF_PROG(floor_raw_tp)
{
	return hit();
}

/* The DMA API's map tracepoint, where dmawatch's default counts on kernels
 * that have it: labfloor attaches it by the name this kernel has
 * (dma_map_page, 6.17+ dma_map_phys). */
SEC("?raw_tp")
int BPF_PROG(floor_raw_tp_dma)
{
	return hit();
}
