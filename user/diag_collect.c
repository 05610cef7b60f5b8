// SPDX-License-Identifier: GPL-2.0
/*
 * diagnose, step 1: the facts. Reads the sources in the order the report
 * gives them (environment, pool, devices, kernel log, tasks) through
 * bundle.h, so the same code reads this machine or a bundle of it. Nothing
 * is judged here.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "diagnose.h"

#define SWIOTLB_DEBUGFS "/sys/kernel/debug/swiotlb"

/* The first line of src into dst, cut to fit. */
static void copy_line(char *dst, size_t len, const char *line)
{
	size_t n = strcspn(line, "\n");

	n = n < len ? n : len - 1;
	memcpy(dst, line, n);
	dst[n] = 0;
}

/* Reads a whole unsigned number from PATH; false if missing or not one. */
static bool read_u64(struct bundle *b, const char *path, uint64_t *out)
{
	char *text = bundle_read(b, path, 64, false), *end;
	bool ok;

	if (!text)
		return false;
	errno = 0;
	*out = strtoull(text, &end, 0);
	ok = end != text && !errno && (*end == '\n' || !*end);
	free(text);
	return ok;
}

/* The last path component of a symlink's target ("virtio-pci"), "" if none. */
static void link_name(struct bundle *b, const char *path, char *out, size_t len)
{
	char target[PATH_MAX];
	const char *slash;

	out[0] = 0;
	if (!bundle_readlink(b, path, target, sizeof(target)))
		return;
	slash = strrchr(target, '/');
	copy_line(out, len, slash ? slash + 1 : target);
}

/* dir + "/" + relative symlink target, with ".." resolved: the canonical
 * /sys/devices path a /sys/bus or /sys/block link points to. */
static bool resolve_link(struct bundle *b, const char *link, char *out, size_t len)
{
	char target[PATH_MAX], joined[2 * PATH_MAX];
	char *parts[128], *save, *tok;
	int n = 0;

	if (!bundle_readlink(b, link, target, sizeof(target)))
		return false;
	if (target[0] == '/')
		copy_line(joined, sizeof(joined), target);
	else
		snprintf(joined, sizeof(joined), "%.*s/%s", (int)(strrchr(link, '/') - link), link,
			 target);
	for (tok = strtok_r(joined, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, ".."))
			n -= n > 0;
		else if (strcmp(tok, ".") && n < 128)
			parts[n++] = tok;
	}
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		size_t used = strlen(out);

		snprintf(out + used, len - used, "/%s", parts[i]);
	}
	return n > 0;
}

struct diag_dev *diag_dev(struct diag_facts *facts, const char *name)
{
	struct diag_dev *d;

	for (int i = 0; i < facts->ndevs; i++)
		if (!strcmp(facts->devs[i].name, name))
			return &facts->devs[i];
	if (facts->ndevs == DIAG_MAX_DEVS)
		return NULL;
	d = &facts->devs[facts->ndevs++];
	memset(d, 0, sizeof(*d));
	copy_line(d->name, sizeof(d->name), name);
	d->access_platform = -1;
	d->iommu_group = -1;
	return d;
}

/* The device that does the DMA for the sysfs device at PATH (canonical):
 * the nearest ancestor on a bus other than virtio (a virtio device maps
 * through its transport: virtio-pci, virtio-mmio). */
static struct diag_dev *dma_device_of(struct diag_facts *facts, struct bundle *b, char *path,
				      char *virtio, size_t vlen)
{
	char link[PATH_MAX], sub[64];

	virtio[0] = 0;
	while (strlen(path) > strlen("/sys/devices")) {
		char *slash;

		snprintf(link, sizeof(link), "%s/subsystem", path);
		if (bundle_readlink(b, link, sub, sizeof(sub)) && strstr(sub, "/bus/")) {
			const char *bus = strrchr(sub, '/') + 1;

			if (strcmp(bus, "virtio")) {
				struct diag_dev *d = diag_dev(facts, strrchr(path, '/') + 1);

				if (d) {
					copy_line(d->bus, sizeof(d->bus), bus);
					snprintf(link, sizeof(link), "%s/driver", path);
					link_name(b, link, d->driver, sizeof(d->driver));
				}
				return d;
			}
			copy_line(virtio, vlen, strrchr(path, '/') + 1);
		}
		slash = strrchr(path, '/');
		*slash = 0;
	}
	return NULL;
}

/* The DMA device behind LINK, a /sys/bus or /sys/block entry; CANON gets
 * the canonical path the link resolves to, where its files are read (in a
 * bundle the link resolves to it as on the machine). */
static struct diag_dev *dma_device_at(struct diag_facts *facts, struct bundle *b,
				      const char *link, char *canon, size_t len, char *virtio,
				      size_t vlen)
{
	char up[PATH_MAX];

	if (!resolve_link(b, link, canon, len))
		return NULL;
	/* dma_device_of() walks up a copy. */
	snprintf(up, sizeof(up), "%s", canon);
	return dma_device_of(facts, b, up, virtio, vlen);
}

static void collect_virtio(struct bundle *b, struct diag_facts *facts)
{
	char **names = bundle_list(b, "/sys/bus/virtio/devices");

	for (char **n = names; n && *n; n++) {
		char link[PATH_MAX], path[PATH_MAX], virtio[16], file[PATH_MAX + 16];
		struct diag_dev *d;
		char *features;

		snprintf(link, sizeof(link), "/sys/bus/virtio/devices/%s", *n);
		d = dma_device_at(facts, b, link, path, sizeof(path), virtio, sizeof(virtio));
		if (!d)
			continue;
		copy_line(d->virtio, sizeof(d->virtio), *n);
		snprintf(file, sizeof(file), "%s/driver", path);
		link_name(b, file, d->virtio_driver, sizeof(d->virtio_driver));
		/* One '0' or '1' per feature bit; bit 33 is ACCESS_PLATFORM. */
		snprintf(file, sizeof(file), "%s/features", path);
		features = bundle_read(b, file, 256, false);
		if (features && strspn(features, "01") > 33)
			d->access_platform = features[33] == '1';
		free(features);
	}
	bundle_free_list(names);
}

static void collect_disks(struct bundle *b, struct diag_facts *facts)
{
	static const struct {
		const char *file;
		size_t off;
	} limits[] = {
		{ "max_sectors_kb", offsetof(struct diag_dev, max_sectors_kb) },
		{ "max_hw_sectors_kb", offsetof(struct diag_dev, max_hw_sectors_kb) },
		{ "max_segment_size", offsetof(struct diag_dev, max_segment_size) },
		{ "max_segments", offsetof(struct diag_dev, max_segments) },
	};
	char **names = bundle_list(b, "/sys/block");

	for (char **n = names; n && *n; n++) {
		char link[PATH_MAX], disk[PATH_MAX], virtio[16];
		char file[PATH_MAX + 32];
		struct diag_dev *d;
		uint64_t r, w;
		char *text;

		/* The disk's own directory is on a class (block), not a bus:
		 * the walk goes on to the device under it. */
		snprintf(link, sizeof(link), "/sys/block/%s", *n);
		d = dma_device_at(facts, b, link, disk, sizeof(disk), virtio, sizeof(virtio));
		if (!d || d->disk[0])
			continue;
		copy_line(d->disk, sizeof(d->disk), *n);
		for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
			snprintf(file, sizeof(file), "%s/queue/%s", disk, limits[i].file);
			read_u64(b, file, (uint64_t *)((char *)d + limits[i].off));
		}
		snprintf(file, sizeof(file), "%s/inflight", disk);
		text = bundle_read(b, file, 64, false);
		if (text && sscanf(text, "%" SCNu64 " %" SCNu64, &r, &w) == 2)
			d->inflight = r + w;
		free(text);
	}
	bundle_free_list(names);
}

static void collect_pci(struct bundle *b, struct diag_facts *facts)
{
	char **names = bundle_list(b, "/sys/bus/pci/devices");

	for (char **n = names; n && *n; n++) {
		char link[PATH_MAX + 16], path[PATH_MAX], driver[32];
		struct diag_dev *d;

		/* Only devices a driver holds can map anything. */
		snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s", *n);
		if (!resolve_link(b, link, path, sizeof(path)))
			continue;
		snprintf(link, sizeof(link), "%s/driver", path);
		link_name(b, link, driver, sizeof(driver));
		if (!driver[0] || !(d = diag_dev(facts, *n)))
			continue;
		copy_line(d->driver, sizeof(d->driver), driver);
		snprintf(d->bus, sizeof(d->bus), "pci");
	}
	bundle_free_list(names);
}

/* IOMMU groups: which devices sit behind an IOMMU, and the group's
 * reserved regions ("0xSTART 0xEND TYPE": direct, direct-relaxable, msi,
 * reserved), evidence for what the host side may refuse. */
static void collect_iommu(struct bundle *b, struct diag_facts *facts)
{
	char **groups = bundle_list(b, "/sys/kernel/iommu_groups");

	for (char **g = groups; g && *g; g++) {
		char path[PATH_MAX], **devs, *regions;

		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/reserved_regions", *g);
		regions = bundle_read(b, path, 4096, false);
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/devices", *g);
		devs = bundle_list(b, path);
		for (char **n = devs; n && *n; n++) {
			struct diag_dev *d = diag_dev(facts, *n);
			const char *next = regions;

			if (!d)
				continue;
			d->iommu_group = atoi(*g);
			while (next && *next && d->nreserved < 3)
				next = diag_next_line(next, d->reserved_regions[d->nreserved++],
						      sizeof(d->reserved_regions[0]));
		}
		bundle_free_list(devs);
		free(regions);
	}
	bundle_free_list(groups);
}

static void collect_pool(struct bundle *b, struct diag_facts *facts)
{
	struct diag_pool *p = &facts->pool;
	char **names = bundle_list(b, SWIOTLB_DEBUGFS);

	if (!names) {
		bundle_unreadable(b, SWIOTLB_DEBUGFS,
				  errno == ENOENT ? "No such file or directory (is debugfs mounted? "
						    "mount -t debugfs none /sys/kernel/debug)" :
				  strerror(errno));
		return;
	}
	bundle_free_list(names);
	p->have_total = read_u64(b, SWIOTLB_DEBUGFS "/io_tlb_nslabs", &p->total);
	p->have_used = read_u64(b, SWIOTLB_DEBUGFS "/io_tlb_used", &p->used);
	if (!p->have_used && errno != ENOENT)
		bundle_unreadable(b, SWIOTLB_DEBUGFS "/io_tlb_used", strerror(errno));
	/* 6.4+; mode 0600, so lockdown's read-only debugfs refuses it. */
	p->have_hiwater = read_u64(b, SWIOTLB_DEBUGFS "/io_tlb_used_hiwater", &p->hiwater);
	if (!p->have_hiwater && errno != ENOENT)
		bundle_unreadable(b, SWIOTLB_DEBUGFS "/io_tlb_used_hiwater", strerror(errno));
	p->have_transient =
		read_u64(b, SWIOTLB_DEBUGFS "/io_tlb_transient_nslabs", &p->transient);
}

static void collect_tasks(struct bundle *b, struct diag_facts *facts)
{
	char **names = bundle_list(b, "/proc");

	for (char **n = names; n && *n && facts->ntasks < DIAG_MAX_TASKS; n++) {
		char path[64], *stat, *wchan;
		const char *close;
		struct diag_task *t;

		if (!isdigit((unsigned char)**n))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", *n);
		/* Every task is read, only those in D state are kept. */
		stat = bundle_read(b, path, 1024, true);
		close = stat ? strrchr(stat, ')') : NULL;
		if (!close || strncmp(close, ") D", 3)) {
			free(stat);
			continue;
		}
		bundle_keep(b, path, stat);
		t = &facts->tasks[facts->ntasks++];
		t->pid = atoi(*n);
		snprintf(t->comm, sizeof(t->comm), "%.*s",
			 (int)(close - strchr(stat, '(') - 1), strchr(stat, '(') + 1);
		snprintf(path, sizeof(path), "/proc/%s/wchan", *n);
		wchan = bundle_read(b, path, 64, false);
		copy_line(t->wchan, sizeof(t->wchan), wchan ? wchan : "");
		free(wchan);
		free(stat);
	}
	bundle_free_list(names);
}

const char *diag_next_line(const char *p, char *buf, size_t len)
{
	const char *end = strchrnul(p, '\n');

	copy_line(buf, len, p);
	return *end ? end + 1 : end;
}

/* The text after the "[  12.345] " or "<4>" prefix of a log line. */
static const char *log_text(const char *line)
{
	if (*line == '<' && strchr(line, '>') && strchr(line, '>') - line < 5)
		line = strchr(line, '>') + 1;
	if (*line == '[' && strchr(line, ']'))
		line = strchr(line, ']') + 1;
	while (*line == ' ')
		line++;
	return line;
}

static struct diag_dev *dev_by_disk(struct diag_facts *facts, const char *disk, size_t len)
{
	for (int i = 0; i < facts->ndevs; i++)
		if (strlen(facts->devs[i].disk) == len && !strncmp(facts->devs[i].disk, disk, len))
			return &facts->devs[i];
	return NULL;
}

static struct diag_dev *dev_by_virtio(struct diag_facts *facts, const char *name, size_t len)
{
	for (int i = 0; i < facts->ndevs; i++)
		if (strlen(facts->devs[i].virtio) == len &&
		    !strncmp(facts->devs[i].virtio, name, len))
			return &facts->devs[i];
	return NULL;
}

static void other_line(struct diag_facts *facts, const char *text)
{
	if (facts->nlog_other < 4)
		copy_line(facts->log_other[facts->nlog_other++], DIAG_LINE, text);
}

/* "only able to allocate N MB", "No low mem": a pool smaller than asked. */
static void shortfall_line(struct diag_pool *p, const char *text)
{
	p->boot_shortfall = true;
	if (p->nshortfall_lines < 4)
		copy_line(p->shortfall_lines[p->nshortfall_lines++], DIAG_LINE, text);
}

/* "... roundup to NMB", "... adjusted to NMB", "adjusted A -> B slabs":
 * the areas grew the pool (the last such line is kept). */
static void roundup_line(struct diag_pool *p, const char *text)
{
	p->roundup = true;
	copy_line(p->roundup_line, DIAG_LINE, text);
}

/* "DRIVER DEV: swiotlb buffer is full (sz: S bytes), total T (slots),
 * used U (slots)": swiotlb_tbl_map_single(), rate-limited, same text
 * from 5.x to 7.x. */
static void full_line(struct diag_facts *facts, const char *text, const char *msg)
{
	const char *sp = memchr(text, ' ', msg - text);
	struct diag_fulls *k;
	struct diag_full f;
	struct diag_dev *d;
	char name[64];

	if (!sp || sscanf(msg, "swiotlb buffer is full (sz: %" SCNu64 " bytes), total %" SCNu64
			  " (slots), used %" SCNu64, &f.size, &f.total, &f.used) != 3)
		return;
	/* msg - 2 is the ':' after the device name. */
	snprintf(name, sizeof(name), "%.*s", (int)(msg - 2 - sp - 1), sp + 1);
	d = diag_dev(facts, name);
	if (!d)
		return;
	if (!d->driver[0] && !d->bus[0])
		snprintf(d->driver, sizeof(d->driver), "%.*s", (int)(sp - text), text);
	d->full_lines++;
	k = &d->full[f.size > DIAG_MAX_MAPPING ? FULL_OVER_LIMIT :
		     f.used > f.total ||
		     f.size / DIAG_SLOT + (f.size % DIAG_SLOT != 0) > f.total - f.used ? FULL_NO_ROOM :
		     FULL_FRAGMENTED];
	if (!k->lines++)
		copy_line(k->first_line, DIAG_LINE, text);
	copy_line(k->last_line, DIAG_LINE, text);
	if (f.size >= k->max.size)
		k->max = f;
	k->last = f;
}

void diag_parse_log(struct diag_facts *facts, const char *log)
{
	struct diag_pool *p = &facts->pool;

	for (const char *next = log; next && *next;) {
		char line[1024];
		const char *text, *m;
		uint64_t v;

		/* One line at a time, NUL-terminated: no match runs into the
		 * lines after it. */
		next = diag_next_line(next, line, sizeof(line));
		text = log_text(line);

		if ((m = strstr(text, "swiotlb buffer is full")) && m - text > 3 && m[-2] == ':') {
			full_line(facts, text, m);
		} else if ((m = strstr(text, "software IO TLB: "))) {
			const char *paren;

			m += strlen("software IO TLB: ");
			if (!strncmp(m, "mapped [mem", 11)) {
				paren = strrchr(m, '(');
				if (paren && sscanf(paren, "(%" SCNu64 "MB)", &v) == 1)
					p->boot_mb = v;
			} else if (sscanf(m, "area num %" SCNu64, &v) == 1)
				p->areas = v;
			else if (strstr(m, "roundup to") || strstr(m, "adjusted to") ||
				 strstr(m, "slabs"))
				roundup_line(p, text);
			else if (strstr(m, "only able to allocate") || strstr(m, "No low mem"))
				shortfall_line(p, text);
		} else if (strstr(text, "SWIOTLB bounce buffer size adjusted") ||
			   strstr(text, "SWIOTLB bounce buffer size roundup")) {
			roundup_line(p, text);
		} else if (strstr(text, "created restricted DMA pool")) {
			/* A device tree's restricted-dma-pool: its own SWIOTLB. */
			if (p->nrestricted < 2)
				copy_line(p->restricted[p->nrestricted++], DIAG_LINE, text);
		} else if ((m = strstr(text, "I/O error, dev "))) {
			struct diag_dev *d;

			m += strlen("I/O error, dev ");
			d = dev_by_disk(facts, m, strcspn(m, ", "));
			if (d && !d->io_errors++)
				copy_line(d->io_error_line, DIAG_LINE, text);
		} else if (strstr(text, "blocked for more than") && !strncmp(text, "INFO: task", 10)) {
			if (!facts->hung_task_lines++)
				copy_line(facts->hung_task_line, DIAG_LINE, text);
		} else if ((m = strstr(text, ": device must provide VIRTIO_F_ACCESS_PLATFORM"))) {
			const char *sp = memchr(text, ' ', m - text);
			struct diag_dev *d = sp ? dev_by_virtio(facts, sp + 1, m - sp - 1) : NULL;

			if (d) {
				d->must_provide_platform = true;
				copy_line(d->platform_line, DIAG_LINE, text);
			} else
				other_line(facts, text);
		} else if ((strstr(text, "swiotlb addr") && strstr(text, "overflow")) ||
			   strstr(text, "Can not allocate SWIOTLB buffer earlier") ||
			   strstr(text, "Failed to create a DMA mapping") ||
			   (strstr(text, "scheduling while atomic") && strstr(text, "swiotlb"))) {
			other_line(facts, text);
		}
	}
}

/* Every signal a guest has of the confidential-computing kind: the kernel
 * log first (it names what the kernel enabled), then CPU flags and the
 * guest devices (cc.c), then the other architectures' files. */
static void collect_env(struct bundle *b, struct diag_facts *facts, const char *log)
{
	struct diag_env *env = &facts->env;
	char *cpuinfo = bundle_read(b, "/proc/cpuinfo", 16384, false);
	char *cmdline = bundle_read(b, "/proc/cmdline", 4096, false);
	char *lock = bundle_read(b, "/sys/kernel/security/lockdown", 128, false);
	char *uv = bundle_read(b, "/sys/firmware/uv/prot_virt_guest", 16, false);
	char *svm = bundle_read(b, "/sys/devices/system/cpu/svm", 16, false);
	bool snp_dev = bundle_exists(b, "/sys/devices/platform/sev-guest") ||
		       bundle_exists(b, "/dev/sev-guest");
	bool tdx_dev = bundle_exists(b, "/dev/tdx_guest");
	char features_l[DIAG_LINE] = "", vtom_l[DIAG_LINE] = "", rme_l[DIAG_LINE] = "";
	char tdx_l[DIAG_LINE] = "", bounce_l[DIAG_LINE] = "";
	const char *features = NULL, *vtom = NULL, *rme = NULL, *tdx = NULL, *bounce = NULL;
	struct cc_state cc;

	env->btf = bundle_exists(b, "/sys/kernel/btf/vmlinux");
	for (const char *next = log; next && *next;) {
		char line[1024];
		const char *text;

		next = diag_next_line(next, line, sizeof(line));
		text = log_text(line);

		if (strstr(text, "Memory Encryption Features active:"))
			copy_line(features_l, DIAG_LINE, text), features = features_l;
		else if (!strncmp(text, "SEV: Status:", 12) && strstr(text, "vTom"))
			copy_line(vtom_l, DIAG_LINE, text), vtom = vtom_l;
		else if (strstr(text, "RME: Using RSI version"))
			copy_line(rme_l, DIAG_LINE, text), rme = rme_l;
		else if (strstr(text, "tdx: Guest detected"))
			copy_line(tdx_l, DIAG_LINE, text), tdx = tdx_l;
		else if (strstr(text, "Memory encryption is active and system is using DMA bounce"))
			copy_line(bounce_l, DIAG_LINE, text), bounce = bounce_l;
	}
	cc_parse(&cc, cpuinfo, cmdline, -1, snp_dev);
	env->forced = cc.forced;
	copy_line(env->swiotlb_arg, sizeof(env->swiotlb_arg), cc.swiotlb_arg);
	if (features) {
		/* "... active: AMD SEV SEV-ES SEV-SNP" or "... active: Intel TDX". */
		const char *kind = strstr(features, "SEV-SNP") ? "SEV-SNP" :
				   strstr(features, "SEV-ES") ? "SEV-ES" :
				   strstr(features, "TDX") ? "TDX" : "SEV";

		/* An SNP guest behind a paravisor (Azure's vTOM) prints only
		 * "AMD SEV" here: the status line and the missing guest device
		 * say what it is. */
		if (vtom && !snp_dev)
			snprintf(env->cc, sizeof(env->cc), "SEV-SNP (paravisor, vTOM)");
		else
			copy_line(env->cc, sizeof(env->cc), kind);
		copy_line(env->cc_evidence, DIAG_LINE, vtom && !snp_dev ? vtom : features);
		env->cc_active = true;
	} else if (tdx || tdx_dev || cc.kind == CC_TDX) {
		snprintf(env->cc, sizeof(env->cc), "TDX");
		copy_line(env->cc_evidence, DIAG_LINE, tdx ? tdx : tdx_dev ? "/dev/tdx_guest" :
							     "cpuinfo flag tdx_guest");
		env->cc_active = true;
	} else if (cc.kind != CC_NONE && !cc.hint) {
		copy_line(env->cc, sizeof(env->cc), cc_name(cc.kind));
		copy_line(env->cc_evidence, DIAG_LINE, cc.source);
		env->cc_active = true;
	} else if (uv && uv[0] == '1') {
		snprintf(env->cc, sizeof(env->cc), "s390 PV");
		copy_line(env->cc_evidence, DIAG_LINE, "/sys/firmware/uv/prot_virt_guest = 1");
		env->cc_active = true;
	} else if (svm && svm[0] == '1') {
		snprintf(env->cc, sizeof(env->cc), "POWER SVM");
		copy_line(env->cc_evidence, DIAG_LINE, "/sys/devices/system/cpu/svm = 1");
		env->cc_active = true;
	} else if (rme) {
		snprintf(env->cc, sizeof(env->cc), "arm64 CCA realm");
		copy_line(env->cc_evidence, DIAG_LINE, rme);
		env->cc_active = true;
	} else if (bounce) {
		/* The kernel says memory is encrypted, nothing says which kind
		 * (the log's start may have rotated out). */
		snprintf(env->cc, sizeof(env->cc), "memory encryption (kind unknown)");
		copy_line(env->cc_evidence, DIAG_LINE, bounce);
		env->cc_active = true;
	} else {
		snprintf(env->cc, sizeof(env->cc), "none");
		copy_line(env->cc_evidence, DIAG_LINE,
			  cc.hint ? "host SEV CPU flags only (not proof of a guest)" : cc.source);
	}
	if (lock && strchr(lock, '['))
		snprintf(env->lockdown, sizeof(env->lockdown), "%.*s",
			 (int)strcspn(strchr(lock, '[') + 1, "]"), strchr(lock, '[') + 1);
	free(cpuinfo);
	free(cmdline);
	free(lock);
	free(uv);
	free(svm);
}

/* The live window's text (docs/diagnose-bundle.md), saved or just seen. */
void diag_parse_window(struct diag_facts *facts, const char *text)
{
	struct diag_window *win = &facts->window;

	for (const char *next = text; next && *next;) {
		uint64_t used, segs, run;
		char name[64], line[512];
		const char *v;

		next = diag_next_line(next, line, sizeof(line));

		if (!strncmp(line, "not-run ", 8)) {
			win->ran = false;
			diag_next_line(line + 8, win->why_not, sizeof(win->why_not));
			return;
		}
		if (sscanf(line, "seconds %lf", &win->seconds) == 1) {
			win->ran = true;
		} else if (sscanf(line, "pool %" SCNu64 " %" SCNu64 " %" SCNu64, &used, &segs,
				  &run) == 3) {
			if (!win->samples++) {
				win->used_first = win->used_min = used;
				win->free_segments_min = segs;
				win->largest_free_run_min = run;
				win->rising = true;
			} else if (used < win->used_last) {
				win->rising = false;
			}
			win->used_last = used;
			win->used_min = used < win->used_min ? used : win->used_min;
			win->used_max = used > win->used_max ? used : win->used_max;
			if (segs < win->free_segments_min)
				win->free_segments_min = segs;
			if (run < win->largest_free_run_min)
				win->largest_free_run_min = run;
		} else if (sscanf(line, "device %63s", name) == 1) {
			struct diag_dev *d = diag_dev(facts, name);

#define FIELD(key, dst) \
	if ((v = strstr(line, " " key "="))) \
		dst = strtoull(v + strlen(key) + 2, NULL, 10)
			if (!d)
				continue;
			FIELD("maps", d->w_maps);
			FIELD("unmaps", d->w_unmaps);
			FIELD("failures", d->w_failures);
			FIELD("over_limit", d->w_over_limit);
			FIELD("never_fit", d->w_never_fit);
			FIELD("never_fit_reqs", d->w_never_fit_reqs);
			FIELD("max_size", d->w_max_size);
			FIELD("never_fit_size", d->w_never_fit_size);
			FIELD("over_limit_size", d->w_over_limit_size);
#undef FIELD
			if ((v = strstr(line, " never_fit_comm=")))
				snprintf(d->w_never_fit_comm, sizeof(d->w_never_fit_comm), "%.*s",
					 (int)strcspn(v + 16, " "), v + 16);
		}
	}
}

void diag_collect(struct bundle *b, struct diag_facts *facts)
{
	char *release = bundle_get(b, "uname-r", 256);
	char *log = bundle_get(b, "dmesg", 8 << 20);

	/* Live, diagnose.c put the release and the log before calling. */
	if (release)
		copy_line(facts->env.release, sizeof(facts->env.release), release);
	facts->have_log = log != NULL;
	collect_env(b, facts, log);
	collect_pool(b, facts);
	collect_virtio(b, facts);
	collect_disks(b, facts);
	collect_pci(b, facts);
	collect_iommu(b, facts);
	if (log)
		diag_parse_log(facts, log);
	collect_tasks(b, facts);
	free(release);
	free(log);
}
