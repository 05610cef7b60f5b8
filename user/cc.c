// SPDX-License-Identifier: GPL-2.0
/* Confidential-computing detection: see cc.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "cc.h"

const char *cc_name(enum cc_kind kind)
{
	switch (kind) {
	case CC_SEV: return "SEV";
	case CC_SEV_ES: return "SEV-ES";
	case CC_SEV_SNP: return "SEV-SNP";
	case CC_TDX: return "TDX";
	default: return "none";
	}
}

/* Is word one of the space-separated words of the first "flags" line? */
static bool cpu_flag(const char *cpuinfo, const char *word)
{
	const char *line = cpuinfo, *end, *p;
	size_t len = strlen(word);

	while (line && strncmp(line, "flags", 5)) {
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	if (!line || !(p = strchr(line, ':')))
		return false;
	end = strchrnul(line, '\n');
	while (p < end) {
		const char *w;

		while (p < end && (*p == ' ' || *p == ':' || *p == '\t'))
			p++;
		w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if ((size_t)(p - w) == len && !strncmp(w, word, len))
			return true;
	}
	return false;
}

void cc_parse(struct cc_state *cc, const char *cpuinfo, const char *cmdline, long long sev_msr,
	      bool snp_guest_dev)
{
	memset(cc, 0, sizeof(*cc));
	cc->source = "no confidential-computing flag";
	/* Every source is a statement of the running kernel or CPU, so a
	 * kernel that adds the feature later is recognised without a table of
	 * versions. TDX guests have had the tdx_guest flag from the start. */
	if (cpuinfo && cpu_flag(cpuinfo, "tdx_guest")) {
		cc->kind = CC_TDX;
		cc->source = "cpuinfo tdx_guest";
	} else if (cpuinfo &&
		   (cpu_flag(cpuinfo, "sev_snp_guest") || cpu_flag(cpuinfo, "sev_es_guest") ||
		    cpu_flag(cpuinfo, "sev_guest"))) {
		/* Kernels that export SEV guest flags of their own. */
		cc->kind = cpu_flag(cpuinfo, "sev_snp_guest") ? CC_SEV_SNP :
			   cpu_flag(cpuinfo, "sev_es_guest")  ? CC_SEV_ES :
								CC_SEV;
		cc->source = "cpuinfo sev guest flags";
	} else if (sev_msr >= 0) {
		/* MSR_AMD64_SEV (0xc0010131): bits 0, 1, 2 = SEV, SEV-ES,
		 * SEV-SNP active. Never intercepted: the kernel reads it in
		 * sme_enable() before it can take a #VC. */
		cc->kind = sev_msr & 4 ? CC_SEV_SNP :
			   sev_msr & 2 ? CC_SEV_ES :
			   sev_msr & 1 ? CC_SEV :
					 CC_NONE;
		cc->source = "SEV status MSR";
	} else if (snp_guest_dev) {
		/* The kernel registers this platform device only in SNP guests
		 * (snp_init_platform_device()). */
		cc->kind = CC_SEV_SNP;
		cc->source = "sev-guest platform device";
	} else if (cpuinfo && cpu_flag(cpuinfo, "hypervisor") &&
		   (cpu_flag(cpuinfo, "sev") || cpu_flag(cpuinfo, "sev_es") ||
		    cpu_flag(cpuinfo, "sev_snp"))) {
		/* A guest that sees the host's SEV CPUID bits: likely, not sure
		 * (load the msr module for the MSR's answer). */
		cc->kind = cpu_flag(cpuinfo, "sev_snp") ? CC_SEV_SNP :
			   cpu_flag(cpuinfo, "sev_es")  ? CC_SEV_ES :
							  CC_SEV;
		cc->source = "cpuinfo sev flags in a guest";
		cc->hint = true;
	}
	for (const char *p = cmdline; p && (p = strstr(p, "swiotlb=")); p++) {
		size_t n;

		/* A word of its own, not e.g. "xen_swiotlb=". */
		if (p != cmdline && p[-1] != ' ')
			continue;
		n = strcspn(p + 8, " \n");
		snprintf(cc->swiotlb_arg, sizeof(cc->swiotlb_arg), "%.*s", (int)n, p + 8);
		cc->noforce = strstr(cc->swiotlb_arg, "noforce") != NULL;
		cc->forced = !cc->noforce && strstr(cc->swiotlb_arg, "force") != NULL;
	}
}

static char *read_text(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	n = buf ? fread(buf, 1, max, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

void cc_detect(struct cc_state *cc)
{
	/* The first CPU's block is enough: flags and vendor repeat. */
	char *cpuinfo = read_text("/proc/cpuinfo", 16384);
	char *cmdline = read_text("/proc/cmdline", 4096);
	long long msr = -1;

	/* Only where the msr driver is already loaded: dmatop loads nothing. */
	if (cpuinfo && strstr(cpuinfo, "AuthenticAMD")) {
		int fd = open("/dev/cpu/0/msr", O_RDONLY | O_CLOEXEC);
		__u64 v;

		if (fd >= 0 && pread(fd, &v, sizeof(v), 0xc0010131) == sizeof(v))
			msr = v & 7;
		if (fd >= 0)
			close(fd);
	}
	cc_parse(cc, cpuinfo, cmdline, msr, access("/sys/devices/platform/sev-guest", F_OK) == 0);
	free(cpuinfo);
	free(cmdline);
}
