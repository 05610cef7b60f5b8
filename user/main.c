// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch: SWIOTLB bounce-buffer observability for confidential guests.
 * One binary; `dmatop` is the same program called by another name.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

#ifndef DMAWATCH_BPF_ID
#define DMAWATCH_BPF_ID "unknown"
#endif

static const struct command commands[] = {
	{ "diagnose", cmd_diagnose, "one verdict: what is wrong, the evidence, the remedy" },
	{ "top", cmd_top, "live view: devices, pool, failures, events (also as 'dmatop')" },
	{ "export", cmd_export, "Prometheus textfile (node_exporter) or /metrics" },
	{ "stat", cmd_stat, "per-device bounce counters and the pool, every interval" },
	{ "trace", cmd_trace, "over-limit, failed and never-fitting mappings as they happen" },
	{ "enforce", cmd_enforce,
	  "fail (or count) bios that could never be bounced, at submission" },
	{ "probe", cmd_probe, "list the attach points this kernel offers and the ones chosen" },
};

static void usage(FILE *out)
{
	char names[128];

	engine_family_names(names, sizeof(names));
	fprintf(out, "Usage: dmawatch [-v] [-K] [-D] [-F LIST] COMMAND [ARGS...]\n"
		     "       dmawatch --version | --help\n"
		     "\nSWIOTLB bounce buffering, seen from the kernel, for confidential\n"
		     "(SEV/TDX) guests and any Linux booted with swiotlb=force.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\nOptions:\n"
		"  -v, --verbose  libbpf's messages, including verifier logs, and the\n"
		"                 start-up time of each phase\n"
		"  -K, --kprobes  kprobes even where fentry/fexit attach (to compare)\n"
		"  -D, --detail   also count releases, processes and DMA-API page calls,\n"
		"                 time every mapping and count the sync copies (more\n"
		"                 programs on each mapping: off by default; -L, --latency\n"
		"                 is the same)\n"
		"  -F, --families LIST  load only these probe families (comma-separated:\n"
		"                 %s), to cut overhead\n"
		"\nProbe families:\n",
		names);
	engine_family_help(out);
	fprintf(out, "\n'dmawatch COMMAND --help' describes each; see also dmawatch(8).\n");
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The global options, parsed once, before the command ("+": stop at the
 * first non-option, which is the command). */
static int parse_global(struct engine_opts *eo, int argc, char **argv)
{
	static const struct option opts[] = {
		ENGINE_LONG_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char names[128];
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" ENGINE_SHORTOPTS "Vh", opts, NULL)) != -1) {
		int r = engine_option(eo, c, optarg);

		if (r < 0)
			return 2;
		if (r)
			continue;
		switch (c) {
		case 'V':
			printf("dmawatch %s (bpf %s)\n", DMAWATCH_VERSION, DMAWATCH_BPF_ID);
			return 0;
		case 'h': usage(stdout); return 0;
		case ':':
			engine_family_names(names, sizeof(names));
			if (optopt == 'F')
				dmaw_warn("-F/--families needs a list of probe families, e.g. "
					  "'-F swiotlb,pool' (families: %s)",
					  names);
			else
				dmaw_warn("option '%s' needs a value", argv[optind - 1]);
			return 2;
		default:
			dmaw_warn("unknown option '%s' (see 'dmawatch --help')", argv[optind - 1]);
			return 2;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct engine_opts eo = {};
	const char *name;
	int rc;

	/* Every bad option is said in one line by its parser. */
	opterr = 0;
	if (!strcmp(base_name(argv[0]), "dmatop")) {
		argv[0] = "top";
		name = "top";
	} else {
		rc = parse_global(&eo, argc, argv);
		if (rc >= 0)
			return rc;
		argc -= optind;
		argv += optind;
		if (argc < 1) {
			dmaw_warn("no command given (see 'dmawatch --help')");
			return 2;
		}
		name = argv[0];
		if (!strcmp(name, "help")) {
			usage(stdout);
			return 0;
		}
		/* The command parses its own options from argv[1], and says
		 * what was wrong itself (bad_option()). */
		optind = 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].run(&eo, argc, argv);
	dmaw_warn("unknown command '%s' (see 'dmawatch --help')", name);
	return 2;
}
