// SPDX-License-Identifier: GPL-2.0
/*
 * diagnose on bundles written by hand from the failure catalogue
 * (tests/fixtures/bundles/, one per case): each verdict fires where it should
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

#include "diagnose/diagnose.h"

struct run {
	struct diag_facts facts;
	struct diag_report report;
};

/* Collects and judges tests/fixtures/bundles/NAME, with more of a live
 * window (NULL: none) after the bundle's own. */
static struct run *judge_more(const char *name, const char *more_window)
{
	static struct run r;
	char dir[PATH_MAX];
	struct bundle b;
	char *window;

	/* __FILE__ is tests/unit/test_diagnose.c, relative to the tree. */
	snprintf(dir, sizeof(dir), "%.*s/../fixtures/bundles/%s",
		 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__, name);
	memset(&r, 0, sizeof(r));
	assert_int_equal(bundle_open(&b, dir, NULL), 0);
	/* As diagnose does: the tasks, the window, then the files and the log. */
	diag_collect_tasks(&b, &r.facts);
	window = bundle_get(&b, "window", 1 << 20);
	if (window)
		diag_parse_window(&r.facts, window);
	free(window);
	if (more_window)
		diag_parse_window(&r.facts, more_window);
	diag_collect(&b, &r.facts);
	diag_judge(&r.facts, &r.report);
	bundle_close(&b, false);
	return &r;
}

static struct run *judge(const char *name)
{
	return judge_more(name, NULL);
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

/* The same disk where the pool grows (CONFIG_SWIOTLB_DYNAMIC): a request
 * larger than the pool gets a transient pool, so no hang is predicted; and
 * where the live window reads that it cannot grow now, the hang again. */
static void test_never_fits_grows(void **state)
{
	struct run *r = judge_more("never-fits", "pool-grows 1 slots=512 transient=0\n");

	(void)state;
	assert_true(r->facts.pool.grows);
	assert_null(finding(r, "never-fits"));
	r = judge_more("never-fits", "pool-grows 0 slots=512 transient=0\n");
	assert_false(r->facts.pool.grows);
	assert_non_null(finding(r, "never-fits"));
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
	/* swiotlb_adjust_nareas() rounds to a power of two whatever the
	 * areas: the remedy is a power-of-two swiotlb=, not fewer areas. */
	assert_true(cites(f, "becomes a power of two"));
	assert_non_null(strstr(f->remedy, "a power of two in slots"));
	assert_null(strstr(f->remedy, "areas"));
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
	diag_parse_log(
		&x,
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

	/* The boot sizing lines: a shortfall keeps its line, a round-up its
	 * line; "adjusted to" is the confidential guest's sizing, neither. */
	diag_parse_log(&x,
		       "[    0.4] software IO TLB: SWIOTLB bounce buffer size roundup to 130MB\n"
		       "[    0.4] software IO TLB: only able to allocate 32 MB\n"
		       "[    0.5] SWIOTLB bounce buffer size adjusted to 132MB\n");
	assert_true(x.pool.boot_shortfall);
	assert_int_equal(x.pool.nshortfall_lines, 1);
	assert_string_equal(x.pool.shortfall_lines[0],
			    "software IO TLB: only able to allocate 32 MB");
	assert_true(x.pool.roundup);
	assert_string_equal(x.pool.roundup_line,
			    "software IO TLB: SWIOTLB bounce buffer size roundup to 130MB");
	/* The line with the words but no size is quoted as unrecognised. */
	assert_int_equal(x.log.unknown, 1);
	assert_string_equal(x.log.unknown_line[0],
			    "a line that mentions swiotlb buffer is full but has no device");
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
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && echo 'dmawatch-bundle 1' > format && "
		 "mkdir -p fs/proc fs/sys && ln -s /etc/passwd fs/proc/cmdline && "
		 "ln -s ../../../../../../../etc/passwd fs/proc/cpuinfo && "
		 "ln -s ../../bus/pci fs/sys/link",
		 dir);
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

/* ---- real reports' classes of failure, each as its lines were posted ---- */

static struct run *judge_text(const char *log)
{
	static struct run r;

	memset(&r, 0, sizeof(r));
	diag_parse_log(&r.facts, log);
	diag_judge(&r.facts, &r.report);
	return &r;
}

static bool healthy(const struct run *r)
{
	for (int i = 0; i < r->report.n; i++)
		if (r->report.f[i].severity > DIAG_INFO)
			return false;
	return true;
}

/* A bundle of files written here: "PATH=TEXT" pairs, PATH under the
 * bundle ("dmesg", "fs/proc/cpuinfo"); judged like judge(). */
static struct run *judge_files(char *dir, size_t len, ...)
{
	static struct run r;
	char path[PATH_MAX], cmd[PATH_MAX + 32];
	struct bundle b;
	const char *name;
	va_list ap;

	snprintf(dir, len, "/tmp/dmawatch-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	va_start(ap, len);
	for (name = "format"; name; name = va_arg(ap, const char *)) {
		const char *text = strcmp(name, "format") ? va_arg(ap, const char *) :
							    "dmawatch-bundle 1\n";
		FILE *f;

		snprintf(path, sizeof(path), "%.2000s/%.2000s", dir, name);
		snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
		assert_int_equal(system(cmd), 0);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	va_end(ap);
	memset(&r, 0, sizeof(r));
	assert_int_equal(bundle_open(&b, dir, NULL), 0);
	diag_collect_tasks(&b, &r.facts);
	diag_collect(&b, &r.facts);
	diag_judge(&r.facts, &r.report);
	bundle_close(&b, false);
	snprintf(cmd, sizeof(cmd), "rm -r '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return &r;
}

/* 1: 724 of 524288 slots free refusing 128 slots is a pool out of room
 * (free < areas x 128, and 99.86 % used), not fragmentation; a 1 GiB pool
 * is not grown past 1 GiB, and never shrunk. */
static void test_class_exhausted_not_fragmented(void **state)
{
	struct run *r = judge_text(
		"[    0.4] software IO TLB: area num 32.\n"
		"[ 9001.1] nvme 0000:01:00.0: swiotlb buffer is full (sz: 262144 bytes), total 524288 "
		"(slots), used 523564 (slots)\n");
	const struct diag_finding *f;

	(void)state;
	/* NVMe's limit is 258048: 262144 bytes are over it, whatever the pool. */
	assert_non_null(finding(r, "over-limit"));
	assert_null(finding(r, "fragmented"));
	r = judge_text(
		"[ 9001.1] virtio-pci 0000:00:04.0: swiotlb buffer is full (sz: 262144 bytes), "
		"total 524288 (slots), used 523564 (slots)\n");
	f = finding(r, "pool-exhausted");
	assert_non_null(f);
	assert_null(finding(r, "fragmented"));
	assert_true(cites(f, "523564 of 524288 slots in use (99.86%), 724 free"));
	assert_int_equal(f->swiotlb, 0); /* already 1 GiB: no swiotlb= */
	assert_string_equal(f->remedy_class, "dynamic-pool");
	assert_non_null(strstr(f->remedy, "CONFIG_SWIOTLB_DYNAMIC"));
	/* A smaller pool: grown, a power of two, in the right unit. */
	r = judge_text("virtio-pci 0000:00:04.0: swiotlb buffer is full (sz: 65536 bytes), total "
		       "32768 (slots), used 32740 (slots)\n");
	f = finding(r, "pool-exhausted");
	assert_int_equal(f->swiotlb, 65536);
	assert_non_null(strstr(f->remedy, "swiotlb=65536 on the kernel command line (128 MiB; now "
					  "32768 slots, 64 MiB)"));
	/* Plenty free in every area: that is fragmentation. */
	r = judge_text(
		"[ 0.4] software IO TLB: area num 4.\n"
		"dmawatch_lab dmawatch-lab: swiotlb buffer is full (sz: 262144 bytes), total "
		"32768 (slots), used 24576 (slots)\n");
	assert_non_null(finding(r, "fragmented"));
	assert_null(finding(r, "pool-exhausted"));
}

/* 2: the ways people paste a log; each still finds the refusal. */
static void test_class_pastes(void **state)
{
	static const char *const pastes[] = {
		/* no "DEV: " before the message */
		"[  812.5] swiotlb buffer is full (sz: 65536 bytes), total 32768 (slots), used 32740 "
		"(slots)\n",
		/* wrapped between words, then inside a number */
		"[  812.5] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes), total "
		"32768 (slots), used\n32740 (slots)\n",
		"virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes), total 32768 "
		"(slots), used 327\n40 (slots)\n",
		/* the device on the line before */
		"Mar 16 18:11:41 host kernel: [ 4851.9] virtio-pci 0000:00:01.0:\nswiotlb buffer is "
		"full (sz: 65536 bytes), total 32768 (slots), used 32740 (slots)\n",
		/* journalctl / syslog / ISO */
		"Sep 08 10:12:31 host kernel: virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: "
		"65536 bytes), total 32768 (slots), used 32740 (slots)\n",
		"2024-09-08T10:12:31.123456+00:00 cvm kernel: [ 12.3] virtio-pci 0000:00:01.0: "
		"swiotlb buffer is full (sz: 65536 bytes), total 32768 (slots), used 32740 (slots)\n",
		/* caller id, dmesg -T, dmesg -x, quoting, markdown, CRLF */
		"[  812.500000][    T0] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 "
		"bytes), total 32768 (slots), used 32740 (slots)\r\n",
		"[Tue Sep  8 10:12:31 2024] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 "
		"bytes), total 32768 (slots), used 32740 (slots)\n",
		"kern  :warn  : [  812.5] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 "
		"bytes), total 32768 (slots), used 32740 (slots)\n",
		"> > [  812.5] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes), total "
		"32768 (slots), used 32740 (slots)\n",
		"**virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes), total 32768 "
		"(slots), used 32740 (slots)**\n",
		"\"virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes), total 32768 "
		"(slots), used 32740 (slots)\"\n",
		"`[  812.5] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes), total "
		"32768 (slots), used 32740 (slots)`\n",
		/* colour, grep -n, journalctl -o short-monotonic */
		"\x1b[32m[  812.500000]\x1b[0m \x1b[33mvirtio-pci 0000:00:01.0: \x1b[0mswiotlb buffer is "
		"full (sz: 65536 bytes), total 32768 (slots), used 32740 (slots)\n",
		"4242:[  812.5] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes), "
		"total 32768 (slots), used 32740 (slots)\n",
		"[  812.5] cvm-node-3 kernel: virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: "
		"65536 bytes), total 32768 (slots), used 32740 (slots)\n",
		/* older kernels: no totals; the SW-IOMMU variant */
		"[  812.5] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes)\n",
		"DMA: Out of SW-IOMMU space for 65536 bytes at device 0000:00:01.0\n",
		"DMA: Out of SW-IOMMU space\nfor 65536 bytes at device 0000:00:01.0\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(pastes) / sizeof(pastes[0]); i++) {
		struct run *r = judge_text(pastes[i]);
		const struct diag_finding *f = finding(r, "pool-exhausted");

		if (!f)
			fail_msg("paste %zu: no pool-exhausted", i);
		assert_false(healthy(r));
		/* Named as the kernel named it where the paste kept it. */
		if (i > 0)
			assert_string_equal(r->facts.devs[0].name, "0000:00:01.0");
		if (i > 0 && i < 16)
			assert_int_equal(r->facts.devs[0].full[FULL_NO_ROOM].max.used, 32740);
	}
	/* A NUL byte earlier in the log stops nothing. */
	{
		static const char log[] = "[ 1.0] boot\0garbage\n[ 812.5] virtio-pci 0000:00:01.0: "
					  "swiotlb buffer is full (sz: 65536 bytes), total 32768 "
					  "(slots), used 32740 (slots)\n";
		FILE *f = fmemopen((void *)log, sizeof(log) - 1, "r");
		static struct run r;

		memset(&r, 0, sizeof(r));
		diag_parse_log_file(&r.facts, f);
		fclose(f);
		diag_judge(&r.facts, &r.report);
		assert_non_null(finding(&r, "pool-exhausted"));
		assert_int_equal(r.facts.log.lines, 2);
	}
	/* A line with a SWIOTLB word nothing understands is quoted, never
	 * "healthy". */
	{
		struct run *r = judge_text("[ 3.0] software IO TLB: something new in 8.0\n");

		assert_false(healthy(r));
		assert_true(cites(finding(r, "unrecognised-dma-line"),
				  "software IO TLB: something new in 8.0"));
	}
}

/* 2: a log far over the old 8 MiB cut keeps its newest lines (streamed). */
static void test_class_big_log(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], cmd[2 * PATH_MAX];
	struct run *r;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dmawatch-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dmesg", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 200000; i++) /* 12 MiB */
		fprintf(f, "[%6d.000000] usb 1-1: some unrelated driver chatter, line %d\n", i, i);
	fprintf(f, "[999999.0] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes), "
		   "total 32768 (slots), used 32740 (slots)\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/format", dir);
	f = fopen(path, "w");
	fputs("dmawatch-bundle 1\n", f);
	fclose(f);
	{
		static struct run rr;
		struct bundle b;

		memset(&rr, 0, sizeof(rr));
		assert_int_equal(bundle_open(&b, dir, NULL), 0);
		diag_collect(&b, &rr.facts);
		diag_judge(&rr.facts, &rr.report);
		bundle_close(&b, false);
		r = &rr;
	}
	assert_non_null(finding(r, "pool-exhausted"));
	assert_int_equal(r->facts.log.lines, 200001);
	snprintf(cmd, sizeof(cmd), "rm -r '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* 3: the kind is "unknown" when nothing says; each guest's own lines say. */
static void test_class_cc_kind(void **state)
{
	char dir[PATH_MAX];
	struct run *r;

	(void)state;
	r = judge_files(dir, sizeof(dir), "dmesg", "[ 1.0] virtio_blk virtio1: [vda] 2 GiB\n",
			NULL);
	assert_string_equal(r->facts.env.cc, "unknown");
	r = judge_files(dir, sizeof(dir), "dmesg", "[ 0.2] SEV: Status: vTom\n", NULL);
	assert_string_equal(r->facts.env.cc, "SEV-SNP (paravisor, vTOM)");
	r = judge_files(dir, sizeof(dir), "dmesg", "[ 0.2] SEV: Status: SEV SEV-ES SEV-SNP\n",
			NULL);
	assert_string_equal(r->facts.env.cc, "SEV-SNP");
	r = judge_files(dir, sizeof(dir), "dmesg", "[ 0.3] process: using TDX aware idle routine\n",
			NULL);
	assert_string_equal(r->facts.env.cc, "TDX");
	assert_true(r->facts.env.cc_active);
	/* A host's lines are not a guest's. */
	r = judge_files(dir, sizeof(dir), "dmesg",
			"[ 5.0] kvm_amd: SEV-SNP enabled (ASIDs 1 - 99)\n"
			"[ 5.1] virt/tdx: module initialized\n",
			NULL);
	assert_string_equal(r->facts.env.cc, "unknown");
	r = judge_files(dir, sizeof(dir), "dmesg", "x\n", "fs/proc/cpuinfo",
			"flags\t\t: fpu vme de pse hypervisor\n", NULL);
	assert_string_equal(r->facts.env.cc, "none");
	r = judge_files(dir, sizeof(dir), "dmesg",
			"[ 0.0] Linux version 6.1.0\n"
			"[ 0.0] Command line: console=ttyS0\n",
			NULL);
	assert_string_equal(r->facts.env.cc, "none");
}

/* 4: lines known but once left unclassified. */
static void test_class_known_lines(void **state)
{
	struct run *r;

	(void)state;
	r = judge_text("[ 2.1] virtio_net virtio0: device must provide VIRTIO_F_ACCESS_PLATFORM\n"
		       "[ 2.1] virtio_net: probe of virtio0 failed with error -22\n");
	assert_true(cites(finding(r, "virtio-no-access-platform"),
			  "virtio_net virtio0: device must provide VIRTIO_F_ACCESS_PLATFORM"));
	assert_null(finding(r, "dma-errors-logged"));
	r = judge_text("[ 30.1] ------------[ cut here ]------------\n"
		       "[ 30.1] WARNING: CPU: 1 PID: 300 at kernel/dma/direct.c:151 "
		       "dma_direct_alloc+0x2b1/0x2c0\n"
		       "[ 30.1] Call Trace:\n"
		       "[ 30.1]  <TASK>\n"
		       "[ 30.1]  nvme_alloc_queue+0x82/0x1a0 [nvme]\n"
		       "[ 30.1] ---[ end trace 0000000000000000 ]---\n"
		       "[ 150.2] INFO: task kworker/u8:1:92 blocked for more than 120 seconds.\n");
	assert_true(cites(finding(r, "dma-core-warning"), "at kernel/dma/direct.c:151"));
	assert_false(healthy(r));
	/* The atomic pool, not the SWIOTLB pool: coherent_pool=, never swiotlb=. */
	r = judge_text("[ 0.3] DMA: preallocated 1024 KiB GFP_KERNEL|GFP_DMA32 pool for atomic "
		       "allocations\n"
		       "[ 40.2] DMA pool exhausted for 0000:00:04.0\n");
	assert_non_null(finding(r, "atomic-pool-exhausted"));
	assert_non_null(strstr(finding(r, "atomic-pool-exhausted")->remedy, "coherent_pool=4096K"));
	assert_null(finding(r, "pool-exhausted"));
	/* No pool at all: too large to fit at boot, so half of it. */
	r = judge_text(
		"[ 0.004] software IO TLB: SWIOTLB bounce buffer size adjusted to 965MB\n"
		"[ 1.015] Kernel panic - not syncing: Can not allocate SWIOTLB buffer earlier "
		"and can't now provide you with the DMA bounce buffer\n");
	assert_non_null(finding(r, "swiotlb-late"));
	assert_string_equal(finding(r, "swiotlb-late")->remedy_class, "shrink-pool");
	assert_int_equal(finding(r, "swiotlb-late")->swiotlb, 131072);
	assert_null(finding(r, "pool-rounded-up"));
	/* A BUG elsewhere is shown, not judged a SWIOTLB problem. */
	r = judge_text("[ 9.0] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
		       "[ 9.0] Call Trace:\n[ 9.0]  ext4_fill_super+0x10/0x20\n");
	assert_non_null(finding(r, "kernel-oops"));
	assert_null(finding(r, "dma-core-warning"));
	assert_true(healthy(r));
}

/* An address the device cannot reach, in each form the kernel has printed:
 * from SWIOTLB (the bounce slot is out of reach) or where no pool was
 * there to bounce (dma-direct now and in 4.x, x86's nommu ops). */
static void test_class_address_overflow(void **state)
{
	static const char *const no_pool[] = {
		"Oct 2 14:33:06 host kernel: [ 223.287447] nommu_map_sg: overflow 25dcac000+1024 "
		"of device mask ffffffff\n",
		"[ 5.1] ehci-pci 0000:00:1d.0: DMA addr 0x0000000125dcac00+1024 overflow (mask "
		"ffffffff, bus limit 0).\n",
		"[ 5.1] dma_direct_map_page: overflow 0x0000000125dcac00+1024 of device mask "
		"ffffffff bus mask 0\n",
	};
	struct run *r;
	const struct diag_finding *f;

	(void)state;
	for (size_t i = 0; i < sizeof(no_pool) / sizeof(no_pool[0]); i++) {
		r = judge_text(no_pool[i]);
		f = finding(r, "address-overflow");
		assert_non_null(f);
		assert_false(healthy(r));
		assert_non_null(strstr(f->title, "no SWIOTLB pool"));
		assert_non_null(strstr(f->remedy, "CONFIG_SWIOTLB"));
	}
}

/* A refusal that names no device or driver reads as such, and one from a
 * full pool says that the size it asks for is a floor. */
static void test_class_unnamed_and_full(void **state)
{
	struct run *r = judge_text("swiotlb buffer is full (sz: 524288 bytes), total 32768 "
				   "(slots), used 4 (slots)\n");
	const struct diag_finding *f = finding(r, "over-limit");

	(void)state;
	assert_non_null(f);
	assert_null(strstr(f->title, "()"));
	assert_null(strstr(f->remedy, "driver  "));
	assert_non_null(strstr(f->remedy, "its driver must split"));
	r = judge_text("stmmaceth 0000:00:1d.2: swiotlb buffer is full (sz: 8192 bytes), total "
		       "32768 (slots), used 32764 (slots)\n");
	f = finding(r, "pool-exhausted");
	assert_non_null(f);
	assert_non_null(strstr(f->remedy, "swiotlb=65536 "));
	assert_non_null(strstr(f->remedy, "at least that"));
	r = judge_text("stmmaceth 0000:00:1d.2: swiotlb buffer is full (sz: 8192 bytes), total "
		       "32768 (slots), used 30000 (slots)\n");
	f = finding(r, "pool-exhausted");
	assert_non_null(f);
	assert_null(strstr(f->remedy, "at least that"));
}

/* The disk whose request a refusal was, from the SCSI or block line right
 * after it: its max_sectors_kb is the remedy; a line further on is not. */
static void test_class_refused_disk(void **state)
{
	static const char refusal[] = "[ 443.604212] xhci_hcd 0000:01:00.0: swiotlb buffer is "
				      "full (sz: 275968 bytes), total 32768 (slots), used 2104 "
				      "(slots)\n";
	char log[1024];
	struct run *r;
	const struct diag_finding *f;

	(void)state;
	snprintf(log, sizeof(log), "%s%s", refusal,
		 "[ 443.604255] sd 0:0:0:0: [sda] tag#6 data out submit err -11 uas-tag 16\n");
	r = judge_text(log);
	f = finding(r, "over-limit");
	assert_non_null(f);
	assert_non_null(
		strstr(f ? f->remedy : "", "echo 256 > /sys/block/sda/queue/max_sectors_kb"));
	assert_string_equal(f->remedy_class, "limit-requests");
	snprintf(log, sizeof(log), "%s%s", refusal,
		 "[ 443.7] blk_update_request: I/O error, dev sdb, sector 25716 op 0x1:(WRITE)\n");
	r = judge_text(log);
	f = finding(r, "over-limit");
	assert_non_null(f);
	assert_non_null(strstr(f ? f->remedy : "", "/sys/block/sdb/queue/max_sectors_kb"));
	snprintf(log, sizeof(log), "%s%s", refusal,
		 "[ 443.7] usb 2-1: reset SuperSpeed USB device\n[ 443.8] usb 2-1: new\n"
		 "[ 443.9] sd 0:0:0:0: [sda] tag#6 data out submit err -11\n");
	r = judge_text(log);
	f = finding(r, "over-limit");
	assert_non_null(f);
	assert_null(strstr(f ? f->remedy : "", "max_sectors_kb"));
	assert_string_equal(f->remedy_class, "fix-driver");
}

/* A paste with the reporter's prompt, and boot lines a mail client wrapped:
 * the prompt is passed over, the wrapped lines joined; a DMA line nobody
 * knows stays unknown when the next line is the kernel's own. */
static void test_class_prompt_and_wrapped(void **state)
{
	struct run *r;
	const struct diag_finding *f;

	(void)state;
	r = judge_text("root@ubuntu:/home/ubuntu# dmesg | grep -i \"IO TLB\"\n"
		       "[    6.743607] software IO TLB: area num 4.\n"
		       "[   24.164169] software IO TLB: mapped [mem \n"
		       "0x0000001df9c00000-0x0000001ff9c00000] (8192MB)\n"
		       "[   24.331266] software IO TLB: Memory encryption is active and system \n"
		       "is using DMA bounce buffers\n"
		       "[me@host ~]$ sudo dmesg | grep -i swiotlb\n"
		       "$ journalctl -k | grep -i dma\n");
	assert_true(healthy(r));
	assert_int_equal(r->facts.pool.boot_mb, 8192);
	assert_int_equal(r->facts.log.unknown, 0);
	r = judge_text("[ 1.0] swiotlb: something new in 9.0\n"
		       "[ 1.1] virtio_blk virtio0: [vda] 524288 512-byte logical blocks\n");
	f = finding(r, "unrecognised-dma-line");
	assert_non_null(f);
	assert_true(cites(f, "swiotlb: something new in 9.0"));
	assert_int_equal(r->facts.log.unknown, 1);
}

/* 5: sizes in the right unit. */
static void test_class_units(void **state)
{
	char dir[PATH_MAX];
	struct run *r;

	(void)state;
	r = judge_files(dir, sizeof(dir), "dmesg", "x\n",
			"fs/sys/kernel/debug/swiotlb/io_tlb_nslabs", "128\n",
			"fs/sys/kernel/debug/swiotlb/io_tlb_used", "0\n", NULL);
	assert_true(cites(finding(r, "healthy"), "pool: 128 slots (256 KiB)"));
	r = judge_files(dir, sizeof(dir), "dmesg", "x\n",
			"fs/sys/kernel/debug/swiotlb/io_tlb_nslabs", "524288\n", NULL);
	assert_true(cites(finding(r, "healthy"), "pool: 524288 slots (1 GiB)"));
}

/* 6: NVMe's limit is 258048 (min_align_mask 4095), not 262144. */
static void test_class_device_limit(void **state)
{
	struct run *r = judge_text("[ 50.0] nvme 0000:00:04.0: swiotlb buffer is full (sz: 260096 "
				   "bytes), total 524288 (slots), used 2048 (slots)\n");
	const struct diag_finding *f = finding(r, "over-limit");

	(void)state;
	assert_non_null(f);
	assert_non_null(strstr(f ? f->title : "", "over the 258048-byte limit"));
	assert_true(cites(f, "nvme: min_align_mask 4095"));
	assert_null(finding(r, "fragmented"));
	assert_int_equal(r->facts.devs[0].limit, 258048);
	/* The live window's limit, read from the device, is the one used. */
	{
		static struct run rr;

		memset(&rr, 0, sizeof(rr));
		diag_parse_window(&rr.facts,
				  "seconds 3.0\ndevice 0000:00:06.0 maps=1 limit=258048\n");
		diag_parse_log(&rr.facts,
			       "virtio-pci 0000:00:06.0: swiotlb buffer is full (sz: "
			       "260096 bytes), total 524288 (slots), used 2048 (slots)\n");
		diag_judge(&rr.facts, &rr.report);
		assert_non_null(finding(&rr, "over-limit"));
		assert_true(
			cites(finding(&rr, "over-limit"), "min_align_mask read from the device"));
	}
	/* The same size on a device without the mask fits the limit. */
	r = judge_text("[ 50.0] virtio-pci 0000:00:05.0: swiotlb buffer is full (sz: 260096 "
		       "bytes), total 524288 (slots), used 2048 (slots)\n");
	assert_null(finding(r, "over-limit"));
}

/* 7: a high-water that is not kept is not evidence; a restricted pool's
 * remedy is its own. */
static void test_class_kernel_facts(void **state)
{
	char dir[PATH_MAX];
	const struct diag_finding *f;
	struct run *r;

	(void)state;
	r = judge_files(dir, sizeof(dir), "dmesg",
			"virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 262144 bytes), total "
			"32768 (slots), used 32700 (slots)\n",
			"fs/sys/kernel/debug/swiotlb/io_tlb_nslabs", "32768\n",
			"fs/sys/kernel/debug/swiotlb/io_tlb_used", "12\n",
			"fs/sys/kernel/debug/swiotlb/io_tlb_used_hiwater", "0\n", NULL);
	f = finding(r, "pool-exhausted");
	assert_non_null(f);
	assert_false(cites(f, "io_tlb_used_hiwater = 0"));
	assert_true(cites(f, "keeps no high-water"));
	r = judge_text(
		"[ 0.0] Reserved memory: created restricted DMA pool at 0x50000000, size 4 "
		"MiB\n"
		"[ 9.0] sdhci 2000.mmc: swiotlb buffer is full (sz: 65536 bytes), total 2048 "
		"(slots), used 2040 (slots)\n");
	f = finding(r, "pool-exhausted");
	assert_non_null(f);
	assert_string_equal(f->remedy_class, "restricted-pool");
	assert_int_equal(f->swiotlb, 0);
	assert_non_null(strstr(f->remedy, "restricted-dma-pool"));
}

/* 8: no pool asked for, none needed: not a problem. */
static void test_class_context(void **state)
{
	char dir[PATH_MAX];
	const struct diag_finding *f;
	struct run *r;

	(void)state;
	r = judge_files(dir, sizeof(dir), "dmesg",
			"[ 0.0] Linux version 6.1.0\n[ 0.0] Command line: console=ttyS0 "
			"swiotlb=noforce\n"
			"[ 0.5] PCI-DMA: Using software bounce buffering for IO (SWIOTLB)\n"
			"[ 0.5] software IO TLB: No low mem\n",
			NULL);
	f = finding(r, "pool-short-at-boot");
	assert_non_null(f);
	assert_int_equal(f->severity, DIAG_INFO);
	assert_true(r->facts.env.noforce);
	assert_non_null(finding(r, "healthy"));
	/* The same line in a confidential guest is a problem. */
	r = judge_files(dir, sizeof(dir), "dmesg",
			"[ 0.0] Memory Encryption Features active: AMD SEV SEV-ES SEV-SNP\n"
			"[ 0.5] software IO TLB: No low mem\n",
			NULL);
	assert_int_equal(finding(r, "pool-short-at-boot")->severity, DIAG_WARNING);
}

/* 9: a link leaving the bundle is listed with its reason. */
static void test_class_bundle_links(void **state)
{
	char dir[] = "/tmp/dmawatch-test-XXXXXX", cmd[PATH_MAX + 256], why[256];
	struct bundle b;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && echo 'dmawatch-bundle 1' > format && "
		 "ln -s /etc/passwd dmesg && mkdir -p fs/proc && ln -s /etc/passwd fs/proc/cmdline",
		 dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(bundle_open(&b, dir, NULL), 0);
	assert_null(bundle_get(&b, "dmesg", 4096));
	assert_null(bundle_read(&b, "/proc/cmdline", 4096, false));
	assert_int_equal(errno, ENOENT);
	assert_non_null(bundle_why(&b, "dmesg", why, sizeof(why)));
	assert_non_null(strstr(why, "a symlink in the bundle (to /etc/passwd): not followed"));
	assert_non_null(bundle_why(&b, "/proc/cmdline", why, sizeof(why)));
	bundle_close(&b, false);
	snprintf(cmd, sizeof(cmd), "rm -r '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest diagnose[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_pool_exhausted),
		cmocka_unit_test(test_pool_transient),
		cmocka_unit_test(test_over_limit_busy),
		cmocka_unit_test(test_never_fits),
		cmocka_unit_test(test_never_fits_grows),
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
		cmocka_unit_test(test_class_exhausted_not_fragmented),
		cmocka_unit_test(test_class_pastes),
		cmocka_unit_test(test_class_big_log),
		cmocka_unit_test(test_class_cc_kind),
		cmocka_unit_test(test_class_known_lines),
		cmocka_unit_test(test_class_address_overflow),
		cmocka_unit_test(test_class_unnamed_and_full),
		cmocka_unit_test(test_class_refused_disk),
		cmocka_unit_test(test_class_prompt_and_wrapped),
		cmocka_unit_test(test_class_units),
		cmocka_unit_test(test_class_device_limit),
		cmocka_unit_test(test_class_kernel_facts),
		cmocka_unit_test(test_class_context),
		cmocka_unit_test(test_class_bundle_links),
	};

	return cmocka_run_group_tests(diagnose, NULL, NULL);
}
