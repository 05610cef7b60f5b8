// SPDX-License-Identifier: GPL-2.0
/*
 * labfloor: attach one bare counting program (labfloor.bpf.c) for the
 * benchmark's floor mode.
 *
 *   labfloor HOOK      HOOK: fentry, fexit, kprobe, tp_btf or raw_tp
 *                      (on swiotlb_map or swiotlb_bounced), or raw_tp_dma
 *                      (dma:dma_map_page, or dma_map_phys where renamed)
 *
 * Prints "attached" once the program is in, then waits for SIGTERM or
 * SIGINT, detaches and prints "hits N" (calls seen on all CPUs), so the
 * bench can check that the floor ran on every mapping. Exit 1 with the
 * reason when the program cannot load or attach.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "labfloor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct labfloor_bpf *skel;
	struct bpf_program *prog;
	struct bpf_link *link;
	char name[64];
	unsigned long long total = 0;
	int ncpus, err;
	__u32 zero = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: labfloor fentry|fexit|kprobe|tp_btf|raw_tp|raw_tp_dma\n");
		return 2;
	}
	snprintf(name, sizeof(name), "floor_%s", argv[1]);
	skel = labfloor_bpf__open();
	if (!skel) {
		fprintf(stderr, "labfloor: open: %s\n", strerror(errno));
		return 1;
	}
	prog = bpf_object__find_program_by_name(skel->obj, name);
	if (!prog) {
		fprintf(stderr,
			"labfloor: no hook %s (fentry, fexit, kprobe, tp_btf, raw_tp, raw_tp_dma)\n",
			argv[1]);
		return 2;
	}
	bpf_program__set_autoload(prog, true);
	err = labfloor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "labfloor: load %s: %s\n", name, strerror(-err));
		return 1;
	}
	if (strcmp(argv[1], "raw_tp_dma"))
		link = bpf_program__attach(prog);
	else if (!(link = bpf_program__attach_raw_tracepoint(prog, "dma_map_phys")))
		link = bpf_program__attach_raw_tracepoint(prog, "dma_map_page");
	if (!link) {
		fprintf(stderr, "labfloor: attach %s: %s\n", name, strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	bpf_link__destroy(link);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus > 0) {
		unsigned long long v[ncpus];

		if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.hits), &zero, v))
			for (int i = 0; i < ncpus; i++)
				total += v[i];
	}
	printf("hits %llu\n", total);
	labfloor_bpf__destroy(skel);
	return 0;
}
