// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "engine/engine.h"
#include "engine/ksyms.h"
#include "util.h"

#define FAMILY(name) extern const struct family name##_family;
#include "family/families.h"
#undef FAMILY

const struct family *const family_table[FAMILY_IDS] = {
#define FAMILY(name) [FAMILY_ID_##name] = &name##_family,
#include "family/families.h"
#undef FAMILY
};

/* The maps bpf/common.bpf.h defines in every object; the first loaded
 * family's instances are shared by all. */
static const char *const common_maps[] = { "events", "event_drops", "proc_stats" };

/* Set to a family's name, makes that family's load fail for real (one of
 * its own maps asked for with no room, which the kernel refuses): how the
 * lab proves that one family's failure leaves the others running. */
#define INJECT_ENV "DMAWATCH_TEST_FAIL_LOAD"
/* Set to a power of two of at least a page, the event ring buffer's size
 * in bytes: how the lab overflows it (events are sampled at the source,
 * so a storm of failures alone does not). */
#define RING_ENV "DMAWATCH_TEST_RING_BYTES"

static event_fn event_cb;
static void *event_ctx;

void engine_family_names(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(family_table) && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", family_table[i]->name);
}

static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == len && !strncmp(p, name, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* Asked for by name (-F): its failure is the command's failure. */
static bool named(const struct family *f)
{
	return only_families && in_list(only_families, f->name);
}

void engine_family_help(FILE *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(family_table); i++)
		fprintf(out, "  %-10s %s\n", family_table[i]->name, family_table[i]->summary);
}

int engine_option(int c, const char *arg)
{
	switch (c) {
	case 'v': verbose = true; return 1;
	case 'K': force_kprobes = true; return 1;
	case 'D':
	case 'L': opt_detail = true; return 1;
	case 'F':
		if (engine_check_families(arg))
			return -1;
		only_families = arg;
		return 1;
	}
	return 0;
}

int engine_check_families(const char *list)
{
	char names[128];

	engine_family_names(names, sizeof(names));
	if (!*list) {
		warnx_("-F/--families got an empty list (families: %s)", names);
		return -EINVAL;
	}
	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(family_table); i++)
			known |= strlen(family_table[i]->name) == n && !strncmp(family_table[i]->name, p, n);
		if (!known || !n) {
			warnx_("unknown probe family '%.*s' in -F (families: %s)", (int)n, p, names);
			return -EINVAL;
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

static void note(struct engine *e, const char *family, const char *hook, enum attach_kind kind,
		 const char *fmt, va_list ap)
{
	struct attach_note *n;

	if (e->nnotes >= ENGINE_MAX_NOTES)
		return;
	n = &e->notes[e->nnotes++];
	n->family = family;
	n->hook = hook;
	n->kind = kind;
	vsnprintf(n->detail, sizeof(n->detail), fmt, ap);
}

void fam_note(struct fam *f, const char *hook, enum attach_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note(f->e, f->ops->name, hook, kind, fmt, ap);
	va_end(ap);
}

static size_t fam_index(const struct fam *f)
{
	return f - f->e->fams;
}

/* The family is out: why, noted once. */
static void fam_out(struct fam *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fam_out(struct fam *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	fam_note(f, "-", ATTACH_NONE, "not loaded: %s", f->why);
}

/* ---- choosing programs ----------------------------------------------------- */

/* By bit of enum hook_progs. */
static const char *const prog_suffix[] = { "fentry", "fexit", "kprobe", "kretprobe", "tp_btf",
					   "raw_tp" };

/* What a hook is called in notes and messages. */
static const char *hook_label(const struct hook *h)
{
	return h->label ? h->label : h->funcs[0] ? h->funcs[0] : h->tracepoints[0];
}

/* The programs an attach kind runs of a hook. */
static unsigned int kind_progs(enum attach_kind k)
{
	switch (k) {
	case ATTACH_FENTRY: return HOOK_TRAMPOLINE;
	case ATTACH_KPROBE: return HOOK_KPROBES;
	case ATTACH_TP_BTF: return HOOK_TP_BTF;
	case ATTACH_RAW_TP: return HOOK_RAW_TP;
	default: return 0;
	}
}

static struct bpf_program *hook_prog(const struct fam *f, const struct hook *h, int bit)
{
	char name[128];

	snprintf(name, sizeof(name), "%s_%s", h->prog, prog_suffix[bit]);
	return bpf_object__find_program_by_name(f->obj, name);
}

/* The first of the hook's names this kernel has, calibrated. */
static const struct func_probe *resolve(struct engine *e, const struct hook *h)
{
	const struct func_probe *first = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(h->funcs) && h->funcs[i]; i++) {
		const struct func_probe *p = calibrate_func(&e->feat, h->funcs[i], h->module);

		if (!first)
			first = p;
		if (p && (p->in_btf || p->in_kallsyms))
			return p;
	}
	return first;
}

const struct tp_probe *fam_tracepoint(struct fam *f, const struct hook *h)
{
	const struct tp_probe *first = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(h->tracepoints) && h->tracepoints[i]; i++) {
		const struct tp_probe *p = calibrate_tp(&f->e->feat, h->tracepoints[i]);

		if (!first)
			first = p;
		if (p && (p->in_btf || p->in_tracefs))
			return p;
	}
	return first;
}

/* The programs hook h has on this run: --detail adds its detail_progs. */
static unsigned int hook_progs(const struct hook *h)
{
	return h->progs | (opt_detail ? h->detail_progs : 0);
}

/* Enables the programs of kind for hook h, pointed at target where the
 * kind takes one. 0, or -1 with f->why set. */
static int enable(struct fam *f, const struct hook *h, enum attach_kind kind, const char *target)
{
	unsigned int want = hook_progs(h) & kind_progs(kind);

	for (size_t bit = 0; bit < ARRAY_SIZE(prog_suffix); bit++) {
		struct bpf_program *prog;

		if (!(want & (1u << bit)))
			continue;
		prog = hook_prog(f, h, bit);
		if (!prog) {
			snprintf(f->why, sizeof(f->why), "internal: no program %s_%s for %s",
				 h->prog, prog_suffix[bit], target);
			return -1;
		}
		bpf_program__set_autoload(prog, true);
		/* One program per hook, pointed at the name this kernel has. */
		if ((kind == ATTACH_FENTRY || kind == ATTACH_TP_BTF) &&
		    bpf_program__set_attach_target(prog, 0, target)) {
			snprintf(f->why, sizeof(f->why), "cannot target %s at %s: %s",
				 bpf_program__name(prog), target, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* A tracepoint hook: tp_btf where BTF types the event, raw_tp where only
 * tracefs lists it. */
static int choose_tp(struct fam *f, size_t i)
{
	struct engine *e = f->e;
	const struct hook *h = &f->ops->hooks[i];
	const struct tp_probe *p = fam_tracepoint(f, h);
	const char *event, *label;
	enum attach_kind kind = ATTACH_NONE;

	if (!p) {
		fam_note(f, hook_label(h), ATTACH_NONE, "not calibrated (too many tracepoints)");
		return ATTACH_NONE;
	}
	if (e->feat.bpf_err)
		return ATTACH_NONE;
	label = h->label ? h->label : p->name;
	event = strchr(p->name, '/');
	event = event ? event + 1 : p->name;
	if (p->in_btf && (hook_progs(h) & HOOK_TP_BTF)) {
		kind = ATTACH_TP_BTF;
		fam_note(f, label, kind, "typed (btf_trace_%s)", event);
	} else if ((p->in_btf || p->in_tracefs) && (hook_progs(h) & HOOK_RAW_TP)) {
		kind = ATTACH_RAW_TP;
		fam_note(f, label, kind, "%s",
			 !p->in_btf ? "not in BTF" : "untyped: arguments as numbers");
	} else {
		fam_note(f, label, ATTACH_NONE, "%s not in this kernel", p->name);
	}
	if (enable(f, h, kind, event))
		return -1;
	e->hooks[fam_index(f)].kind[i] = kind;
	e->hooks[fam_index(f)].target[i] = event;
	return kind;
}

static int choose(struct fam *f, size_t i)
{
	struct engine *e = f->e;
	const struct hook *h = &f->ops->hooks[i];
	const char *label = hook_label(h);
	const struct func_probe *p;
	enum attach_kind kind = ATTACH_NONE;

	if (h->tracepoints[0])
		return choose_tp(f, i);
	p = resolve(e, h);
	if (!p) {
		fam_note(f, label, ATTACH_NONE, "not calibrated (too many functions)");
		return ATTACH_NONE;
	}
	/* fam_open() says why for the whole family. */
	if (e->feat.bpf_err)
		return ATTACH_NONE;
	if (p->fentry_ok && !force_kprobes && (hook_progs(h) & HOOK_TRAMPOLINE)) {
		kind = ATTACH_FENTRY;
		if (strcmp(label, p->name))
			fam_note(f, label, kind, "as %s, %d args", p->name, p->nargs);
		else
			fam_note(f, label, kind, "%d args", p->nargs);
	} else if (p->in_kallsyms && (hook_progs(h) & HOOK_KPROBES)) {
		kind = ATTACH_KPROBE;
		if (p->fentry_ok)
			fam_note(f, label, kind, "fentry works; -K given");
		else if (p->in_btf)
			fam_note(f, label, kind, "fentry refused (%d args: %s)", p->nargs,
				 kernel_strerror(p->fentry_err));
		else
			fam_note(f, label, kind, "%s not in BTF", p->name);
	} else {
		fam_note(f, label, ATTACH_NONE, "%s not in this kernel", p->name);
	}
	if (enable(f, h, kind, p->name))
		return -1;
	e->hooks[fam_index(f)].kind[i] = kind;
	e->hooks[fam_index(f)].target[i] = p->name;
	return kind;
}

/* Opens family i and chooses its programs. false: it cannot run (noted). */
static bool fam_open(struct engine *e, size_t i)
{
	const struct family *ops = family_table[i];
	struct fam *f = &e->fams[i];
	bool required_missing = false;
	const char *missing = NULL;
	size_t attached = 0;

	f->ops = ops;
	f->e = e;
	if (only_families && !named(ops)) {
		fam_note(f, "-", ATTACH_NONE, "left out by -F");
		snprintf(f->why, sizeof(f->why), "left out by -F");
		return false;
	}
	if (ops->nhooks > ENGINE_MAX_HOOKS) {
		fam_out(f, "internal: more than %d hooks", ENGINE_MAX_HOOKS);
		return false;
	}
	f->state = calloc(1, ops->state_size ? ops->state_size : 1);
	if (!f->state) {
		fam_out(f, "out of memory");
		return false;
	}
	errno = 0;
	f->obj = ops->open(f);
	if (!f->obj) {
		f->open_err = errno ? errno : EINVAL;
		/* open() noted the reason where it has one. */
		if (!f->why[0])
			snprintf(f->why, sizeof(f->why), "%s",
				 errno ? strerror(errno) : "cannot open");
		if (errno != ENOENT)
			fam_note(f, "-", ATTACH_NONE, "not loaded: %s", f->why);
		return false;
	}
	for (size_t h = 0; h < ops->nhooks; h++) {
		int k;

		if (ops->wants && !ops->wants(f, &ops->hooks[h]))
			continue;
		/* Not calibrated either: its trial attach would cost start-up. */
		if (ops->hooks[h].detail_only && !opt_detail)
			continue;
		k = choose(f, h);
		if (k < 0) {
			fam_note(f, "-", ATTACH_NONE, "not loaded: %s", f->why);
			return false;
		}
		attached += k != ATTACH_NONE;
		if (k == ATTACH_NONE && ops->hooks[h].required && !required_missing) {
			required_missing = true;
			missing = hook_label(&ops->hooks[h]);
		}
	}
	/* Neither fentry nor kprobes: no tracing program loads here (said
	 * once for the family; the hooks were calibrated for probe's table). */
	if (e->feat.bpf_err) {
		fam_out(f, "no BPF tracing program loads here (%s)", strerror(e->feat.bpf_err));
		return false;
	}
	if (required_missing) {
		fam_out(f, "%s not in this kernel", missing);
		return false;
	}
	if (ops->needs_a_hook && !attached) {
		fam_out(f, "none of its hooks is in this kernel (%s%s)", hook_label(&ops->hooks[0]),
			ops->hooks[0].module ? ": is its module loaded?" : "");
		return false;
	}
	return true;
}

static void fam_destroy(struct engine *e, size_t i)
{
	struct fam *f = &e->fams[i];

	/* Its links first, newest first. */
	for (int l = e->nlinks; l-- > 0;) {
		if (e->links[l].fam != i)
			continue;
		bpf_link__destroy(e->links[l].link);
		memmove(&e->links[l], &e->links[l + 1], (e->nlinks - l - 1) * sizeof(e->links[0]));
		e->nlinks--;
	}
	/* Whatever open() made, also when it then failed (the skeleton
	 * destroy functions take NULL). */
	if (f->ops && f->state && f->ops->destroy)
		f->ops->destroy(f);
	f->obj = NULL;
	f->running = false;
	free(f->state);
	f->state = NULL;
}

/* ---- loading and attaching ------------------------------------------------- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void engine_libbpf_messages(void)
{
	libbpf_set_print(libbpf_print);
}

static int handle_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len < sizeof(struct dmaw_event) || !event_cb)
		return 0;
	return event_cb(event_ctx, data);
}

/* What an errno from loading or attaching means, and the fix. */
static const char *explain(int err)
{
	switch (err) {
	case -EPERM:
		if (bpf_caps_missing())
			return "not permitted: this process lacks CAP_BPF or CAP_PERFMON (run as "
			       "root, or grant both)";
		return "not permitted: check kernel lockdown and "
		       "kernel.unprivileged_bpf_disabled";
	case -EACCES:
		return "the kernel's verifier rejected a program (run with -v for its log, "
		       "and please report it)";
	case -ENOENT:
	case -ESRCH:
		return "an attach point is missing from this kernel (run with -v)";
	default:
		return NULL;
	}
}

static void fam_failed(struct fam *f, const char *what, int err)
{
	const char *why = explain(err), *module = NULL;
	char path[96];

	/* A hook's module that is loaded as one (built-in ones have no
	 * initstate). */
	for (size_t h = 0; h < f->ops->nhooks && !module; h++) {
		module = f->ops->hooks[h].module;
		snprintf(path, sizeof(path), "/sys/module/%s/initstate", module ? module : "");
		if (module && access(path, F_OK))
			module = NULL;
	}
	/* libbpf's "failed to iterate BTF objects" (load_module_btfs()):
	 * BPF_BTF_GET_NEXT_ID needs CAP_SYS_ADMIN even where CAP_BPF and
	 * CAP_PERFMON load the programs. */
	if (err == -EPERM && module && !bpf_caps_missing() && !have_cap(CAP_SYS_ADMIN))
		fam_out(f, "%s: not permitted: %s is a module here, and reading a module's "
			"BTF needs CAP_SYS_ADMIN", what, module);
	else if (why)
		fam_out(f, "%s: %s", what, why);
	else
		fam_out(f, "%s: %s (run with -v for libbpf's log)", what, strerror(-err));
}

static int shared_maps_take(struct engine *e, struct bpf_object *obj)
{
	int *fds[] = { &e->events_fd, &e->event_drops_fd, &e->proc_stats_fd };

	for (size_t m = 0; m < ARRAY_SIZE(common_maps); m++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, common_maps[m]);

		*fds[m] = map ? dup(bpf_map__fd(map)) : -1;
		if (*fds[m] < 0)
			return -errno;
	}
	return 0;
}

static int shared_maps_give(struct engine *e, struct bpf_object *obj)
{
	int fds[] = { e->events_fd, e->event_drops_fd, e->proc_stats_fd };

	for (size_t m = 0; m < ARRAY_SIZE(common_maps); m++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, common_maps[m]);
		int err = map ? bpf_map__reuse_fd(map, fds[m]) : 0;

		if (err)
			return err;
	}
	return 0;
}

/* The faults the lab injects: see INJECT_ENV and RING_ENV. */
static void inject(struct fam *f)
{
	const char *which = getenv(INJECT_ENV), *ring = getenv(RING_ENV);
	struct bpf_map *map;
	struct bpf_map *events = bpf_object__find_map_by_name(f->obj, "events");
	uint64_t bytes;

	/* Every object's copy, so that the reused one matches its size. */
	if (ring && events && parse_u64(ring, 4096, 1u << 30, &bytes) && !(bytes & (bytes - 1)))
		bpf_map__set_max_entries(events, bytes);

	if (!which || strcmp(which, f->ops->name))
		return;
	bpf_object__for_each_map(map, f->obj) {
		const char *name = bpf_map__name(map);
		bool common = false;

		for (size_t m = 0; m < ARRAY_SIZE(common_maps); m++)
			common |= !strcmp(name, common_maps[m]);
		if (!common && name[0] != '.' && !strchr(name, '.')) {
			bpf_map__set_max_entries(map, 0);
			return;
		}
	}
}

/* Sets the .rodata variable NAME of obj (of bpf/common.bpf.h) before load,
 * through the object's BTF: the engine holds objects, not skeletons. A
 * family whose object lacks it does not use it. */
static void set_rodata(struct bpf_object *obj, const char *name, const void *value, size_t len)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *mname = bpf_map__name(map);
		const struct btf_type *sec;
		const struct btf_var_secinfo *v;
		const void *init;
		size_t size;
		char *data;
		int id;

		if (!bpf_map__is_internal(map) || !strstr(mname, ".rodata") || !btf)
			continue;
		id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
		init = bpf_map__initial_value(map, &size);
		if (id <= 0 || !init || !(data = malloc(size)))
			return;
		/* libbpf 1.1 hands out the initial value read-only. */
		memcpy(data, init, size);
		sec = btf__type_by_id(btf, id);
		v = btf_var_secinfos(sec);
		for (int k = 0; k < btf_vlen(sec); k++, v++) {
			const struct btf_type *var = btf__type_by_id(btf, v->type);

			if (!strcmp(btf__name_by_offset(btf, var->name_off), name) &&
			    v->size == len && v->offset + len <= size) {
				memcpy(data + v->offset, value, len);
				bpf_map__set_initial_value(map, data, size);
			}
		}
		free(data);
		return;
	}
}

/* The kernel variables bpf/common.bpf.h reads, by address. */
static const char *const kernel_vars[] = {
	"__per_cpu_offset", "__preempt_count", "pcpu_hot", "track_hiwater_enabled",
	"io_tlb_default_mem",
};

/* What every object gets from calibration (bpf/common.bpf.h). */
static void set_common_rodata(struct engine *e, struct bpf_object *obj)
{
	static const char *const rodata_of[ARRAY_SIZE(kernel_vars)] = {
		"dmaw_per_cpu_offset_addr", "dmaw_preempt_count_addr", "dmaw_pcpu_hot_addr",
		"dmaw_track_hiwater_enabled_addr", "dmaw_io_tlb_default_mem_addr",
	};
	__s32 off = e->feat.pcpu_hot_pc_off;

	for (size_t i = 0; i < ARRAY_SIZE(kernel_vars); i++) {
		uint64_t addr;

		ksyms_data(e->ksyms, kernel_vars[i], &addr);
		set_rodata(obj, rodata_of[i], &addr, sizeof(addr));
	}
	set_rodata(obj, "dmaw_pcpu_hot_pc_off", &off, sizeof(off));
	set_rodata(obj, "dmaw_detail", &opt_detail, sizeof(opt_detail));
}

static int fam_load(struct engine *e, size_t i)
{
	struct fam *f = &e->fams[i];
	char what[64];
	int err;

	snprintf(what, sizeof(what), "loading the %s probes", f->ops->name);
	/* The first family to load creates the shared maps; the others
	 * reuse them: one ring buffer, one process table. */
	if (e->events_fd >= 0 && (err = shared_maps_give(e, f->obj))) {
		fam_failed(f, "sharing maps between probe families", err);
		return err;
	}
	inject(f);
	set_common_rodata(e, f->obj);
	err = f->ops->load(f);
	if (err) {
		fam_failed(f, what, err);
		return err;
	}
	/* (A family without the shared maps, enforce, takes none.) */
	if (e->events_fd < 0 && bpf_object__find_map_by_name(f->obj, common_maps[0]) &&
	    (err = shared_maps_take(e, f->obj))) {
		fam_failed(f, "sharing maps between probe families", err);
		return err;
	}
	test_stop_at("load");
	return 0;
}

static int attach_one(struct engine *e, size_t i, struct bpf_program *prog, enum attach_kind k,
		      bool ret, const char *target)
{
	struct bpf_link *link;

	if (e->nlinks == ENGINE_MAX_LINKS)
		return -E2BIG;
	if (k == ATTACH_FENTRY && calibrate_test_refuses(target))
		return -524; /* ENOTSUPP */
	if (k == ATTACH_KPROBE)
		link = bpf_program__attach_kprobe(prog, ret, target);
	else if (k == ATTACH_RAW_TP)
		link = bpf_program__attach_raw_tracepoint(prog, target);
	else
		link = bpf_program__attach(prog);
	if (!link)
		return -errno;
	e->links[e->nlinks].link = link;
	e->links[e->nlinks++].fam = i;
	return 0;
}

/* Attaches the programs chosen for the family's hooks (programs enabled
 * for other uses, like a test-run scan, are not hooks and stay detached). */
static int fam_attach(struct engine *e, size_t i)
{
	struct fam *f = &e->fams[i];
	const struct family *ops = f->ops;

	for (size_t h = 0; h < ops->nhooks; h++) {
		enum attach_kind k = e->hooks[i].kind[h];
		unsigned int want = kind_progs(k);

		for (size_t bit = 0; bit < ARRAY_SIZE(prog_suffix); bit++) {
			struct bpf_program *prog;
			char what[160];
			int err;

			if (!(hook_progs(&ops->hooks[h]) & want & (1u << bit)))
				continue;
			prog = hook_prog(f, &ops->hooks[h], bit);
			err = attach_one(e, i, prog, k, bit == 3, e->hooks[i].target[h]);
			if (err) {
				snprintf(what, sizeof(what), "attaching %s to %s",
					 bpf_program__name(prog), e->hooks[i].target[h]);
				fam_failed(f, what, err);
				return err;
			}
		}
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* -v: where start-up went, a phase at a time ("since" is the last mark). */
static void startup_time(const char *what, double *since)
{
	double t = now_s();

	if (verbose)
		fprintf(stderr, "dmawatch: start-up: %s in %.0f ms\n", what, (t - *since) * 1e3);
	*since = t;
}

/* Calibration and program choice, shared by start and plan (trials: see
 * struct features). */
static int prepare(struct engine *e, bool trials)
{
	double mark = now_s();
	char what[64];
	int err;

	memset(e, 0, sizeof(*e));
	e->events_fd = e->event_drops_fd = e->proc_stats_fd = -1;
	e->nfams = ARRAY_SIZE(family_table);
	engine_libbpf_messages();
	e->ksyms = ksyms_load_with(NULL, kernel_vars, ARRAY_SIZE(kernel_vars));
	startup_time("kallsyms read", &mark);
	err = calibrate_begin(&e->feat, e->ksyms, trials);
	startup_time("vmlinux BTF read", &mark);
	if (err) {
		if (access("/sys/kernel/btf/vmlinux", F_OK))
			warnx_("cannot read kernel BTF (%s): dmawatch needs a kernel built with "
			       "CONFIG_DEBUG_INFO_BTF (/sys/kernel/btf/vmlinux)", strerror(-err));
		else
			warnx_("/sys/kernel/btf/vmlinux is there but is not the kernel's BTF "
			       "(%s): is something mounted over it?", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < e->nfams; i++) {
		if (!fam_open(e, i))
			fam_destroy(e, i);
		snprintf(what, sizeof(what), "%s opened and its hooks calibrated", family_table[i]->name);
		startup_time(what, &mark);
	}
	/* calibrate_end() comes once the families are loaded: one opened
	 * again (reopen_without_refused()) reads BTF as at first. */
	return 0;
}

/*
 * engine_start() takes fentry on trust wherever BTF has the function (no
 * trial attach, calibrate_begin()); when the family then failed to load or
 * attach, each of its fentry hooks is tried alone, and where one is
 * refused (7 arguments on 6.1: ENOTSUPP at attach) the family is opened
 * again, its notes with it, and takes kprobes there: what a trial would
 * have chosen. true: opened again (then load and attach it).
 */
static bool reopen_without_refused(struct engine *e, size_t i)
{
	struct fam *f = &e->fams[i];
	const struct family *ops = f->ops;
	bool refused = false;
	int kept = 0;

	for (size_t h = 0; h < ops->nhooks; h++)
		if (e->hooks[i].kind[h] == ATTACH_FENTRY &&
		    calibrate_refused(&e->feat, e->hooks[i].target[h]))
			refused = true;
	if (!refused)
		return false;
	fam_destroy(e, i);
	for (int n = 0; n < e->nnotes; n++)
		if (strcmp(e->notes[n].family, ops->name))
			e->notes[kept++] = e->notes[n];
	e->nnotes = kept;
	memset(&e->hooks[i], 0, sizeof(e->hooks[i]));
	f->why[0] = 0;
	if (!fam_open(e, i)) {
		fam_destroy(e, i);
		return false;
	}
	return true;
}

/* Kernel lockdown in confidentiality mode: BPF may not read kernel memory
 * (LOCKDOWN_BPF_READ_KERNEL, kernel/trace/bpf_trace.c), so the verifier
 * refuses every program that calls bpf_probe_read_kernel(), which every
 * probe family does. Said as one line instead of a load error per family. */
static bool lockdown_confidential(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/security/lockdown", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return strstr(buf, "[confidentiality]");
}

/* One line for a process that may load no tracing program at all. */
static int bpf_refused(const struct engine *e)
{
	int err = e->feat.bpf_err;
	const char *missing = bpf_caps_missing();

	if (err == EPERM && missing)
		warnx_("loading BPF tracing programs is not permitted: this process lacks %s "
		       "(run as root, or grant CAP_BPF and CAP_PERFMON)", missing);
	else if (err == EPERM)
		warnx_("this kernel refuses BPF tracing programs even to root: check kernel "
		       "lockdown (integrity/confidentiality) and seccomp of this container");
	else
		warnx_("cannot load a BPF tracing program: %s", strerror(err));
	return -err;
}

/* A family named by -F that does not run fails the command. */
static int check_named(struct engine *e)
{
	for (size_t i = 0; i < e->nfams; i++) {
		struct fam *f = &e->fams[i];

		if (named(f->ops) && !f->running) {
			warnx_("the %s probes cannot run: %s", f->ops->name, f->why);
			return -ENOENT;
		}
	}
	return 0;
}

int engine_start(struct engine *e, event_fn on_event, void *ctx)
{
	double t0 = now_s(), mark;
	size_t running = 0;
	char what[64];
	int err;

	event_cb = on_event;
	event_ctx = ctx;
	err = prepare(e, false);
	if (err)
		return err;
	mark = now_s(); /* prepare() said where its time went */
	if (e->feat.bpf_err)
		return bpf_refused(e);
	if (lockdown_confidential()) {
		warnx_("kernel lockdown is 'confidentiality': it forbids BPF to read kernel "
		       "memory, which every probe needs (boot with lockdown=integrity or none)");
		return -EPERM;
	}
	for (size_t i = 0; i < e->nfams; i++) {
		struct fam *f = &e->fams[i];

		if (!f->obj) {
			/* Not applicable here (ENOENT) is no news; a family
			 * this environment keeps out (permissions, sysctls,
			 * helpers) is a degraded run, and said once. */
			if (f->open_err && f->open_err != ENOENT && !named(f->ops))
				warnx_("the %s probes are left out: %s", f->ops->name, f->why);
			continue;
		}
		err = fam_load(e, i);
		if (!err) {
			snprintf(what, sizeof(what), "%s loaded", f->ops->name);
			startup_time(what, &mark);
			err = fam_attach(e, i);
		}
		/* Once again where a fentry it took on trust was refused. */
		if (err && reopen_without_refused(e, i)) {
			snprintf(what, sizeof(what), "%s opened again, kprobes where fentry was refused",
				 f->ops->name);
			startup_time(what, &mark);
			err = fam_load(e, i);
			err = err ? err : fam_attach(e, i);
		}
		if (err) {
			warnx_("the %s probes are left out: %s", f->ops->name, f->why);
			fam_destroy(e, i);
			continue;
		}
		snprintf(what, sizeof(what), "%s attached", f->ops->name);
		startup_time(what, &mark);
		f->running = true;
		if (!running++)
			test_stop_at("attach");
	}
	calibrate_end(&e->feat);
	err = check_named(e);
	if (err)
		return err;
	if (!running) {
		warnx_("no probe family can run on this kernel (see 'dmawatch probe')");
		return -ENOENT;
	}
	/* No ring buffer when only families without events run (-F enforce). */
	if (e->events_fd >= 0) {
		e->rb = ring_buffer__new(e->events_fd, handle_event, NULL, NULL);
		if (!e->rb) {
			err = -errno;
			warnx_("opening the event ring buffer: %s", strerror(-err));
			return err;
		}
	}
	test_stop_at("running");
	startup_time("all of it", &t0);
	return 0;
}

int engine_plan(struct engine *e)
{
	int err = prepare(e, true);

	calibrate_end(&e->feat);
	return err;
}

void engine_stop(struct engine *e)
{
	int *fds[] = { &e->events_fd, &e->event_drops_fd, &e->proc_stats_fd };

	ring_buffer__free(e->rb);
	e->rb = NULL;
	for (size_t i = e->nfams; i-- > 0;)
		fam_destroy(e, i);
	for (size_t m = 0; m < ARRAY_SIZE(fds); m++) {
		if (*fds[m] >= 0)
			close(*fds[m]);
		*fds[m] = -1;
	}
	ksyms_free(e->ksyms);
	e->ksyms = NULL;
	calibrate_end(&e->feat); /* where engine_start() returned early */
}

/* ---- reading --------------------------------------------------------------- */

int read_percpu_hash(int map_fd, size_t key_size, size_t value_size, percpu_entry_fn fn,
		     void *ctx)
{
	int ncpus = libbpf_num_possible_cpus();
	size_t stride = (value_size + 7) & ~(size_t)7;
	char key[key_size], next[key_size];
	char *percpu;
	int err;

	if (ncpus <= 0)
		return -EINVAL;
	percpu = malloc(stride * ncpus);
	if (!percpu)
		return -ENOMEM;
	for (err = bpf_map_get_next_key(map_fd, NULL, next); !err;
	     err = bpf_map_get_next_key(map_fd, key, next)) {
		memcpy(key, next, key_size);
		/* Deleted between the two calls: skip it. */
		if (bpf_map_lookup_elem(map_fd, key, percpu))
			continue;
		if (fn(ctx, key, percpu, ncpus))
			break;
	}
	free(percpu);
	return 0;
}

static int add_proc(void *ctx, const void *key, const void *percpu, int ncpus)
{
	const struct dmaw_proc_stats *per = percpu;
	struct proc_snapshot *p = snapshot_proc(ctx);

	if (!p)
		return 0; /* counted; the rest are counted too */
	p->pid = *(const __u32 *)key;
	for (int c = 0; c < ncpus; c++) {
		/* comm is filled on the CPU that saw the process first. */
		if (!p->st.comm[0] && per[c].comm[0])
			memcpy(p->st.comm, per[c].comm, sizeof(p->st.comm));
		p->st.maps += per[c].maps;
		p->st.bytes += per[c].bytes;
	}
	p->st.comm[sizeof(p->st.comm) - 1] = 0;
	return 0;
}

static void read_common(struct engine *e, struct snapshot *s)
{
	int ncpus = libbpf_num_possible_cpus();
	__u32 zero = 0;

	if (ncpus > 0 && e->event_drops_fd >= 0) {
		__u64 drops[ncpus];

		if (!bpf_map_lookup_elem(e->event_drops_fd, &zero, drops))
			for (int c = 0; c < ncpus; c++)
				s->event_drops += drops[c];
	}
	if (e->proc_stats_fd >= 0)
		read_percpu_hash(e->proc_stats_fd, sizeof(__u32), sizeof(struct dmaw_proc_stats),
				 add_proc, s);
}

/* The runs the kernel skipped, over the family's loaded programs. */
static __u64 missed_runs(const struct fam *f)
{
	struct bpf_program *prog;
	__u64 n = 0;

	bpf_object__for_each_program(prog, f->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

int engine_read(struct engine *e, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->time_s = now_s();
	s->detail = opt_detail;
	for (size_t i = 0; i < e->nfams; i++) {
		if (e->fams[i].running) {
			e->fams[i].ops->read(&e->fams[i], s);
			s->missed_runs[i] = missed_runs(&e->fams[i]);
		}
		if (i == e->nfams / 2)
			test_stop_at("read");
	}
	read_common(e, s);
	return 0;
}

int engine_event_fd(const struct engine *e)
{
	return e->rb ? ring_buffer__epoll_fd(e->rb) : -1;
}

int engine_consume(struct engine *e)
{
	int n = e->rb ? ring_buffer__consume(e->rb) : 0;

	return n == -EINTR ? 0 : n;
}
