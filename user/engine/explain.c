// SPDX-License-Identifier: GPL-2.0
/*
 * What a failure to load or attach means, said as one line that names the
 * cause and the fix: per family (f->why, kept for probe and export) and for
 * the whole process (no BPF at all, lockdown, unreadable BTF).
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/internal.h"
#include "util.h"

void fam_out(struct family_run *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	fam_note(f, "-", ATTACH_NONE, "not loaded: %s", f->why);
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
	case -ESRCH: return "an attach point is missing from this kernel (run with -v)";
	default: return NULL;
	}
}

void fam_failed(struct family_run *f, const char *what, int err)
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
		fam_out(f,
			"%s: not permitted: %s is a module here, and reading a module's "
			"BTF needs CAP_SYS_ADMIN",
			what, module);
	else if (why)
		fam_out(f, "%s: %s", what, why);
	else
		fam_out(f, "%s: %s (run with -v for libbpf's log)", what, strerror(-err));
}

/* Kernel lockdown in confidentiality mode: BPF may not read kernel memory
 * (LOCKDOWN_BPF_READ_KERNEL, kernel/trace/bpf_trace.c), so the verifier
 * refuses every program that calls bpf_probe_read_kernel(), which every
 * probe family does. Said as one line instead of a load error per family. */
bool lockdown_confidential(void)
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

int explain_bpf_refused(const struct engine *e)
{
	int err = e->feat.bpf_err;
	const char *missing = bpf_caps_missing();

	if (err == EPERM && missing)
		dmaw_warn("loading BPF tracing programs is not permitted: this process lacks %s "
			  "(run as root, or grant CAP_BPF and CAP_PERFMON)",
			  missing);
	else if (err == EPERM)
		dmaw_warn("this kernel refuses BPF tracing programs even to root: check kernel "
			  "lockdown (integrity/confidentiality) and seccomp of this container");
	else
		dmaw_warn("cannot load a BPF tracing program: %s", strerror(err));
	return -err;
}

void explain_btf_unreadable(int err)
{
	if (access("/sys/kernel/btf/vmlinux", F_OK))
		dmaw_warn("cannot read kernel BTF (%s): dmawatch needs a kernel built with "
			  "CONFIG_DEBUG_INFO_BTF (/sys/kernel/btf/vmlinux)",
			  strerror(-err));
	else
		dmaw_warn("/sys/kernel/btf/vmlinux is there but is not the kernel's BTF "
			  "(%s): is something mounted over it?",
			  strerror(-err));
}
