// SPDX-License-Identifier: GPL-2.0
/*
 * The text of `dmawatch export`: dmawatch's own health, then every probe
 * family's metric families (its view's prom piece, table order), dmawatch_up
 * last; and the counters kept monotonic between renders. The writers are
 * in user/out/promtext.c. Conventions (prometheus.io, "metric
 * and label naming"): dmawatch_ prefix, base units in the name (bytes,
 * seconds), _total on counters, a HELP and a TYPE line per family, label
 * sets bounded by the devices and virtqueues of the machine (no pids).
 * Counters are cumulative since the probes were attached, as the BPF maps
 * are; rate() and increase() make intervals of them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "out/prom.h"

/* The device rows: their label sets, built once for every family. */
static void device_rows(struct prom_rows *r, const struct snapshot *s)
{
	char l[PROM_LABELS_LEN];

	r->n = 0;
	for (size_t i = 0; i < s->ndevs && i < SNAP_MAX_DEVS; i++) {
		const struct dev_snapshot *d = &s->devs[i];

		l[0] = 0;
		prom_add_label(l, sizeof(l), "device", d->id.dev, sizeof(d->id.dev));
		prom_add_label(l, sizeof(l), "driver", d->id.driver, sizeof(d->id.driver));
		prom_rows_add(r, i, l);
	}
}

static bool family_attached(const struct prom_health *h, const char *name)
{
	for (size_t i = 0; i < h->nfamilies; i++)
		if (h->families[i].name && !strcmp(h->families[i].name, name))
			return h->families[i].attached;
	return false;
}

static void health_head(struct prom_out *o, const struct prom_health *h)
{
	char labels[PROM_LABELS_LEN];
	bool any = false;

	labels[0] = 0;
	prom_add_label(labels, sizeof(labels), "version", h->version ? h->version : "unknown", 64);
	prom_family(o, "dmawatch_build_info", "gauge", "The running dmawatch; the value is 1.");
	prom_sample(o, "dmawatch_build_info", labels, NULL, 1);
	prom_family(o, "dmawatch_start_time_seconds", "gauge",
		    "Unix time the exporter started (counters count from about then).");
	prom_sample_double(o, "dmawatch_start_time_seconds", NULL, h->started_at, true);

	if (h->nfamilies) {
		prom_family(o, "dmawatch_probe_family_attached", "gauge",
			    "1 if the probe family is loaded and attached (see dmawatch probe).");
		for (size_t i = 0; i < h->nfamilies; i++) {
			labels[0] = 0;
			prom_add_label(labels, sizeof(labels), "family", h->families[i].name, 32);
			prom_sample(o, "dmawatch_probe_family_attached", labels, NULL,
				    h->families[i].attached);
		}
	}
	/* One sample per hook the families chose for ("-" notes only say a
	 * family was left out: the family gauge has that). */
	for (size_t i = 0; i < h->nnotes; i++) {
		const struct attach_note *n = &h->notes[i];
		bool dup = false;

		if (!n->family || !n->hook || !strcmp(n->hook, "-"))
			continue;
		/* A family may note a hook twice: keep the first choice. */
		for (size_t j = 0; j < i && !dup; j++)
			dup = h->notes[j].family && h->notes[j].hook &&
			      !strcmp(h->notes[j].family, n->family) &&
			      !strcmp(h->notes[j].hook, n->hook);
		if (dup)
			continue;
		if (!any)
			prom_family(o, "dmawatch_probe_attached", "gauge",
				    "1 if the hook is attached; attach says how (fentry, kprobe, "
				    "tp_btf, raw_tp, none).");
		any = true;
		labels[0] = 0;
		prom_add_label(labels, sizeof(labels), "family", n->family, 32);
		prom_add_label(labels, sizeof(labels), "hook", n->hook, 64);
		prom_add_label(labels, sizeof(labels), "attach", attach_kind_name(n->kind), 16);
		prom_sample(o, "dmawatch_probe_attached", labels, NULL,
			    n->kind != ATTACH_NONE && family_attached(h, n->family));
	}
}

static void health_tail(struct prom_out *o, const struct snapshot *s, const struct prom_health *h)
{
	prom_family(o, "dmawatch_events_dropped_total", "counter",
		    "Events the BPF side could not queue (ring buffer full); counters are "
		    "not affected.");
	prom_sample(o, "dmawatch_events_dropped_total", NULL, NULL, s->event_drops);
	if (h->nfamilies)
		prom_family(o, "dmawatch_probe_missed_runs_total", "counter",
			    "Calls the kernel did not run the family's probes for (its "
			    "recursion protection: a probe nested in itself on one CPU); "
			    "the family's counters are short by that many.");
	for (size_t i = 0; i < h->nfamilies; i++) {
		char labels[PROM_LABELS_LEN];

		for (size_t k = 0; k < FAMILY_IDS; k++) {
			if (!h->families[i].name ||
			    strcmp(h->families[i].name, family_table[k]->name))
				continue;
			labels[0] = 0;
			prom_add_label(labels, sizeof(labels), "family", family_table[k]->name, 32);
			prom_sample(o, "dmawatch_probe_missed_runs_total", labels, NULL,
				    s->missed_runs[k]);
		}
	}
	prom_family(o, "dmawatch_last_collection_timestamp_seconds", "gauge",
		    "Unix time of the last successful read of the BPF maps.");
	prom_sample_double(o, "dmawatch_last_collection_timestamp_seconds", NULL, h->collected_at,
			   true);
	/* Last, always: see prom_render(). */
	prom_family(o, "dmawatch_up", "gauge",
		    "1 while dmawatch watches; 0 in the file it leaves when stopped.");
	prom_sample(o, "dmawatch_up", NULL, NULL, h->up);
}

int prom_render(FILE *out, const struct snapshot *s, const struct prom_health *h)
{
	/* Up to SNAP_MAX_DEVS label sets: not for the stack. */
	static struct prom_rows devs;
	struct prom_out o = { .f = out, .s = s, .devs = &devs };

	device_rows(&devs, s);
	health_head(&o, h);
	for (size_t i = 0; i < FAMILY_IDS; i++)
		if (family_table[i]->view.prom)
			family_table[i]->view.prom(&o);
	health_tail(&o, s, h);
	return ferror(out) ? -EIO : 0;
}

/* ---- monotonic counters --------------------------------------------------- */

void prom_max_u64s(void *dst, const void *src, size_t size)
{
	__u64 *d = dst;
	const __u64 *s = src;

	for (size_t i = 0; i < size / sizeof(__u64); i++)
		if (s[i] > d[i])
			d[i] = s[i];
}

void prom_fold_departed(struct snapshot *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->ndevs; i++) {
		struct dev_snapshot *d = &s->devs[i], *live = NULL;

		for (size_t j = 0; d->gone && j < n && !live; j++)
			if (!s->devs[j].gone && !strcmp(s->devs[j].id.dev, d->id.dev))
				live = &s->devs[j];
		if (!live) {
			if (n != i)
				s->devs[n] = *d;
			n++;
			continue;
		}
		for (size_t k = 0; k < FAMILY_IDS; k++)
			if (family_table[k]->view.add_device)
				family_table[k]->view.add_device(live, d);
		if (!live->id.driver[0])
			memcpy(live->id.driver, d->id.driver, sizeof(live->id.driver));
	}
	s->ndevs = n;
	for (size_t k = 0; k < FAMILY_IDS; k++)
		if (family_table[k]->view.fold)
			family_table[k]->view.fold(s);
}

void prom_keep_monotonic(struct snapshot *cur, const struct snapshot *last)
{
	for (size_t i = 0; i < last->ndevs; i++) {
		const struct dev_snapshot *l = &last->devs[i];
		struct dev_snapshot *c = NULL;

		for (size_t j = 0; j < cur->ndevs && !c; j++)
			if (!strncmp(cur->devs[j].id.dev, l->id.dev, sizeof(l->id.dev)))
				c = &cur->devs[j];
		if (!c) {
			if (cur->ndevs < SNAP_MAX_DEVS)
				cur->devs[cur->ndevs++] = *l;
			continue;
		}
		for (size_t k = 0; k < FAMILY_IDS; k++)
			if (family_table[k]->view.keep_device)
				family_table[k]->view.keep_device(c, l);
		if (!c->id.driver[0])
			memcpy(c->id.driver, l->id.driver, sizeof(c->id.driver));
	}
	for (size_t k = 0; k < FAMILY_IDS; k++)
		if (family_table[k]->view.keep)
			family_table[k]->view.keep(cur, last);
	if (last->event_drops > cur->event_drops)
		cur->event_drops = last->event_drops;
	prom_max_u64s(cur->missed_runs, last->missed_runs, sizeof(cur->missed_runs));
}

int prom_render_text(const struct snapshot *s, const struct prom_health *h, char **text,
		     size_t *len)
{
	FILE *f;
	int err;

	*text = NULL;
	*len = 0;
	f = open_memstream(text, len);
	if (!f)
		return -errno;
	err = prom_render(f, s, h);
	/* Closed whatever the render said: the stream owns the buffer. */
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	return err;
}
