// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "engine.h"
#include "ksyms.h"
#include "util.h"

static const struct family *const families[] = {
	&swiotlb_family,
	&dmamap_family,
	&virtqueue_family,
	&pool_family,
};

/* The maps bpf/common.bpf.h defines in every object; the first family's
 * instances are shared by all. */
static const char *const common_maps[] = { "events", "event_drops", "proc_stats" };

const char *engine_family_name(size_t i)
{
	return i < ARRAY_SIZE(families) ? families[i]->name : NULL;
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

static bool family_selected(const struct family *f)
{
	return !only_families || in_list(only_families, f->name);
}

void engine_family_names(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(families) && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", families[i]->name);
}

int engine_check_families(const char *list)
{
	if (!*list) {
		char names[128];

		engine_family_names(names, sizeof(names));
		warnx_("-F/--families got an empty list (families: %s)", names);
		return -EINVAL;
	}
	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(families); i++)
			known |= strlen(families[i]->name) == n && !strncmp(families[i]->name, p, n);
		if (!known || !n) {
			char names[128];

			engine_family_names(names, sizeof(names));
			warnx_("unknown probe family '%.*s' in -F (families: %s)", (int)n, p, names);
			return -EINVAL;
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

static event_fn event_cb;
static void *event_ctx;

void engine_note(struct engine *e, const char *family, const char *hook,
		 enum attach_kind kind, const char *fmt, ...)
{
	struct attach_note *n;
	va_list ap;

	if (e->nnotes >= ENGINE_MAX_NOTES)
		return;
	n = &e->notes[e->nnotes++];
	n->family = family;
	n->hook = hook;
	n->kind = kind;
	va_start(ap, fmt);
	vsnprintf(n->detail, sizeof(n->detail), fmt, ap);
	va_end(ap);
}

static void set_autoload(struct bpf_program **progs, size_t n, bool on)
{
	for (size_t i = 0; i < n; i++)
		if (progs[i])
			bpf_program__set_autoload(progs[i], on);
}

enum attach_kind choose_fentry_or_kprobe(struct engine *e, const char *family,
					 enum func_id fn, struct bpf_program **fentry,
					 size_t nfentry, struct bpf_program **kprobe,
					 size_t nkprobe)
{
	const struct func_probe *p = &e->feat.funcs[fn];

	if (p->fentry_ok && !force_kprobes) {
		set_autoload(fentry, nfentry, true);
		set_autoload(kprobe, nkprobe, false);
		engine_note(e, family, p->name, ATTACH_FENTRY, "%d args", p->nargs);
		return ATTACH_FENTRY;
	}
	set_autoload(fentry, nfentry, false);
	if (p->in_kallsyms) {
		set_autoload(kprobe, nkprobe, true);
		if (p->fentry_ok)
			engine_note(e, family, p->name, ATTACH_KPROBE, "fentry works; -K given");
		else if (p->in_btf)
			engine_note(e, family, p->name, ATTACH_KPROBE,
				    "fentry refused (%d args: %s)", p->nargs,
				    kernel_strerror(p->fentry_err));
		else
			engine_note(e, family, p->name, ATTACH_KPROBE, "not in BTF");
		return ATTACH_KPROBE;
	}
	set_autoload(kprobe, nkprobe, false);
	engine_note(e, family, p->name, ATTACH_NONE, "not in this kernel");
	return ATTACH_NONE;
}

enum attach_kind choose_hook(struct engine *e, const char *family, struct bpf_object *obj,
			     enum func_id fn, const char *prefix)
{
	static const char *const fentry_suffixes[] = { "fentry", "fexit" };
	static const char *const kprobe_suffixes[] = { "kprobe", "kretprobe" };
	struct bpf_program *fentry[2], *kprobe[2];
	size_t nfentry = 0, nkprobe = 0;
	char name[128];

	for (size_t i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s_%s", prefix, fentry_suffixes[i]);
		if ((fentry[nfentry] = bpf_object__find_program_by_name(obj, name)))
			nfentry++;
		snprintf(name, sizeof(name), "%s_%s", prefix, kprobe_suffixes[i]);
		if ((kprobe[nkprobe] = bpf_object__find_program_by_name(obj, name)))
			nkprobe++;
	}
	return choose_fentry_or_kprobe(e, family, fn, fentry, nfentry, kprobe, nkprobe);
}

int read_percpu_hash(struct bpf_map *map, size_t key_size, size_t value_size,
		     percpu_entry_fn fn, void *ctx)
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
	for (err = bpf_map__get_next_key(map, NULL, next, key_size); !err;
	     err = bpf_map__get_next_key(map, key, next, key_size)) {
		memcpy(key, next, key_size);
		/* Deleted between the two calls: skip it. */
		if (bpf_map__lookup_elem(map, key, key_size, percpu, stride * ncpus, 0))
			continue;
		if (fn(ctx, key, percpu, ncpus))
			break;
	}
	free(percpu);
	return 0;
}

int engine_attach_object(struct engine *e, struct bpf_object *obj,
			 bool (*skip)(const struct bpf_program *prog))
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog) || (skip && skip(prog)))
			continue;
		if (e->nlinks == ENGINE_MAX_LINKS) {
			warnx_("internal: more than %d BPF links", ENGINE_MAX_LINKS);
			return -E2BIG;
		}
		link = bpf_program__attach(prog);
		if (!link) {
			int err = -errno;

			warnx_("cannot attach %s (%s): %s%s", bpf_program__name(prog),
			       bpf_program__section_name(prog), strerror(-err),
			       err == -ENOENT ? ": the kernel has no such attach point "
						"(kprobes or tracefs missing?)" : "");
			return err;
		}
		e->links[e->nlinks++] = link;
	}
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int handle_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len < sizeof(struct dmaw_event) || !event_cb)
		return 0;
	return event_cb(event_ctx, data);
}

/* One line naming the cause and the fix, for the errors users meet. */
static int explain(int err, const char *what)
{
	if (err == -EPERM)
		warnx_("%s: not permitted: run as root (CAP_BPF and CAP_PERFMON); "
		       "check kernel lockdown and kernel.unprivileged_bpf_disabled", what);
	else if (err == -EACCES)
		warnx_("%s: the kernel's verifier rejected a program "
		       "(run with -v for its log, and please report it)", what);
	else
		warnx_("%s: %s (run with -v for libbpf's log)", what, strerror(-err));
	return err;
}

static int load_family(size_t i, struct bpf_object *obj)
{
	char what[64];
	int err;

	snprintf(what, sizeof(what), "loading the %s probes", families[i]->name);
	err = bpf_object__load(obj);
	return err ? explain(err, what) : 0;
}

int engine_start(struct engine *e, event_fn on_event, void *ctx)
{
	struct bpf_object *objs[ARRAY_SIZE(families)] = {};
	struct bpf_object *first = NULL;
	size_t first_idx = 0;
	int err;

	memset(e, 0, sizeof(*e));
	libbpf_set_print(libbpf_print);
	event_cb = on_event;
	event_ctx = ctx;
	e->ksyms = ksyms_load(NULL);
	err = calibrate(&e->feat, e->ksyms);
	if (err) {
		warnx_("cannot read kernel BTF (%s): dmawatch needs a kernel built with "
		       "CONFIG_DEBUG_INFO_BTF (/sys/kernel/btf/vmlinux)", strerror(-err));
		return err;
	}

	/* A family whose hooks this kernel lacks is noted and left out. */
	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		if (!family_selected(families[i])) {
			engine_note(e, families[i]->name, "-", ATTACH_NONE, "left out by -F");
			continue;
		}
		objs[i] = families[i]->open(e);
		if (!objs[i])
			engine_note(e, families[i]->name, "-", ATTACH_NONE, "not loaded: %s",
				    strerror(errno));
		else if (!first)
			first = objs[first_idx = i];
	}
	if (!first) {
		warnx_("no probe family can run on this kernel (see 'dmawatch probe')");
		return -ENOENT;
	}
	/* Loading the first object creates the shared maps; the others reuse
	 * them, so there is one ring buffer and one process table. */
	err = load_family(first_idx, first);
	if (err)
		return err;
	e->events = bpf_object__find_map_by_name(first, "events");
	e->event_drops = bpf_object__find_map_by_name(first, "event_drops");
	e->proc_stats = bpf_object__find_map_by_name(first, "proc_stats");
	for (size_t i = first_idx + 1; i < ARRAY_SIZE(families); i++) {
		if (!objs[i])
			continue;
		for (size_t m = 0; m < ARRAY_SIZE(common_maps); m++) {
			struct bpf_map *src = bpf_object__find_map_by_name(first, common_maps[m]);
			struct bpf_map *dst = bpf_object__find_map_by_name(objs[i], common_maps[m]);

			if (src && dst && (err = bpf_map__reuse_fd(dst, bpf_map__fd(src))))
				return explain(err, "sharing maps between probe families");
		}
		err = load_family(i, objs[i]);
		if (err)
			return err;
	}
	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		if (!objs[i])
			continue;
		/* attach() reports its own failure, naming the program. */
		err = families[i]->attach(e);
		if (err)
			return err;
		e->families_ok[i] = true;
	}
	e->rb = ring_buffer__new(bpf_map__fd(e->events), handle_event, NULL, NULL);
	if (!e->rb)
		return explain(-errno, "opening the event ring buffer");
	return 0;
}

int engine_plan(struct engine *e)
{
	int err;

	memset(e, 0, sizeof(*e));
	libbpf_set_print(libbpf_print);
	e->ksyms = ksyms_load(NULL);
	err = calibrate(&e->feat, e->ksyms);
	if (err)
		return err;
	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		if (!family_selected(families[i]))
			engine_note(e, families[i]->name, "-", ATTACH_NONE, "left out by -F");
		else if (!families[i]->open(e))
			engine_note(e, families[i]->name, "-", ATTACH_NONE, "not loaded: %s",
				    strerror(errno));
	}
	return 0;
}

void engine_stop(struct engine *e)
{
	ring_buffer__free(e->rb);
	e->rb = NULL;
	/* Links before objects, newest first: nothing stays attached. */
	while (e->nlinks > 0)
		bpf_link__destroy(e->links[--e->nlinks]);
	for (size_t i = ARRAY_SIZE(families); i-- > 0;)
		families[i]->destroy(e);
	ksyms_free(e->ksyms);
	e->ksyms = NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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
	__u64 drops[ncpus];
	__u32 zero = 0;

	if (e->event_drops && !bpf_map__lookup_elem(e->event_drops, &zero, sizeof(zero),
						    drops, sizeof(drops), 0))
		for (int c = 0; c < ncpus; c++)
			s->event_drops += drops[c];
	if (e->proc_stats)
		read_percpu_hash(e->proc_stats, sizeof(__u32), sizeof(struct dmaw_proc_stats),
				 add_proc, s);
}

int engine_read(struct engine *e, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->time_s = now_s();
	for (size_t i = 0; i < ARRAY_SIZE(families); i++)
		if (e->families_ok[i])
			families[i]->read(e, s);
	read_common(e, s);
	return 0;
}

int engine_poll(struct engine *e, int timeout_ms)
{
	int n = ring_buffer__poll(e->rb, timeout_ms);

	return n == -EINTR ? 0 : n;
}
