// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot-ticks: what one tick of export and of dmatop costs in snapshot
 * handling, without a kernel, for a guest with N devices: the engine's
 * reset and fill of a snapshot, export's copy, keep_monotonic, render and
 * keeping what it rendered, dmatop's copy of the previous and current
 * snapshots. Run the way the loader does it (only the rows in use,
 * snapshot_copy(), export's last swapped in) and, as the reference, the way
 * it did before (whole-struct memset and copies),
 * interleaved in one run; prints bytes copied, CPU and RSS per way.
 *
 *   snapshot-ticks [DEVICES...]      default: 4 64 256
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "engine/snapshot.h"
#include "family/family.h"
#include "out/prom.h"
#include "util.h"

#define TICKS 100

struct way {
	const char *name;
	bool whole;
	struct snapshot *cur, *work, *last, *top_prev, *top_cur;
	size_t copied;
	double cpu_s;
};

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void copy(struct way *w, struct snapshot *dst, const struct snapshot *src)
{
	if (w->whole) {
		*dst = *src;
		w->copied += sizeof(*src);
	} else {
		snapshot_copy(dst, src);
		w->copied += snapshot_used_bytes(src);
	}
}

/* What engine_read() leaves: n devices with counts, a few processes, the
 * families' parts in use. */
static void fill(struct way *w, int n, unsigned long long k)
{
	struct snapshot *s = w->cur;

	if (w->whole)
		memset(s, 0, sizeof(*s));
	else
		snapshot_reset(s);
	for (size_t i = 0; i < FAMILY_IDS; i++)
		s->mine_size[i] = family_table[i]->snap_size;
	for (int i = 0; i < n; i++) {
		struct dmaw_names names = { .driver = "virtio-pci" };
		struct dev_snapshot *d;

		snprintf(names.dev, sizeof(names.dev), "0000:%02x:%02x.0", i / 32, i % 32);
		d = snapshot_dev(s, &names, i + 1);
		d->sw.maps[DMAW_DIR_TO_DEVICE] = k * i;
		d->sw.bytes[DMAW_DIR_TO_DEVICE] = k * i * 4096;
		d->sw.size_hist[12] = k * i;
	}
	for (int i = 0; i < 8; i++) {
		struct proc_snapshot *p = snapshot_proc(s);

		p->pid = 100 + i;
		p->st.bytes = k * i;
	}
	s->time_s = k;
}

static void tick(struct way *w, int n, unsigned long long k)
{
	struct prom_health h = { .up = true, .version = "bench" };
	double t = cpu_s();
	char *text;
	size_t len;

	fill(w, n, k);
	copy(w, w->work, w->cur);
	if (k > 1)
		prom_keep_monotonic(w->work, w->last);
	if (!prom_render_text(w->work, &h, &text, &len))
		free(text);
	/* export keeps what it rendered as the next tick's last (a swap;
	 * before, a copy). */
	if (w->whole) {
		copy(w, w->last, w->work);
	} else {
		struct snapshot *last = w->last;

		w->last = w->work;
		w->work = last;
	}
	copy(w, w->top_prev, w->top_cur);
	copy(w, w->top_cur, w->cur);
	w->cpu_s += cpu_s() - t;
}

static long rss_kib(void)
{
	char line[256];
	long v = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = atol(line + 6);
	if (f)
		fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = { "4", "64", "256" };
	int nargs = argc > 1 ? argc - 1 : 3;

	printf("%-8s %-6s %14s %12s %10s\n", "devices", "way", "copied/tick", "cpu us/tick",
	       "RSS KiB");
	for (int a = 0; a < nargs; a++) {
		int n = atoi(argc > 1 ? argv[a + 1] : defaults[a]);
		struct way ways[2] = { { .name = "rows" }, { .name = "whole", .whole = true } };
		long rss[2];

		for (int i = 0; i < 2; i++) {
			struct way *w = &ways[i];

			w->cur = calloc(1, sizeof(*w->cur));
			w->work = calloc(1, sizeof(*w->work));
			w->last = calloc(1, sizeof(*w->last));
			w->top_prev = calloc(1, sizeof(*w->top_prev));
			w->top_cur = calloc(1, sizeof(*w->top_cur));
			if (!w->cur || !w->work || !w->last || !w->top_prev || !w->top_cur)
				return 1;
		}
		/* Interleaved: the two ways share the machine's state. RSS is
		 * what each way's memory adds, read after its own ticks. */
		rss[0] = rss_kib();
		for (unsigned long long k = 1; k <= TICKS; k++)
			tick(&ways[0], n, k);
		rss[0] = rss_kib() - rss[0];
		rss[1] = rss_kib();
		for (unsigned long long k = 1; k <= TICKS; k++)
			tick(&ways[1], n, k);
		rss[1] = rss_kib() - rss[1];
		for (unsigned long long k = TICKS + 1; k <= 2 * TICKS; k++) {
			tick(&ways[0], n, k);
			tick(&ways[1], n, k);
		}
		for (int i = 0; i < 2; i++)
			printf("%-8d %-6s %14zu %12.0f %10ld\n", n, ways[i].name,
			       ways[i].copied / (2 * TICKS), ways[i].cpu_s / (2 * TICKS) * 1e6,
			       rss[i]);
		printf("%-8d ratio  %14.3f %12.2f\n", n, (double)ways[0].copied / ways[1].copied,
		       ways[0].cpu_s / ways[1].cpu_s);
		for (int i = 0; i < 2; i++) {
			free(ways[i].cur);
			free(ways[i].work);
			free(ways[i].last);
			free(ways[i].top_prev);
			free(ways[i].top_cur);
		}
	}
	return 0;
}
