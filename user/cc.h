/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kind of guest this is: AMD SEV (-ES, -SNP), Intel TDX or neither,
 * and whether the kernel was told to bounce every DMA (swiotlb=force).
 * dmatop shows it in its header, probe prints it; diagnose weighs it.
 */
#ifndef DMAWATCH_CC_H
#define DMAWATCH_CC_H

#include <stdbool.h>

enum cc_kind { CC_NONE, CC_SEV, CC_SEV_ES, CC_SEV_SNP, CC_TDX };

/* The confidential-computing state of the machine and whether every DMA is
 * bounced, read from what the running kernel exposes, never its version. */
struct cc_state {
	enum cc_kind kind;
	const char *source;   /* what said so, e.g. "SEV status MSR" */
	bool hint;            /* only a hint: CPU flags of a guest, no proof */
	bool forced;          /* swiotlb=...force on the command line */
	bool noforce;         /* swiotlb=noforce */
	char swiotlb_arg[48]; /* the swiotlb= value, "" if none */
};

/* From the text of /proc/cpuinfo and /proc/cmdline (either may be NULL),
 * the SEV status MSR (sev_msr < 0: unreadable) and whether the kernel
 * registered the SEV-SNP guest platform device. */
void cc_parse(struct cc_state *cc, const char *cpuinfo, const char *cmdline, long long sev_msr,
	      bool snp_guest_dev);
/* Reads those sources of this machine. */
void cc_detect(struct cc_state *cc);
const char *cc_name(enum cc_kind kind);

#endif
