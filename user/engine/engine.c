// SPDX-License-Identifier: GPL-2.0
/*
 * The engine's lifecycle: open every family and choose its programs
 * (engine/choose.c), load each through its skeleton with the common maps
 * shared, attach, and when a fentry taken on trust is refused, open the
 * family again on kprobes; tear down in reverse.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "engine/internal.h"
#include "engine/ksyms.h"
#include "engine/lab_faults.h"
#include "engine/memlimit.h"
#include "util.h"

/* By enum shared_map: the maps every family shares. */
static const char *const shared_map_names[SHARED_MAPS] = {
	[SHARED_EVENTS] = "events",
	[SHARED_EVENT_DROPS] = "event_drops",
	[SHARED_PROC_STATS] = "proc_stats",
	[SHARED_POOL_PEAK] = "pool_peak",
};

/* The kernel variables family/common.bpf.h reads, by address (struct
 * family_rodata). */
static const char *const kernel_vars[] = {
	"__per_cpu_offset",      "__preempt_count",    "pcpu_hot",
	"track_hiwater_enabled", "io_tlb_default_mem",
};

static void note(struct engine *e, const char *family, const char *hook, enum attach_kind kind,
		 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
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

void fam_note(struct family_run *f, const char *hook, enum attach_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note(f->e, f->ops->name, hook, kind, fmt, ap);
	va_end(ap);
}

/* Opens family i and chooses its programs. false: it cannot run (noted). */
static bool fam_open(struct engine *e, size_t i)
{
	const struct family *ops = family_table[i];
	struct family_run *f = &e->runs[i];
	bool required_missing = false;
	const char *missing = NULL;
	size_t attached = 0;

	f->ops = ops;
	f->e = e;
	if (e->opts.families && !engine_asked_for(&e->opts, ops)) {
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
	/* A family that only reads (no BPF of its own) has nothing to choose. */
	if (!ops->open)
		return true;
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
		if (ops->hooks[h].detail_only && !e->opts.detail)
			continue;
		k = choose_hook(f, h);
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
	struct family_run *f = &e->runs[i];

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

static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void engine_libbpf_messages(bool verbose)
{
	libbpf_verbose = verbose;
	libbpf_set_print(libbpf_print);
}

static int handle_event(void *ctx, void *data, size_t len)
{
	struct engine *e = ctx;

	if (len < sizeof(struct dmaw_event) || !e->on_event)
		return 0;
	return e->on_event(e->event_ctx, data);
}

static int shared_maps_take(struct engine *e, struct bpf_object *obj)
{
	for (size_t m = 0; m < SHARED_MAPS; m++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, shared_map_names[m]);

		e->shared_fd[m] = map ? dup(bpf_map__fd(map)) : -1;
		if (e->shared_fd[m] < 0)
			return -errno;
	}
	return 0;
}

static int shared_maps_give(struct engine *e, struct bpf_object *obj)
{
	for (size_t m = 0; m < SHARED_MAPS; m++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, shared_map_names[m]);
		int err = map ? bpf_map__reuse_fd(map, e->shared_fd[m]) : 0;

		if (err)
			return err;
	}
	return 0;
}

/* What every object's .rodata gets, from calibration. */
static void common_rodata(struct engine *e)
{
	__u64 *addr[ARRAY_SIZE(kernel_vars)] = {
		&e->rodata.per_cpu_offset_addr,     &e->rodata.preempt_count_addr,
		&e->rodata.pcpu_hot_addr,           &e->rodata.track_hiwater_enabled_addr,
		&e->rodata.io_tlb_default_mem_addr,
	};

	for (size_t i = 0; i < ARRAY_SIZE(kernel_vars); i++) {
		uint64_t a;

		ksyms_data(e->ksyms, kernel_vars[i], &a);
		*addr[i] = a;
	}
	e->rodata.pcpu_hot_pc_off = e->feat.pcpu_hot_pc_off;
	e->rodata.detail = e->opts.detail;
	e->rodata.nr_cpus = libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1;
}

static int fam_load(struct engine *e, size_t i)
{
	struct family_run *f = &e->runs[i];
	char what[64];
	int err;

	snprintf(what, sizeof(what), "loading the %s probes", f->ops->name);
	/* The first family to load creates the shared maps; the others
	 * reuse them: one ring buffer, one process table. */
	if (e->shared_fd[SHARED_EVENTS] >= 0 && (err = shared_maps_give(e, f->obj))) {
		fam_failed(f, "sharing maps between probe families", err);
		return err;
	}
	test_faults_before_load(f->obj, f->ops->name, shared_map_names, SHARED_MAPS);
	err = f->ops->load(f, &e->rodata);
	if (err) {
		fam_failed(f, what, err);
		return err;
	}
	if (e->shared_fd[SHARED_EVENTS] < 0 &&
	    bpf_object__find_map_by_name(f->obj, shared_map_names[SHARED_EVENTS]) &&
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
	if (k == ATTACH_FENTRY && test_refuses_fentry(target))
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
	struct family_run *f = &e->runs[i];
	const struct family *ops = f->ops;

	for (size_t h = 0; h < ops->nhooks; h++) {
		enum attach_kind k = e->hooks[i].kind[h];
		unsigned int want = hook_progs(&e->opts, &ops->hooks[h]) & kind_progs(k);

		for (int bit = 0; bit < HOOK_PROG_BITS; bit++) {
			struct bpf_program *prog;
			char what[160];
			int err;

			if (!(want & (1u << bit)))
				continue;
			prog = hook_prog(f->obj, &ops->hooks[h], bit);
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

/* -v: where start-up went, a phase at a time ("since" is the last mark). */
static void startup_time(const struct engine *e, const char *what, double *since)
{
	double t = mono_s();

	if (e->opts.verbose)
		fprintf(stderr, "dmawatch: start-up: %s in %.0f ms\n", what, (t - *since) * 1e3);
	*since = t;
}

/* Calibration and program choice, shared by start and plan (trials: see
 * struct features). */
static int prepare(struct engine *e, const struct engine_opts *o, bool trials)
{
	double mark = mono_s();
	char what[64];
	int err;

	memset(e, 0, sizeof(*e));
	e->opts = *o;
	for (size_t m = 0; m < SHARED_MAPS; m++)
		e->shared_fd[m] = -1;
	e->nruns = ARRAY_SIZE(family_table);
	e->departed = calloc(1, sizeof(*e->departed));
	if (!e->departed) {
		dmaw_warn("out of memory for the table of removed devices (%zu KiB)",
			  sizeof(*e->departed) >> 10);
		return -ENOMEM;
	}
	engine_libbpf_messages(o->verbose);
	e->ksyms = ksyms_load_with(NULL, kernel_vars, ARRAY_SIZE(kernel_vars));
	startup_time(e, "kallsyms read", &mark);
	err = calibrate_begin(&e->feat, e->ksyms, trials);
	startup_time(e, "vmlinux BTF read", &mark);
	if (err) {
		explain_btf_unreadable(err);
		return err;
	}
	common_rodata(e);
	for (size_t i = 0; i < e->nruns; i++) {
		if (!fam_open(e, i))
			fam_destroy(e, i);
		snprintf(what, sizeof(what), "%s opened and its hooks calibrated",
			 family_table[i]->name);
		startup_time(e, what, &mark);
	}
	/* The BTF goes before the families load (calibrate_rest()); one
	 * opened again (reopen_without_refused()) reads it again. */
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
	struct family_run *f = &e->runs[i];
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

/* A family named by -F that does not run fails the command. */
static int check_asked_for(struct engine *e)
{
	for (size_t i = 0; i < e->nruns; i++) {
		struct family_run *f = &e->runs[i];

		if (engine_asked_for(&e->opts, f->ops) && !f->running) {
			dmaw_warn("the %s probes cannot run: %s", f->ops->name, f->why);
			return -ENOENT;
		}
	}
	return 0;
}

/* Loads and attaches family i: 0, or its error with f->why set. A fentry
 * it took on trust and the kernel refused makes it try once more, on
 * kprobes there. */
static int fam_start(struct engine *e, size_t i, double *mark)
{
	struct family_run *f = &e->runs[i];
	char what[64];
	int err;

	err = fam_load(e, i);
	if (!err) {
		snprintf(what, sizeof(what), "%s loaded", f->ops->name);
		startup_time(e, what, mark);
		err = fam_attach(e, i);
	}
	if (err && reopen_without_refused(e, i)) {
		snprintf(what, sizeof(what), "%s opened again, kprobes where fentry was refused",
			 f->ops->name);
		startup_time(e, what, mark);
		err = fam_load(e, i);
		err = err ? err : fam_attach(e, i);
	}
	return err;
}

int engine_start(struct engine *e, const struct engine_opts *o, event_fn on_event, void *ctx)
{
	double t0 = mono_s(), mark;
	size_t running = 0, attached = 0;
	char what[64];
	int err;

	/* Before the start's memory is spent: a cgroup too small for it gets
	 * the OOM killer halfway, with nothing said. */
	err = memlimit_check();
	if (err) {
		memset(e, 0, sizeof(*e));
		for (size_t m = 0; m < SHARED_MAPS; m++)
			e->shared_fd[m] = -1;
		return err;
	}
	err = prepare(e, o, false);
	if (err)
		return err;
	e->on_event = on_event;
	e->event_ctx = ctx;
	mark = mono_s(); /* prepare() said where its time went */
	if (e->feat.bpf_err)
		return explain_bpf_refused(e);
	if (lockdown_confidential()) {
		dmaw_warn("kernel lockdown is 'confidentiality': it forbids BPF to read kernel "
			  "memory, which every probe needs (boot with lockdown=integrity or none)");
		return -EPERM;
	}
	/* Every family is open and its hooks chosen: the BTF can go while
	 * they load (libbpf reads its own per object). */
	calibrate_rest(&e->feat);
	for (size_t i = 0; i < e->nruns; i++) {
		struct family_run *f = &e->runs[i];

		if (!f->state) {
			/* Not applicable here (ENOENT) is no news; a family
			 * this environment keeps out (permissions, sysctls,
			 * helpers) is a degraded run, and said once. */
			if (f->open_err && f->open_err != ENOENT && !engine_asked_for(o, f->ops))
				dmaw_warn("the %s probes are left out: %s", f->ops->name, f->why);
			continue;
		}
		if (f->obj && (err = fam_start(e, i, &mark))) {
			dmaw_warn("the %s probes are left out: %s", f->ops->name, f->why);
			fam_destroy(e, i);
			continue;
		}
		snprintf(what, sizeof(what), "%s %s", f->ops->name, f->obj ? "attached" : "ready");
		startup_time(e, what, &mark);
		f->running = true;
		running++;
		if (f->obj && !attached++)
			test_stop_at("attach");
	}
	calibrate_end(&e->feat);
	err = check_asked_for(e);
	if (err)
		return err;
	if (!running) {
		dmaw_warn("no probe family can run on this kernel (see 'dmawatch probe')");
		return -ENOENT;
	}
	/* No ring buffer when only families without events run (-F enforce). */
	if (e->shared_fd[SHARED_EVENTS] >= 0) {
		e->rb = ring_buffer__new(e->shared_fd[SHARED_EVENTS], handle_event, e, NULL);
		if (!e->rb) {
			err = -errno;
			dmaw_warn("opening the event ring buffer: %s", strerror(-err));
			return err;
		}
	}
	test_stop_at("running");
	startup_time(e, "all of it", &t0);
	return 0;
}

int engine_plan(struct engine *e, const struct engine_opts *o)
{
	int err = prepare(e, o, true);

	calibrate_end(&e->feat);
	return err;
}

void engine_stop(struct engine *e)
{
	ring_buffer__free(e->rb);
	e->rb = NULL;
	for (size_t i = e->nruns; i-- > 0;)
		fam_destroy(e, i);
	for (size_t m = 0; m < SHARED_MAPS; m++) {
		if (e->shared_fd[m] >= 0)
			close(e->shared_fd[m]);
		e->shared_fd[m] = -1;
	}
	ksyms_free(e->ksyms);
	e->ksyms = NULL;
	free(e->departed);
	e->departed = NULL;
	calibrate_end(&e->feat); /* where engine_start() returned early */
}
