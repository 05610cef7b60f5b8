// SPDX-License-Identifier: GPL-2.0
/* dmawatch probe: what this kernel offers to dmawatch, as calibration saw it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cc.h"
#include "commands.h"
#include "engine/calibrate.h"
#include "engine/engine.h"
#include "out/json.h"
#include "util.h"

static void probe_help(FILE *out)
{
	fprintf(out, "Usage: dmawatch probe [--json]\n"
		     "\nLists the functions and tracepoints dmawatch attaches to, whether\n"
		     "this kernel has them (BTF, kallsyms, tracefs), whether an fentry\n"
		     "trampoline could be attached, and the errno when not.\n");
}

/* The kernel's own events the lab compares dmawatch against, and that an
 * operator can turn on by hand: whether this kernel has them. */
static const char *const reference_tps[] = {
	"swiotlb/swiotlb_bounced",
	"dma/dma_map_page",
	"dma/dma_map_sg",
	/* Where dma_map_phys() joined the DMA API (Debian's 7.3), its event
	 * replaces dma_map_page: dma_map_page_attrs() calls dma_map_phys(). */
	"dma/dma_map_phys",
};

static void print_json(const struct engine *e, const struct features *tp, const struct cc_state *cc)
{
	const struct features *f = &e->feat;
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_object_begin(&j, "guest");
	json_string(&j, "confidential", cc_name(cc->kind));
	json_string(&j, "source", cc->source);
	json_bool(&j, "hint_only", cc->hint);
	json_string(&j, "swiotlb_arg", cc->swiotlb_arg);
	json_bool(&j, "bounce_forced", cc->forced);
	json_object_end(&j);
	json_bool(&j, "btf", f->btf);
	json_bool(&j, "debugfs_swiotlb", f->debugfs_swiotlb);
	json_bool(&j, "tracefs", f->tracefs);
	json_bool(&j, "bpf_tracing", !f->bpf_err);
	if (f->bpf_err)
		json_i64(&j, "bpf_errno", f->bpf_err);
	json_array_begin(&j, "functions");
	for (int i = 0; i < f->nfuncs; i++) {
		const struct func_probe *p = &f->funcs[i];

		json_object_begin(&j, NULL);
		json_string(&j, "name", p->name);
		json_bool(&j, "btf", p->in_btf);
		json_i64(&j, "nargs", p->in_btf ? p->nargs : -1);
		json_bool(&j, "kallsyms", p->in_kallsyms);
		json_bool(&j, "fentry", p->fentry_ok);
		if (!p->fentry_ok && p->fentry_err)
			json_i64(&j, "fentry_errno", p->fentry_err);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "tracepoints");
	for (int i = 0; i < tp->ntps; i++) {
		json_object_begin(&j, NULL);
		json_string(&j, "name", tp->tps[i].name);
		json_bool(&j, "btf", tp->tps[i].in_btf);
		json_bool(&j, "tracefs", tp->tps[i].in_tracefs);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "choices");
	for (int i = 0; i < e->nnotes; i++) {
		json_object_begin(&j, NULL);
		json_string(&j, "family", e->notes[i].family);
		json_string(&j, "hook", e->notes[i].hook);
		json_string(&j, "attach", attach_kind_name(e->notes[i].kind));
		json_string(&j, "detail", e->notes[i].detail);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_end_line(&j);
}

static void print_table(const struct engine *e, const struct features *tp,
			const struct cc_state *cc)
{
	const struct features *f = &e->feat;
	const char *missing;

	printf("guest: %s%s (%s)", cc_name(cc->kind), cc->hint ? "?" : "", cc->source);
	if (cc->swiotlb_arg[0])
		printf(", swiotlb=%s", cc->swiotlb_arg);
	printf("\n");

	missing = f->bpf_err == EPERM ? bpf_caps_missing() : NULL;
	printf("BTF %s, debugfs swiotlb %s, tracefs %s, BPF tracing programs %s%s%s%s%s\n\n",
	       f->btf ? "yes" : "NO", f->debugfs_swiotlb ? "yes" : "no", f->tracefs ? "yes" : "no",
	       f->bpf_err ? "REFUSED (" : "yes", f->bpf_err ? strerror(f->bpf_err) : "",
	       missing ? ": this process lacks " : "", missing ? missing : "",
	       f->bpf_err ? ")" : "");
	printf("%-32s %-4s %-5s %-8s %s\n", "FUNCTION", "BTF", "ARGS", "KALLSYMS", "FENTRY");
	for (int i = 0; i < f->nfuncs; i++) {
		const struct func_probe *p = &f->funcs[i];
		char args[8] = "-", fentry[96] = "no";

		if (p->in_btf)
			snprintf(args, sizeof(args), "%d", p->nargs);
		if (p->fentry_ok)
			snprintf(fentry, sizeof(fentry), "yes");
		else if (p->fentry_err)
			snprintf(fentry, sizeof(fentry), "no (%d, %s)", p->fentry_err,
				 kernel_strerror(p->fentry_err));
		printf("%-32s %-4s %-5s %-8s %s\n", p->name, p->in_btf ? "yes" : "no", args,
		       p->in_kallsyms ? "yes" : "no", fentry);
	}
	printf("\n%-32s %-4s %s\n", "TRACEPOINT", "BTF", "TRACEFS");
	for (int i = 0; i < tp->ntps; i++)
		printf("%-32s %-4s %s\n", tp->tps[i].name, tp->tps[i].in_btf ? "yes" : "no",
		       tp->tps[i].in_tracefs ? "yes" : "no");
	printf("\n%-10s %-32s %-7s %s\n", "FAMILY", "HOOK", "ATTACH", "WHY");
	for (int i = 0; i < e->nnotes; i++)
		printf("%-10s %-32s %-7s %s\n", e->notes[i].family, e->notes[i].hook,
		       attach_kind_name(e->notes[i].kind), e->notes[i].detail);
}

int cmd_probe(const struct engine_opts *eo, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static struct features tps;
	struct cc_state cc;
	bool json = false;
	struct engine e;
	int c, err;

	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': probe_help(stdout); return 0;
		default: return bad_option("probe", c, argv);
		}
	}
	if (optind < argc) {
		dmaw_warn("probe: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	cc_detect(&cc);
	err = engine_plan(&e, eo);
	if (!err && !(err = calibrate_begin(&tps, NULL, false))) {
		for (size_t i = 0; i < sizeof(reference_tps) / sizeof(reference_tps[0]); i++)
			calibrate_tp(&tps, reference_tps[i]);
		calibrate_end(&tps);
	}
	if (err) {
		/* engine_plan() said why. */
	} else if (json) {
		print_json(&e, &tps, &cc);
	} else {
		print_table(&e, &tps, &cc);
	}
	engine_stop(&e);
	return err ? 1 : 0;
}
