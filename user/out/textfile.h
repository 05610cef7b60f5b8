/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DIR/dmawatch.prom for node_exporter's textfile collector, replaced
 * atomically: written to a temporary file in the same directory (a name
 * node_exporter ignores: it only reads *.prom), fsync'ed, renamed over
 * DIR/dmawatch.prom, and the directory fsync'ed, so a scrape sees the old
 * file or the new one, never a part, even across a crash. Temporary files
 * a killed exporter left are removed when it opens the directory.
 */
#ifndef DMAWATCH_TEXTFILE_H
#define DMAWATCH_TEXTFILE_H

#include <stdbool.h>
#include <stddef.h>

#define PROM_FILE "dmawatch.prom"

struct textfile {
	const char *path; /* DIR as given, for messages */
	int dirfd;
	char tmp[64]; /* TMP_PREFIX <pid> TMP_SUFFIX */
	int last_err; /* errno of the last failed write, to warn once */
	bool verbose; /* say which stale temporary files were removed */
};

/* Opens DIR and proves it writable; prints why not. 0 or a negative errno.
 * verbose: say which stale temporary files it removed. */
int textfile_open(struct textfile *t, const char *dir, bool verbose);
/* Replaces DIR/dmawatch.prom with text. Returns 0 or a negative errno;
 * never leaves the temporary file behind. */
int textfile_write(struct textfile *t, const char *text, size_t len);
/* Closes the directory, removing a temporary file left; safe twice. */
void textfile_close(struct textfile *t);

#endif
