// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus text format's writers (version 0.0.4): escaping, HELP and
 * TYPE lines, samples, histograms, and the per-device metric families the
 * probe families' pieces are made of. user/out/prom.c puts the document
 * together from them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "out/prom.h"

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
		labels && *labels ? "{" : "", labels ? labels : "", labels && *labels ? "}" : "",
		v);
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
