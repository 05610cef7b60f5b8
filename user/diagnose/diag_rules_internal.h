/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This header declares what the rules' own files share: diag_finding.c
 * builds findings, diag_remedy.c works out the sizes a remedy asks for,
 * diag_rules_log.c judges the kernel log's boot and error lines, and
 * diag_rules.c judges the rest and orders the report. Nothing outside
 * those files includes it.
 */
#ifndef DMAWATCH_DIAG_RULES_INTERNAL_H
#define DMAWATCH_DIAG_RULES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "diagnose/diagnose.h"

/* A new finding in r with its title (a spare one, never reported, when r
 * is full). */
struct diag_finding *diag_add(struct diag_report *r, const char *id, enum diag_severity sev,
			      const char *device, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* One more line of evidence (none past DIAG_MAX_EVIDENCE). */
void diag_evidence(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The finding's remedy, and its kind for scripts. */
void diag_remedy(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_remedy_class(struct diag_finding *f, const char *cls, uint64_t swiotlb);

/* Saturating arithmetic on figures from text anyone may have written. */
uint64_t diag_sat_add(uint64_t a, uint64_t b);
uint64_t diag_sat_mul(uint64_t a, uint64_t k);
/* SLOTS as people say a size ("256 KiB", "1 GiB") into buf. */
const char *diag_size_of(uint64_t slots, char *buf, size_t len);
#define SIZE(slots) diag_size_of((slots), (char[32]){ 0 }, 32)
/* The default pool's size in slots; 0 unknown. */
uint64_t diag_pool_total(const struct diag_facts *x);
/* The smallest power of two >= v; the largest <= v (v > 0). */
uint64_t diag_pow2_up(uint64_t v);
uint64_t diag_pow2_down(uint64_t v);
/* A swiotlb= for a pool that must hold NEED slots and has TOTAL; 0: no
 * size helps. */
uint64_t diag_grown_pool(uint64_t need, uint64_t total);
/* The remedy of a pool that runs out: a larger pool where one can help,
 * else what does; ALSO ends its text. */
void diag_grow_remedy(const struct diag_facts *x, struct diag_finding *f, uint64_t need,
		      uint64_t total, const char *also);

/* The verdicts on the pool's boot lines and on the log's other lines. */
void diag_judge_boot(const struct diag_facts *x, struct diag_report *r);
void diag_judge_log(const struct diag_facts *x, struct diag_report *r);

#endif
