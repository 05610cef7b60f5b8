// SPDX-License-Identifier: GPL-2.0
/*
 * Metric families of `dmawatch export`. Conventions (prometheus.io, "metric
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

#include "prom.h"

char *prom_label_value(char *out, size_t len, const char *s, size_t max)
{
	size_t o = 0;

	if (!len)
		return out;
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = s[i];
		const char *esc = c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : NULL;
		size_t n = esc ? 2 : 1;

		if (o + n >= len)
			break;
		if (esc)
			memcpy(out + o, esc, 2);
		else
			out[o] = c >= 0x20 && c < 0x7f ? c : '?';
		o += n;
	}
	out[o] = 0;
	return out;
}

unsigned long long prom_log2_le(int slot)
{
	return (2ULL << slot) - 1;
}

void prom_add_label(char *labels, size_t len, const char *name, const char *value, size_t max)
{
	size_t used = strlen(labels);
	char esc[128];

	prom_label_value(esc, sizeof(esc), value, max);
	snprintf(labels + used, len - used, "%s%s=\"%s\"", used ? "," : "", name, esc);
}

void prom_rows_add(struct prom_rows *r, size_t idx, const char *labels)
{
	if (r->n == PROM_MAX_ROWS)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->labels[i], labels))
			return;
	snprintf(r->labels[r->n], PROM_LABELS_LEN, "%s", labels);
	r->idx[r->n++] = idx;
}

void prom_family(struct prom_out *o, const char *name, const char *type, const char *help)
{
	fprintf(o->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(struct prom_out *o, const char *name, const char *labels, const char *extra,
		 unsigned long long v)
{
	bool l = labels && *labels, x = extra && *extra;

	if (!l && !x)
		fprintf(o->f, "%s %llu\n", name, v);
	else
		fprintf(o->f, "%s{%s%s%s} %llu\n", name, l ? labels : "", l && x ? "," : "",
			x ? extra : "", v);
}

/* Doubles: durations get 9 significant digits; a Unix time needs its
 * seconds exactly, and milliseconds are enough. */
void prom_sample_double(struct prom_out *o, const char *name, const char *labels, double v,
			bool timestamp)
{
	fprintf(o->f, timestamp ? "%s%s%s%s %.3f\n" : "%s%s%s%s %.9g\n", name,
		labels && *labels ? "{" : "", labels ? labels : "",
		labels && *labels ? "}" : "", v);
}

/* Buckets le = 2^(i+1)-1: see prom_log2_le(). */
void prom_histogram(struct prom_out *o, const char *name, const char *labels, const __u64 *hist,
		    double scale, double sum)
{
	char bucket[128], extra[64];
	unsigned long long cum = 0;

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (int i = 0; i < DMAW_HIST_SLOTS - 1; i++) {
		cum += hist[i];
		if (scale == 1)
			snprintf(extra, sizeof(extra), "le=\"%llu\"", prom_log2_le(i));
		else
			snprintf(extra, sizeof(extra), "le=\"%.10g\"", prom_log2_le(i) * scale);
		prom_sample(o, bucket, labels, extra, cum);
	}
	cum += hist[DMAW_HIST_SLOTS - 1];
	prom_sample(o, bucket, labels, "le=\"+Inf\"", cum);
	fprintf(o->f, "%s_sum{%s} %.9g\n", name, labels, sum);
	fprintf(o->f, "%s_count{%s} %llu\n", name, labels, cum);
}

void prom_dev_metric(struct prom_out *o, const char *name, const char *type, const char *help,
		     prom_dev_value_fn get)
{
	const struct prom_rows *r = o->devs;

	if (!r->n)
		return;
	prom_family(o, name, type, help);
	for (size_t i = 0; i < r->n; i++)
		prom_sample(o, name, r->labels[i], NULL, get(&o->s->devs[r->idx[i]]));
}

void prom_dev_dirs(struct prom_out *o, const char *name, const char *help, prom_dev_dirs_fn get)
{
	const struct prom_rows *r = o->devs;
	char extra[64];

	if (!r->n)
		return;
	prom_family(o, name, "counter", help);
	for (size_t i = 0; i < r->n; i++) {
		const __u64 *v = get(&o->s->devs[r->idx[i]]);

		for (int k = 0; k < DMAW_DIRS - 1; k++) {
			snprintf(extra, sizeof(extra), "direction=\"%s\"", dmaw_dir_names[k]);
			prom_sample(o, name, r->labels[i], extra, v[k]);
		}
	}
}

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
