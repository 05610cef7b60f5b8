// SPDX-License-Identifier: GPL-2.0
/* stat's output, text and JSON: the common frame around the families'
 * pieces (struct family_view), called in table order. */
#include <stdlib.h>
#include <string.h>

#include "out/report.h"

double report_interval(const struct snapshot *prev, const struct snapshot *cur)
{
	return prev ? cur->time_s - prev->time_s : 0;
}

double report_rate(__u64 now, __u64 before, double dt)
{
	return dt > 0 && now >= before ? (now - before) / dt : 0;
}

void json_hist(struct json *j, const char *key, const __u64 *hist)
{
	int last = -1;

	for (int i = 0; i < DMAW_HIST_SLOTS; i++)
		if (hist[i])
			last = i;
	json_array_begin(j, key);
	for (int i = 0; i <= last; i++)
		json_u64(j, NULL, hist[i]);
	json_array_end(j);
}

void json_dirs(struct json *j, const char *key, const __u64 *v)
{
	json_object_begin(j, key);
	for (int i = 0; i < DMAW_DIRS - 1; i++)
		json_u64(j, dmaw_dir_names[i], v[i]);
	json_object_end(j);
}

/* The view of family i, or NULL. */
#define VIEW(i, piece) (family_table[i]->view.piece)

void report_json(struct json *j, const struct snapshot *prev, const struct snapshot *cur)
{
	struct proc_snapshot procs[10];
	size_t nprocs = snapshot_top_procs(cur, procs, 10);

	json_object_begin(j, NULL);
	json_double(j, "interval_s", report_interval(prev, cur));
	json_array_begin(j, "devices");
	for (size_t i = 0; i < cur->ndevs; i++) {
		const struct dev_snapshot *d = &cur->devs[i];

		json_object_begin(j, NULL);
		json_string(j, "device", d->id.dev);
		json_string(j, "driver", d->id.driver);
		json_bool(j, "gone", d->gone);
		json_u64(j, "departures", d->departures);
		for (size_t k = 0; k < FAMILY_IDS; k++)
			if (VIEW(k, json_device))
				VIEW(k, json_device)(j, prev, cur, d);
		json_object_end(j);
	}
	json_array_end(j);
	for (size_t k = 0; k < FAMILY_IDS; k++)
		if (VIEW(k, json))
			VIEW(k, json)(j, prev, cur);
	/* Rows read from the process table: all of them, for the top ten.
	 * Counted only with --detail: absent, not empty, without. */
	if (cur->detail) {
		json_u64(j, "processes", cur->nprocs);
		json_array_begin(j, "top_processes");
		for (size_t i = 0; i < nprocs; i++) {
			json_object_begin(j, NULL);
			json_u64(j, "pid", procs[i].pid);
			json_string(j, "comm", procs[i].st.comm);
			json_u64(j, "maps", procs[i].st.maps);
			json_u64(j, "bytes", procs[i].st.bytes);
			json_object_end(j);
		}
		json_array_end(j);
	}
	json_u64(j, "event_drops", cur->event_drops);
	json_object_begin(j, "missed_runs");
	for (size_t k = 0; k < FAMILY_IDS; k++)
		json_u64(j, family_table[k]->name, cur->missed_runs[k]);
	json_object_end(j);
	json_u64(j, "rows_cut", cur->rows_cut);
	json_object_end(j);
	json_end_line(j);
}

void report_text(FILE *out, const struct snapshot *prev, const struct snapshot *cur)
{
	for (size_t k = 0; k < FAMILY_IDS; k++)
		if (VIEW(k, text_head))
			VIEW(k, text_head)(out, prev, cur);
	fprintf(out, "%-16s %-12s", "DEVICE", "DRIVER");
	for (size_t k = 0; k < FAMILY_IDS; k++)
		if (VIEW(k, text_device))
			VIEW(k, text_device)(out, prev, cur, NULL);
	fputc('\n', out);
	for (size_t i = 0; i < cur->ndevs; i++) {
		const struct dev_snapshot *d = &cur->devs[i];

		fprintf(out, "%-16s %-12s", d->id.dev,
			d->gone         ? "(gone)" :
			d->id.driver[0] ? d->id.driver :
					  "-");
		for (size_t k = 0; k < FAMILY_IDS; k++)
			if (VIEW(k, text_device))
				VIEW(k, text_device)(out, prev, cur, d);
		fputc('\n', out);
	}
	for (size_t k = 0; k < FAMILY_IDS; k++)
		if (VIEW(k, text_tail))
			VIEW(k, text_tail)(out, prev, cur);
	if (cur->event_drops)
		fprintf(out, "events dropped: %llu\n", (unsigned long long)cur->event_drops);
	for (size_t k = 0; k < FAMILY_IDS; k++)
		if (cur->missed_runs[k])
			fprintf(out,
				"%s: %llu calls not counted (the kernel skipped a probe "
				"nested in itself on one CPU)\n",
				family_table[k]->name, (unsigned long long)cur->missed_runs[k]);
	if (cur->rows_cut)
		fprintf(out, "rows left out (tables larger than dmawatch reads): %llu\n",
			(unsigned long long)cur->rows_cut);
	fputc('\n', out);
	fflush(out);
}
