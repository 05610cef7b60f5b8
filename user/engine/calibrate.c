// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "engine/calibrate.h"
#include "engine/ksyms.h"
#include "engine/lab_faults.h"

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
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = btf_id, .attach_btf_obj_fd = btf_obj_fd > 0 ? btf_obj_fd : 0);
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

/* Loads "r0 = 0; exit" as a kprobe program: can this process load tracing
 * programs at all? Without this, a user lacking the capabilities would see
 * every fentry refused "Operation not permitted" and kprobes chosen, which
 * fail the same way. */
static int trial_tracing_load(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "dmaw_trial", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
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

/* The module's BTF and the fd of its BTF object, read once per module per
 * calibration (a family's hooks in one module share them); NULL: the
 * module has no BTF here (not loaded). */
static const struct btf *module_btf(struct features *f, const char *module, int *fd)
{
	if (!f->mod_name || strcmp(f->mod_name, module)) {
		btf__free(f->mod_btf);
		if (f->mod_fd >= 0)
			close(f->mod_fd);
		f->mod_name = module;
		f->mod_btf = btf__load_module_btf(module, f->vmlinux);
		f->mod_fd = f->mod_btf ? module_btf_fd(module) : -1;
	}
	*fd = f->mod_fd;
	return f->mod_btf;
}

/* The trial, once per function: fd is the module's BTF object for an id
 * in the module's BTF, else -1. */
static void try_fentry(struct func_probe *p, int fd)
{
	p->fentry_err = test_refuses_fentry(p->name) ? 524 /* ENOTSUPP */
						       :
						       -trial_fentry(fd, p->btf_id);
	p->fentry_tried = true;
	p->fentry_ok = !p->fentry_err;
}

static void probe_func(struct features *f, struct func_probe *p)
{
	const struct btf *btf = f->vmlinux, *mod_btf;
	bool trial = !f->bpf_err;
	int id, obj_fd = -1;

	id = btf__find_by_name_kind(btf, p->name, BTF_KIND_FUNC);
	/* obj_fd: only for an id in the module's BTF (trial_fentry). */
	if (id < 0 && p->module && (mod_btf = module_btf(f, p->module, &obj_fd))) {
		btf = mod_btf;
		id = btf__find_by_name_kind(mod_btf, p->name, BTF_KIND_FUNC);
	}
	if (id > 0) {
		const struct btf_type *fn = btf__type_by_id(btf, id);
		const struct btf_type *proto = btf__type_by_id(btf, fn->type);

		p->in_btf = true;
		p->nargs = btf_vlen(proto);
		p->btf_id = id;
		p->in_module = btf != f->vmlinux;
		/* Where no tracing program loads at all, the trial would
		 * only repeat that (calibrate_begin: bpf_err). */
		if (trial && (btf == f->vmlinux || obj_fd >= 0)) {
			if (f->trials)
				try_fentry(p, obj_fd);
			else
				p->fentry_ok = true; /* on trust: calibrate_refused() */
		}
	}
	p->in_kallsyms = f->ks && ksyms_find_name(f->ks, p->name);
}

/* Byte offset of member mname in the struct or union type_id, looking
 * into anonymous members as C does (6.12's struct pcpu_hot keeps
 * preempt_count in an anonymous struct inside an anonymous union), or -1. */
static int member_offset_in(const struct btf *btf, __u32 type_id, const char *mname, int depth)
{
	const struct btf_type *t = btf__type_by_id(btf, type_id);
	const struct btf_member *m;

	if (!t || !(btf_is_struct(t) || btf_is_union(t)) || depth > 8)
		return -1;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		int off;

		if (name && *name) {
			if (!strcmp(name, mname))
				return btf_member_bit_offset(t, i) / 8;
			continue;
		}
		off = member_offset_in(btf, btf__resolve_type(btf, m->type), mname, depth + 1);
		if (off >= 0)
			return btf_member_bit_offset(t, i) / 8 + off;
	}
	return -1;
}

int btf_struct_member_offset(const struct btf *btf, const char *sname, const char *mname)
{
	int id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);

	return id > 0 ? member_offset_in(btf, id, mname, 0) : -1;
}

int calibrate_begin(struct features *f, const struct ksyms *ks, bool trials)
{
	memset(f, 0, sizeof(*f));
	f->trials = trials;
	f->mod_fd = -1;
	f->ks = ks;
	f->debugfs_swiotlb = !access("/sys/kernel/debug/swiotlb/io_tlb_nslabs", R_OK);
	f->tracefs = !access("/sys/kernel/tracing/events", F_OK) ||
		     !access("/sys/kernel/debug/tracing/events", F_OK);
	f->btf = !access("/sys/kernel/btf/vmlinux", R_OK);
	f->vmlinux = btf__load_vmlinux_btf();
	if (!f->vmlinux)
		return -errno;
	f->pcpu_hot_pc_off = btf_struct_member_offset(f->vmlinux, "pcpu_hot", "preempt_count");
	f->bpf_err = -trial_tracing_load();
	return 0;
}

/* The function's probe, if calibrated already. */
static struct func_probe *find_func(struct features *f, const char *name)
{
	for (int i = 0; i < f->nfuncs; i++)
		if (!strcmp(f->funcs[i].name, name))
			return &f->funcs[i];
	return NULL;
}

const struct func_probe *calibrate_func(struct features *f, const char *name, const char *module)
{
	struct func_probe *p = find_func(f, name);

	if (p)
		return p;
	if (f->nfuncs == CALIB_MAX_FUNCS || !calibrate_vmlinux(f))
		return NULL;
	p = &f->funcs[f->nfuncs++];
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->module = module;
	probe_func(f, p);
	return p;
}

bool calibrate_refused(struct features *f, const char *name)
{
	struct func_probe *p = find_func(f, name);
	int fd = -1;

	if (!p)
		return false;
	/* Tried already (by probe, or for another family's hook on the
	 * same function): that answer stands. */
	if (p->fentry_tried)
		return !p->fentry_ok;
	/* Not taken on trust (not in BTF): it was no fentry hook. */
	if (!p->fentry_ok)
		return false;
	if (p->in_module && (fd = module_btf_fd(p->module)) < 0) {
		p->fentry_err = ENOENT; /* the module went away meanwhile */
		p->fentry_tried = true;
		p->fentry_ok = false;
		return true;
	}
	try_fentry(p, fd);
	if (fd >= 0)
		close(fd);
	return !p->fentry_ok;
}

const struct tp_probe *calibrate_tp(struct features *f, const char *name)
{
	const char *event = strchr(name, '/');
	char typedef_name[96];
	struct tp_probe *p;

	for (int i = 0; i < f->ntps; i++)
		if (!strcmp(f->tps[i].name, name))
			return &f->tps[i];
	if (f->ntps == CALIB_MAX_TPS || !calibrate_vmlinux(f))
		return NULL;
	p = &f->tps[f->ntps++];
	memset(p, 0, sizeof(*p));
	p->name = name;
	snprintf(typedef_name, sizeof(typedef_name), "btf_trace_%s", event ? event + 1 : name);
	p->in_btf = btf__find_by_name_kind(f->vmlinux, typedef_name, BTF_KIND_TYPEDEF) > 0;
	p->in_tracefs = tracefs_has(name);
	return p;
}

const struct btf *calibrate_vmlinux(struct features *f)
{
	if (!f->vmlinux && f->rested)
		f->vmlinux = btf__load_vmlinux_btf();
	return f->vmlinux;
}

void calibrate_rest(struct features *f)
{
	calibrate_end(f);
	f->rested = true;
}

void calibrate_end(struct features *f)
{
	/* Also on a zeroed struct (engine_stop() without a start): the fd
	 * is only ours once a module was named. */
	if (f->mod_name && f->mod_fd >= 0)
		close(f->mod_fd);
	f->mod_fd = -1;
	f->mod_name = NULL;
	btf__free(f->mod_btf);
	f->mod_btf = NULL;
	btf__free(f->vmlinux);
	f->vmlinux = NULL;
}
