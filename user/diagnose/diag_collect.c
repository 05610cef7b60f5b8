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
#include "diagnose/diagnose.h"

#define SWIOTLB_DEBUGFS "/sys/kernel/debug/swiotlb"

void diag_copy_line(char *dst, size_t len, const char *line)
{
	size_t n = strcspn(line, "\n");

	n = n < len ? n : len - 1;
	memcpy(dst, line, n);
	dst[n] = 0;
}

/* Reads a whole unsigned number from PATH; false if missing or not one. */
/* Copies the line at p into buf, NUL-terminated and cut to fit; returns
 * the next line (the end of the text: ""). */
static const char *diag_next_line(const char *p, char *buf, size_t len)
{
	const char *end = strchrnul(p, '\n');

	diag_copy_line(buf, len, p);
	return *end ? end + 1 : end;
}

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
	diag_copy_line(out, len, slash ? slash + 1 : target);
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
		diag_copy_line(joined, sizeof(joined), target);
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
	diag_copy_line(d->name, sizeof(d->name), name);
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
					diag_copy_line(d->bus, sizeof(d->bus), bus);
					snprintf(link, sizeof(link), "%s/driver", path);
					link_name(b, link, d->driver, sizeof(d->driver));
				}
				return d;
			}
			diag_copy_line(virtio, vlen, strrchr(path, '/') + 1);
		}
		slash = strrchr(path, '/');
		*slash = 0;
	}
	return NULL;
}

/* The DMA device behind LINK, a /sys/bus or /sys/block entry; CANON gets
 * the canonical path the link resolves to, where its files are read (in a
 * bundle the link resolves to it as on the machine). */
static struct diag_dev *dma_device_at(struct diag_facts *facts, struct bundle *b, const char *link,
				      char *canon, size_t len, char *virtio, size_t vlen)
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
		diag_copy_line(d->virtio, sizeof(d->virtio), *n);
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
		diag_copy_line(d->disk, sizeof(d->disk), *n);
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
		diag_copy_line(d->driver, sizeof(d->driver), driver);
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
				  errno == ENOENT ?
					  "No such file or directory (is debugfs mounted? "
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
	p->have_transient = read_u64(b, SWIOTLB_DEBUGFS "/io_tlb_transient_nslabs", &p->transient);
	if (!p->grows_live)
		p->grows = p->have_transient;
}

void diag_collect_tasks(struct bundle *b, struct diag_facts *facts)
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
		snprintf(t->comm, sizeof(t->comm), "%.*s", (int)(close - strchr(stat, '(') - 1),
			 strchr(stat, '(') + 1);
		snprintf(path, sizeof(path), "/proc/%s/wchan", *n);
		wchan = bundle_read(b, path, 64, false);
		diag_copy_line(t->wchan, sizeof(t->wchan), wchan ? wchan : "");
		free(wchan);
		free(stat);
	}
	bundle_free_list(names);
}

/* Sets the kind, its evidence and whether memory is encrypted. */
static void set_cc(struct diag_env *env, const char *kind, const char *evidence, bool active)
{
	diag_copy_line(env->cc, sizeof(env->cc), kind);
	diag_copy_line(env->cc_evidence, DIAG_LINE, evidence);
	env->cc_active = active;
}

/* The kind named by a "Memory Encryption Features active:" or "SEV:
 * Status:" line: the most the line names. */
static const char *sev_kind(const char *line)
{
	return strstr(line, "SEV-SNP") ? "SEV-SNP" :
	       strstr(line, "SEV-ES")  ? "SEV-ES" :
	       strstr(line, "TDX")     ? "TDX" :
	       strstr(line, "SEV")     ? "SEV" :
					 NULL;
}

/* Every signal a guest has of the confidential-computing kind: the kernel
 * log's lines first (they name what the kernel enabled), then CPU flags
 * and the guest devices (cc.c), then the other architectures' files. With
 * none of them, the kind is "unknown", not "none": only a source that would
 * have named it (cpuinfo, a whole x86 boot log) can say "none". */
static void collect_env(struct bundle *b, struct diag_facts *facts)
{
	struct diag_env *env = &facts->env;
	const struct diag_log *l = &facts->log;
	char *cpuinfo = bundle_read(b, "/proc/cpuinfo", 16384, false);
	char *cmdline = bundle_read(b, "/proc/cmdline", 4096, false);
	char *lock = bundle_read(b, "/sys/kernel/security/lockdown", 128, false);
	char *uv = bundle_read(b, "/sys/firmware/uv/prot_virt_guest", 16, false);
	char *svm = bundle_read(b, "/sys/devices/system/cpu/svm", 16, false);
	bool snp_dev = bundle_exists(b, "/sys/devices/platform/sev-guest") ||
		       bundle_exists(b, "/dev/sev-guest");
	bool tdx_dev = bundle_exists(b, "/dev/tdx_guest");
	const char *kind;
	struct cc_state cc;

	env->btf = bundle_exists(b, "/sys/kernel/btf/vmlinux");
	/* The command line the log shows stands in for /proc/cmdline. */
	cc_parse(&cc, cpuinfo, cmdline ? cmdline : l->cmdline[0] ? l->cmdline : NULL, -1, snp_dev);
	env->forced = cc.forced;
	env->noforce = cc.noforce;
	diag_copy_line(env->swiotlb_arg, sizeof(env->swiotlb_arg), cc.swiotlb_arg);
	if (l->sev_status[0] && strstr(l->sev_status, "vTom") && !snp_dev) {
		/* An SNP guest behind a paravisor (Azure's vTOM) prints "AMD
		 * SEV" at most; the status line says what it is. */
		set_cc(env, "SEV-SNP (paravisor, vTOM)", l->sev_status, true);
	} else if (l->sev_status[0] && (kind = sev_kind(l->sev_status))) {
		set_cc(env, kind, l->sev_status, true);
	} else if (l->features[0] && (kind = sev_kind(l->features))) {
		/* "... active: AMD SEV SEV-ES SEV-SNP" or "... active: Intel TDX". */
		if (!strcmp(kind, "SEV") && (l->sev_snp[0] || snp_dev))
			set_cc(env, "SEV-SNP", l->sev_snp[0] ? l->sev_snp : "/dev/sev-guest", true);
		else
			set_cc(env, kind, l->features, true);
	} else if (l->sev_snp[0]) {
		set_cc(env, "SEV-SNP", l->sev_snp, true);
	} else if (l->tdx[0] || tdx_dev || cc.kind == CC_TDX) {
		set_cc(env, "TDX",
		       l->tdx[0] ? l->tdx :
		       tdx_dev   ? "/dev/tdx_guest" :
				   "cpuinfo flag tdx_guest",
		       true);
	} else if (l->sev_old[0]) {
		set_cc(env, strstr(l->sev_old, "SEV-ES") ? "SEV-ES" : "SEV", l->sev_old, true);
	} else if (cc.kind != CC_NONE && !cc.hint) {
		set_cc(env, cc_name(cc.kind), cc.source, true);
	} else if (uv && uv[0] == '1') {
		set_cc(env, "s390 PV", "/sys/firmware/uv/prot_virt_guest = 1", true);
	} else if (svm && svm[0] == '1') {
		set_cc(env, "POWER SVM", "/sys/devices/system/cpu/svm = 1", true);
	} else if (l->rme[0]) {
		set_cc(env, "arm64 CCA realm", l->rme, true);
	} else if (l->bounce[0]) {
		/* The kernel says memory is encrypted, nothing says which kind
		 * (the log's start may have rotated out). */
		set_cc(env, "memory encryption (kind unknown)", l->bounce, true);
	} else if (cpuinfo && strstr(cpuinfo, "flags")) {
		set_cc(env, "none",
		       cc.hint ? "host SEV CPU flags only (not proof of a guest)" :
				 "/proc/cpuinfo: no confidential-computing flag",
		       false);
	} else if ((uv && uv[0] == '0') || (svm && svm[0] == '0')) {
		set_cc(env, "none",
		       uv ? "/sys/firmware/uv/prot_virt_guest = 0" :
			    "/sys/devices/system/cpu/svm = 0",
		       false);
	} else if (l->banner && l->x86_boot) {
		/* An x86 kernel names its memory encryption at boot. */
		set_cc(env, "none", "the boot log from 'Linux version' names no memory encryption",
		       false);
	} else {
		set_cc(env, "unknown", "nothing read says: no /proc/cpuinfo, no boot log", false);
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
		int grows;
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
		} else if (sscanf(line, "pool-grows %d", &grows) == 1) {
			facts->pool.grows = grows;
			facts->pool.grows_live = true;
		} else if (sscanf(line, "device %63s", name) == 1) {
			struct diag_dev *d = diag_dev(facts, name);

#define FIELD(key, dst)                      \
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
			/* swiotlb_max_mapping_size() as the probes read it from
			 * the device (dma_parms->min_align_mask): exact for any
			 * driver, where the table of diag_dev_limit() knows a few. */
			FIELD("limit", d->limit);
#undef FIELD
			if (d->limit && d->limit <= DIAG_MAX_MAPPING) {
				d->limit_live = true;
				if (d->limit < DIAG_MAX_MAPPING)
					snprintf(d->limit_why, sizeof(d->limit_why),
						 "min_align_mask read from the device");
			} else {
				d->limit = 0;
			}
			if ((v = strstr(line, " never_fit_comm=")))
				snprintf(d->w_never_fit_comm, sizeof(d->w_never_fit_comm), "%.*s",
					 (int)strcspn(v + 16, " "), v + 16);
		}
	}
}

/* The kernel log: live, the text read from the kernel's buffer (bounded
 * by its size); from a bundle, streamed, whatever its size. */
static void collect_log(struct bundle *b, struct diag_facts *facts)
{
	FILE *f;
	char *log;

	if (b->replay) {
		f = bundle_fopen(b, "dmesg");
		facts->have_log = f != NULL;
		if (f) {
			diag_parse_log_file(facts, f);
			fclose(f);
		}
		return;
	}
	log = bundle_get(b, "dmesg", SIZE_MAX - 1);
	facts->have_log = log != NULL;
	if (log)
		diag_parse_log(facts, log);
	free(log);
}

void diag_collect(struct bundle *b, struct diag_facts *facts)
{
	char *release = bundle_get(b, "uname-r", 256);

	/* Live, diagnose.c put the release and the log before calling. */
	if (release)
		diag_copy_line(facts->env.release, sizeof(facts->env.release), release);
	free(release);
	/* The devices first: the log's lines attach to them by name. */
	collect_pool(b, facts);
	collect_virtio(b, facts);
	collect_disks(b, facts);
	collect_pci(b, facts);
	collect_iommu(b, facts);
	for (int i = 0; i < facts->ndevs; i++)
		diag_dev_limit(&facts->devs[i]);
	collect_log(b, facts);
	collect_env(b, facts);
}
