// SPDX-License-Identifier: GPL-2.0
/*
 * This file works out the sizes a remedy asks for: it does saturating
 * arithmetic on figures anyone may have written, says a pool's size as
 * people say it, reads the default pool's size from the facts, and finds
 * the power-of-two swiotlb= that a pool which runs out should have. It
 * also writes the remedy of such a pool.
 */
#include <inttypes.h>
#include <stdio.h>

#include "diagnose/diag_rules_internal.h"
#include "diagnose/diagnose.h"

/* Every figure comes from text anyone may have written (a bundle), so the
 * arithmetic on them saturates instead of wrapping. */
uint64_t diag_sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t diag_sat_mul(uint64_t a, uint64_t k)
{
	return k && a > UINT64_MAX / k ? UINT64_MAX : a * k;
}

/* A pool's size as people say it: slots of 2 KiB, so 128 slots is
 * "256 KiB", 512 "1 MiB", 524288 "1 GiB". */
const char *diag_size_of(uint64_t slots, char *buf, size_t len)
{
	uint64_t kib = diag_sat_mul(slots, DIAG_SLOT >> 10);

	if (kib && !(kib % (1 << 20)))
		snprintf(buf, len, "%" PRIu64 " GiB", kib >> 20);
	else if (kib >= 1024 && !(kib % 1024))
		snprintf(buf, len, "%" PRIu64 " MiB", kib >> 10);
	else if (kib >= 1024)
		snprintf(buf, len, "%.1f MiB", kib / 1024.0);
	else
		snprintf(buf, len, "%" PRIu64 " KiB", kib);
	return buf;
}

/* The default pool's size in slots: debugfs, the refusals' "total T
 * (slots)", the boot lines; 0 unknown. */
uint64_t diag_pool_total(const struct diag_facts *x)
{
	const struct diag_pool *p = &x->pool;

	return p->have_total ? p->total :
	       p->line_total ? p->line_total :
	       p->boot_slots ? p->boot_slots :
			       diag_sat_mul(p->boot_mb, (1 << 20) / DIAG_SLOT);
}

/* The smallest power of two >= v (a pool size that reads well). */
uint64_t diag_pow2_up(uint64_t v)
{
	uint64_t p = 1;

	while (p < v && p < (1ULL << 63))
		p <<= 1;
	return p;
}

/* The largest power of two <= v (v > 0). */
uint64_t diag_pow2_down(uint64_t v)
{
	uint64_t p = diag_pow2_up(v);

	return p == v ? p : p / 2;
}

/* A swiotlb= for a pool that must hold NEED slots at its worst moment and
 * has TOTAL now: half again the need, at least twice the pool, a power of
 * two (swiotlb_adjust_nareas() rounds any other size up), at most
 * DIAG_POOL_CAP. 0: no size helps (the pool is at the cap, or unknown). */
uint64_t diag_grown_pool(uint64_t need, uint64_t total)
{
	uint64_t target = diag_sat_mul(need, 3) / 2;

	if (!total)
		return 0;
	if (target < diag_sat_mul(total, 2))
		target = diag_sat_mul(total, 2);
	target = diag_pow2_up(target);
	if (target > DIAG_POOL_CAP)
		target = DIAG_POOL_CAP;
	return target > total ? target : 0;
}

/* The remedy of a pool that runs out: a larger pool where one can help,
 * else what does. */
void diag_grow_remedy(const struct diag_facts *x, struct diag_finding *f, uint64_t need,
		      uint64_t total, const char *also)
{
	uint64_t target = diag_grown_pool(need, total);

	if (target) {
		diag_remedy(f,
			    "a larger pool: swiotlb=%" PRIu64
			    " on the kernel command line (%s; now "
			    "%" PRIu64 " slots, %s)%s",
			    target, SIZE(target), total, SIZE(total), also);
		diag_remedy_class(f, "grow-pool", target);
	} else if (!total) {
		diag_remedy(
			f,
			"a larger pool: twice the slots of the current one (its size is in the "
			"boot line 'software IO TLB: mapped [mem ...] (NMB)', 512 slots a MB) as "
			"swiotlb=SLOTS%s",
			also);
		diag_remedy_class(f, "grow-pool", 0);
	} else {
		diag_remedy(
			f,
			"the pool is already %" PRIu64 " slots (%s), as large as a swiotlb= "
			"should ask: bound the DMA in flight instead (the disks' max_sectors_kb "
			"and nr_requests, the NICs' ring sizes)%s",
			total, SIZE(total),
			x->pool.total_grew || x->pool.have_transient ?
				"; the pool already grows on demand (CONFIG_SWIOTLB_DYNAMIC)" :
				", or a kernel with CONFIG_SWIOTLB_DYNAMIC (6.6 and later) so the "
				"pool grows on demand");
		diag_remedy_class(f,
				  x->pool.total_grew || x->pool.have_transient ? "limit-requests" :
										 "dynamic-pool",
				  0);
	}
}
