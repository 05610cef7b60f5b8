// SPDX-License-Identifier: GPL-2.0
/*
 * diagnose on bundles written by hand from the failure catalogue
 * (tests/unit/bundles/, one per case): each verdict fires where it should
 * and stays quiet where it must not, with the kernel's own figures as its
 * evidence; environment detection; saving and replaying a bundle.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "diagnose.h"

struct run {
	struct diag_facts facts;
	struct diag_report report;
};

/* Collects and judges tests/unit/bundles/NAME. */
static struct run *judge(const char *name)
{
	static struct run r;
	char dir[PATH_MAX];
	struct bundle b;
	char *window;

	/* __FILE__ is tests/unit/test_diagnose.c, relative to the tree. */
	snprintf(dir, sizeof(dir), "%.*s/bundles/%s",
		 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__, name);
	memset(&r, 0, sizeof(r));
	assert_int_equal(bundle_open(&b, dir, NULL), 0);
	diag_collect(&b, &r.facts);
	window = bundle_get(&b, "window", 1 << 20);
	if (window)
		diag_parse_window(&r.facts, window);
	free(window);
	diag_judge(&r.facts, &r.report);
	bundle_close(&b, false);
	return &r;
}

static const struct diag_finding *finding(const struct run *r, const char *id)
{
	for (int i = 0; i < r->report.n; i++)
		if (!strcmp(r->report.f[i].id, id))
			return &r->report.f[i];
	return NULL;
}

/* Some evidence line of f contains text. */
static bool cites(const struct diag_finding *f, const char *text)
{
	for (int i = 0; f && i < f->nevidence; i++)
		if (strstr(f->evidence[i], text))
			return true;
	return false;
}

static void test_healthy(void **state)
{
	struct run *r = judge("healthy");
	const struct diag_finding *f = finding(r, "healthy");
	struct diag_dev *d;

	(void)state;
	assert_int_equal(r->report.n, 1);
	assert_non_null(f);
	assert_true(cites(f, "pool: 32768 slots (64 MiB)"));
	assert_true(cites(f, "high-water: 516 slots"));
	assert_true(cites(f, "/dev/vda max_sectors_kb 1280 = 640 slots of 32768"));
	assert_true(cites(f, "live: 3.0 s, pool use 12-14 slots"));
	/* The disk is found through sysfs; its DMA device is the transport. */
	d = diag_dev(&r->facts, "0000:00:01.0");
	assert_string_equal(d->driver, "virtio-pci");
	assert_string_equal(d->bus, "pci");
	assert_string_equal(d->virtio, "virtio1");
	assert_string_equal(d->virtio_driver, "virtio_blk");
	assert_string_equal(d->disk, "vda");
	assert_int_equal(d->access_platform, 1);
	assert_int_equal(d->max_segment_size, 262144);
	assert_int_equal(r->facts.ndevs, 2);
	assert_int_equal(d->iommu_group, 3);
	assert_int_equal(d->nreserved, 1);
	assert_string_equal(d->reserved_regions[0], "0x00000000fee00000 0x00000000feefffff msi");
	assert_int_equal(r->facts.pool.nrestricted, 1);
	assert_non_null(strstr(r->facts.pool.restricted[0], "size 32 MiB"));
	assert_int_equal(r->facts.pool.areas, 2);
	assert_int_equal(r->facts.pool.boot_mb, 64);
}

static void test_pool_exhausted(void **state)
{
	struct run *r = judge("pool-exhausted");
	const struct diag_finding *f = finding(r, "pool-exhausted");

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->severity, DIAG_ERROR);
	assert_ptr_equal(f, &r->report.f[0]);
	assert_true(cites(f, "total 32768 (slots), used 32740 (slots)"));
	assert_true(cites(f, "io_tlb_used = 32760 of io_tlb_nslabs = 32768 now"));
	/* 1.5 x (32740 + 32 slots needed) < 2 x 32768: twice the pool. */
	assert_non_null(strstr(f->remedy, "swiotlb=65536 "));
	assert_null(finding(r, "over-limit"));
	assert_null(finding(r, "never-fits"));
	assert_null(finding(r, "healthy"));
	assert_int_equal(r->facts.devs[0].io_errors, 1);
}

/* Refusals that cleared: the warning, never the error or the hang. */
static void test_pool_transient(void **state)
{
	struct run *r = judge("pool-transient");
	const struct diag_finding *f = finding(r, "pool-exhausted");

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->severity, DIAG_WARNING);
	assert_true(cites(f, "io_tlb_used = 24 of io_tlb_nslabs = 4096 now"));
	assert_true(cites(f, "io_tlb_used_hiwater = 4090"));
	assert_non_null(strstr(f->remedy, "swiotlb=8192 "));
	assert_null(finding(r, "never-fits"));
	assert_null(finding(r, "fragmented"));
	assert_null(finding(r, "mapping-leak"));
}

/* 2 MiB mappings while the pool is busy: over the limit, not exhausted. */
static void test_over_limit_busy(void **state)
{
	struct run *r = judge("over-limit-busy");
	const struct diag_finding *f = finding(r, "over-limit");

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->severity, DIAG_ERROR);
	assert_string_equal(f->device, "0000:01:00.0");
	assert_non_null(strstr(f->title, "2097152 bytes"));
	assert_non_null(strstr(f->title, "a bigger pool cannot help"));
	assert_non_null(strstr(f->remedy, "nvidia"));
	assert_null(finding(r, "pool-exhausted"));
	assert_null(finding(r, "fragmented"));
	assert_true(cites(finding(r, "dma-errors-logged"), "Failed to create a DMA mapping"));
}

/* The lab's swiotlb=512 with 1280 KiB requests: the hang, with the
 * max_sectors_kb that fits; not "pool exhausted". */
static void test_never_fits(void **state)
{
	struct run *r = judge("never-fits");
	const struct diag_finding *f = finding(r, "never-fits");

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->severity, DIAG_ERROR);
	assert_ptr_equal(f, &r->report.f[0]);
	assert_true(cites(f, "max_sectors_kb = 1280 (a request of up to 642 slots"));
	assert_true(cites(f, "the pool has 512 slots (1 MiB)"));
	assert_true(cites(f, "1 requests in flight now"));
	assert_true(cites(f, "live: 431 submissions of 1 requests failed: 1048593 bytes need more "
			     "slots than the pool has (last by kworker/1:1H)"));
	assert_non_null(strstr(f->remedy, "echo 256 > /sys/block/vda/queue/max_sectors_kb"));
	assert_null(finding(r, "pool-exhausted"));
	assert_true(cites(finding(r, "tasks-blocked"), "pid 201 (labio) waits in io_schedule"));
}

static void test_fragmented(void **state)
{
	struct run *r = judge("fragmented");
	const struct diag_finding *f = finding(r, "fragmented");

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->severity, DIAG_WARNING);
	assert_string_equal(f->device, "dmawatch-lab");
	assert_true(cites(f, "needed 128 slots, 8192 of 32768 free"));
	assert_true(cites(f, "at worst 0 free 128-slot runs, longest free run 127 slots"));
	assert_null(finding(r, "pool-exhausted"));
	assert_null(finding(r, "over-limit"));
}

static void test_bypass_snp(void **state)
{
	struct run *r = judge("bypass-snp");
	const struct diag_finding *f = finding(r, "dma-api-bypass");

	(void)state;
	assert_string_equal(r->facts.env.cc, "SEV-SNP");
	assert_true(r->facts.env.cc_active);
	assert_non_null(f);
	assert_int_equal(f->severity, DIAG_ERROR);
	assert_string_equal(f->device, "0000:00:03.0");
	assert_true(cites(f, "virtio0/features: bit 33"));
	f = finding(r, "virtio-no-access-platform");
	assert_non_null(f);
	assert_true(cites(f, "virtio_net virtio2: device must provide VIRTIO_F_ACCESS_PLATFORM"));
	/* The device with the feature is not named. */
	for (int i = 0; i < r->report.n; i++)
		assert_string_not_equal(r->report.f[i].device, "0000:00:01.0");
}

/* The pool only climbs and one device maps without unmapping: a leak. */
static void test_leak(void **state)
{
	struct run *r = judge("leak");
	const struct diag_finding *f = finding(r, "mapping-leak");

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->severity, DIAG_WARNING);
	assert_string_equal(f->device, "dmawatch-lab");
	assert_true(cites(f, "pool use 12 -> 32 slots over 3.0 s, never falling (7 samples)"));
	assert_true(cites(f, "dmawatch-lab mapped 10 times and unmapped 0"));
	/* The same climb with every mapping returned is traffic, not a leak. */
	r = judge("rising-no-leak");
	assert_null(finding(r, "mapping-leak"));
	assert_non_null(finding(r, "healthy"));
}

static void test_implausible(void **state)
{
	struct run *r = judge("implausible");
	const struct diag_finding *f = finding(r, "implausible-debugfs");

	(void)state;
	assert_non_null(f);
	assert_true(cites(f, "io_tlb_used = 18446744073709551615"));
	/* A broken counter is no evidence of a full pool. */
	assert_null(finding(r, "pool-exhausted"));
}

static void test_environments(void **state)
{
	static const struct {
		const char *bundle, *cc;
	} cases[] = {
		{ "env-sev", "SEV" },
		{ "env-snp", "SEV-SNP" },
		{ "env-tdx", "TDX" },
		/* Azure's paravisor prints only "AMD SEV"; vTom and no
		 * /dev/sev-guest say what it is. */
		{ "env-paravisor", "SEV-SNP (paravisor, vTOM)" },
		/* Only the bounce-buffer line left in a rotated log. */
		{ "env-encrypted", "memory encryption (kind unknown)" },
		{ "healthy", "none" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run *r = judge(cases[i].bundle);

		assert_string_equal(r->facts.env.cc, cases[i].cc);
		assert_int_equal(r->facts.env.cc_active, strcmp(cases[i].cc, "none") != 0);
		/* The boot line's 64MB stands in for the missing debugfs. */
		assert_true(cites(finding(r, "healthy"), "pool: 32768 slots (64 MiB)"));
	}
}

static void test_roundup(void **state)
{
	struct run *r = judge("roundup");
	const struct diag_finding *f = finding(r, "pool-rounded-up");

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->severity, DIAG_INFO);
	assert_true(cites(f, "roundup to 130MB"));
	assert_non_null(strstr(f->remedy, "fewer than the 64 areas"));
	assert_non_null(finding(r, "healthy"));
}

static void test_unknown(void **state)
{
	struct run *r = judge("empty");

	(void)state;
	assert_true(diag_unknown(&r->facts));
	assert_int_equal(r->report.n, 0);
}

/* The log's wording, from 6.1 to 7.x, and lines that must not match. */
static void test_parse_log(void **state)
{
	static struct diag_facts x;

	(void)state;
	memset(&x, 0, sizeof(x));
	diag_parse_log(&x,
		       "<4>[    3.8] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 262144 bytes), "
		       "total 512 (slots), used 385 (slots)\n"
		       "platform dmawatch-lab: swiotlb buffer is full (sz: 524288 bytes), total 32768 "
		       "(slots), used 0 (slots)\n"
		       "a line that mentions swiotlb buffer is full but has no device\n"
		       "[    0.5] software IO TLB: mapped [mem 0x1-0x2] (1MB)\n"
		       "[    0.5] software IO TLB: area num 4.\n");
	assert_int_equal(x.ndevs, 2);
	assert_string_equal(x.devs[0].name, "0000:00:01.0");
	assert_string_equal(x.devs[0].driver, "virtio-pci");
	assert_int_equal(x.devs[0].full[FULL_NO_ROOM].lines, 1);
	assert_int_equal(x.devs[0].full[FULL_NO_ROOM].max.used, 385);
	assert_string_equal(x.devs[1].name, "dmawatch-lab");
	assert_int_equal(x.devs[1].full[FULL_OVER_LIMIT].lines, 1);
	assert_int_equal(x.pool.boot_mb, 1);
	assert_int_equal(x.pool.areas, 4);
	assert_false(x.pool.boot_shortfall);

	/* The boot sizing lines: a shortfall keeps its line, a round-up the
	 * last of its lines. */
	diag_parse_log(&x, "[    0.4] software IO TLB: SWIOTLB bounce buffer size roundup to 130MB\n"
			   "[    0.4] software IO TLB: only able to allocate 32 MB\n"
			   "[    0.5] SWIOTLB bounce buffer size adjusted to 132MB\n");
	assert_true(x.pool.boot_shortfall);
	assert_int_equal(x.pool.nshortfall_lines, 1);
	assert_string_equal(x.pool.shortfall_lines[0], "software IO TLB: only able to allocate 32 MB");
	assert_true(x.pool.roundup);
	assert_string_equal(x.pool.roundup_line, "SWIOTLB bounce buffer size adjusted to 132MB");
}

/* What --save-bundle writes replays as what was read. */
static void test_save_replay(void **state)
{
	char dir[] = "/tmp/dmawatch-test-XXXXXX", save[PATH_MAX], cmd[PATH_MAX + 16];
	struct bundle b;
	char *a, *c, **names;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(save, sizeof(save), "%s/b", dir);
	assert_int_equal(bundle_open(&b, NULL, save), 0);
	a = bundle_read(&b, "/proc/self/cmdline", 4096, false);
	assert_non_null(a);
	assert_null(bundle_read(&b, "/proc/no-such-file", 64, false));
	bundle_unreadable(&b, "/proc/no-such-file", "No such file or directory");
	bundle_put(&b, "dmesg", "line one\n");
	assert_int_not_equal(access(save, F_OK), 0); /* not under its name yet */
	assert_int_equal(bundle_close(&b, true), 0);

	assert_int_equal(bundle_open(&b, save, NULL), 0);
	c = bundle_read(&b, "/proc/self/cmdline", 4096, false);
	assert_non_null(c);
	assert_string_equal(a, c);
	free(c);
	c = bundle_get(&b, "dmesg", 64);
	assert_string_equal(c, "line one\n");
	free(c);
	names = bundle_list(&b, "/proc/self");
	assert_non_null(names);
	assert_string_equal(names[0], "cmdline");
	bundle_free_list(names);
	bundle_close(&b, false);
	/* A saved bundle is never written over. */
	assert_int_equal(bundle_open(&b, NULL, save), -1);
	free(a);
	snprintf(cmd, sizeof(cmd), "rm -r '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A bundle comes from anyone: its links do not lead out of it. */
static void test_replay_stays_inside(void **state)
{
	char dir[] = "/tmp/dmawatch-test-XXXXXX", path[PATH_MAX], cmd[PATH_MAX + 16];
	struct bundle b;
	char target[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cd '%s' && echo 'dmawatch-bundle 1' > format && "
		 "mkdir -p fs/proc fs/sys && ln -s /etc/passwd fs/proc/cmdline && "
		 "ln -s ../../../../../../../etc/passwd fs/proc/cpuinfo && "
		 "ln -s ../../bus/pci fs/sys/link", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(bundle_open(&b, dir, NULL), 0);
	assert_null(bundle_read(&b, "/proc/cmdline", 4096, false));
	assert_int_equal(errno, ENOENT);
	assert_null(bundle_read(&b, "/proc/cpuinfo", 4096, false));
	assert_null(bundle_read(&b, "/../../../../etc/passwd", 4096, false));
	assert_false(bundle_exists(&b, "/../format"));
	/* A link is read as a link, never followed. */
	assert_true(bundle_readlink(&b, "/sys/link", target, sizeof(target)));
	assert_string_equal(target, "../../bus/pci");
	bundle_close(&b, false);
	snprintf(path, sizeof(path), "rm -r '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* A bundle that could not be written whole is not left behind. */
static void test_save_failure_leaves_nothing(void **state)
{
	char dir[] = "/tmp/dmawatch-test-XXXXXX", save[PATH_MAX];
	struct bundle b;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(save, sizeof(save), "%s/b", dir);
	assert_int_equal(bundle_open(&b, NULL, save), 0);
	bundle_keep(&b, "/x", "a file\n");
	bundle_keep(&b, "/x/y", "under a file: cannot be written\n");
	assert_int_equal(bundle_close(&b, true), -1);
	assert_int_equal(access(save, F_OK), -1);
	assert_int_equal(rmdir(dir), 0); /* empty: no partial bundle either */
}

int main(void)
{
	const struct CMUnitTest diagnose[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_pool_exhausted),
		cmocka_unit_test(test_pool_transient),
		cmocka_unit_test(test_over_limit_busy),
		cmocka_unit_test(test_never_fits),
		cmocka_unit_test(test_fragmented),
		cmocka_unit_test(test_bypass_snp),
		cmocka_unit_test(test_leak),
		cmocka_unit_test(test_implausible),
		cmocka_unit_test(test_environments),
		cmocka_unit_test(test_roundup),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_parse_log),
		cmocka_unit_test(test_save_replay),
		cmocka_unit_test(test_replay_stays_inside),
		cmocka_unit_test(test_save_failure_leaves_nothing),
	};

	return cmocka_run_group_tests(diagnose, NULL, NULL);
}
