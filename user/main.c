// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch: SWIOTLB bounce-buffer observability for confidential guests.
 * One binary; `dmatop` is the same program called by another name.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "engine.h"
#include "util.h"

static const struct command commands[] = {
	{ "top", cmd_top, "live view: devices, pool, failures, events (also as 'dmatop')" },
	{ "export", cmd_export, "Prometheus textfile (node_exporter) or /metrics" },
	{ "stat", cmd_stat, "per-device bounce counters and the pool, every interval" },
	{ "trace", cmd_trace, "over-limit, failed and never-fitting mappings as they happen" },
	{ "probe", cmd_probe, "list the attach points this kernel offers and the ones chosen" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: dmawatch [-v] [-K] [-F LIST] COMMAND [ARGS...]\n"
		"       dmawatch --version | --help\n"
		"\nSWIOTLB bounce buffering, seen from the kernel, for confidential\n"
		"(SEV/TDX) guests and any Linux booted with swiotlb=force.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nOptions:\n"
		"  -v, --verbose  libbpf's messages, including verifier logs\n"
		"  -K, --kprobes  kprobes even where fentry/fexit attach (to compare)\n"
		"  -F, --families LIST  load only these probe families (comma-separated:\n"
		"                 swiotlb, dmamap, virtqueue, pool), to cut overhead\n"
		"\n'dmawatch COMMAND --help' describes each; see also dmawatch(8).\n");
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
	const char *name;

	if (!strcmp(base_name(argv[0]), "dmatop")) {
		argv[0] = "top";
		name = "top";
	} else {
		while (argc > 1 && argv[1][0] == '-') {
			if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose")) {
				verbose = true;
			} else if (!strcmp(argv[1], "-K") || !strcmp(argv[1], "--kprobes")) {
				force_kprobes = true;
			} else if (!strcmp(argv[1], "-F") || !strcmp(argv[1], "--families")) {
				if (argc < 3 || engine_check_families(argv[2]))
					return 2;
				only_families = argv[2];
				argc--;
				argv++;
			} else if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
				printf("dmawatch %s\n", DMAWATCH_VERSION);
				return 0;
			} else if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
				usage(stdout);
				return 0;
			} else {
				warnx_("unknown option '%s'", argv[1]);
				usage(stderr);
				return 2;
			}
			argc--;
			argv++;
		}
		if (argc < 2) {
			usage(stderr);
			return 2;
		}
		argc--;
		argv++;
		name = argv[0];
		if (!strcmp(name, "help")) {
			usage(stdout);
			return 0;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].run(argc, argv);
	warnx_("unknown command '%s' (see 'dmawatch --help')", name);
	return 2;
}
