/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where diagnose reads the machine from: the machine itself, optionally
 * copying everything it reads into a new bundle directory, or a bundle
 * saved earlier (or written by hand from a bug report). Every read goes
 * through here, so a bundle replayed elsewhere gives the same findings.
 *
 * Bundle layout (docs/diagnose-bundle.md):
 *   DIR/format        "dmawatch-bundle 1"
 *   DIR/uname-r       the kernel release
 *   DIR/dmesg         the kernel log, one message per line
 *   DIR/fs/PATH       the file /PATH as it read (symlinks as symlinks)
 *   DIR/unreadable    "PATH<TAB>REASON" per source that could not be read
 *   DIR/window        what the live BPF window saw (diagnose.c)
 */
#ifndef DMAWATCH_BUNDLE_H
#define DMAWATCH_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BUNDLE_FORMAT "dmawatch-bundle 1"

struct bundle {
	const char *replay;     /* bundle directory read from, NULL: this machine */
	int replay_fd;          /* its fs/ directory: every read stays beneath it */
	char *save;             /* temporary directory being written, NULL: none */
	const char *save_final; /* its name once complete */
	int save_err;           /* first errno writing the bundle, 0 if none */
	char save_err_path[4096];
	char error[4096 + 256]; /* why bundle_open() failed */
	char *unreadable;       /* "PATH\tREASON\n"... as recorded or read */
	size_t unreadable_len;
	struct {
		const char *name;
		char *text;
	} put[4]; /* live: the artefacts given to bundle_put() */
};

/* Opens the source: replay a bundle (replay != NULL) or read this machine
 * and, if save_dir != NULL, copy into a new directory that takes that name
 * only in bundle_close(true). Returns 0, or -1 after printing the cause. */
int bundle_open(struct bundle *b, const char *replay, const char *save_dir);
/* Finishes: renames the saved bundle into place when complete is true,
 * removes it otherwise. Returns 0, or -1 after printing the cause. */
int bundle_close(struct bundle *b, bool complete);

/* The text of file PATH (absolute), NUL-terminated, at most max bytes;
 * NULL with errno set when it cannot be read. Saved unless nosave. */
char *bundle_read(struct bundle *b, const char *path, size_t max, bool nosave);
/* Saves a file read with nosave after all (e.g. only the tasks in D state). */
void bundle_keep(struct bundle *b, const char *path, const char *text);
/* The target of symlink PATH in buf; false with errno set if none. */
bool bundle_readlink(struct bundle *b, const char *path, char *buf, size_t len);
/* Whether PATH exists (a device node, a directory): saved as an empty file. */
bool bundle_exists(struct bundle *b, const char *path);
/* The names in directory PATH, sorted, NULL-terminated (free with
 * bundle_free_list); NULL with errno set when it cannot be listed. */
char **bundle_list(struct bundle *b, const char *path);
void bundle_free_list(char **names);
/* A named artefact that is not a file of the machine: "dmesg", "uname-r",
 * "window". Live, the caller produces the text and passes it to
 * bundle_put(); bundle_get() returns a copy of it, or in a replay the
 * saved text. NULL if there is none. */
char *bundle_get(struct bundle *b, const char *name, size_t max);
void bundle_put(struct bundle *b, const char *name, const char *text);
/* A replayed bundle's artefact NAME as a stream (a log of any size), NULL
 * if none; live, the caller has the text it put. */
FILE *bundle_fopen(struct bundle *b, const char *name);

/* Records that SOURCE could not be read and why (saved with the bundle),
 * unless it already was. */
void bundle_unreadable(struct bundle *b, const char *source, const char *reason);
/* The reason recorded for SOURCE, NULL if none (the replay's answer for a
 * file the machine would not let diagnose read). */
const char *bundle_why(const struct bundle *b, const char *source, char *buf, size_t len);
/* Walks the unreadable list: from p (b->unreadable first), the next entry's
 * source and reason, cut to fit; returns where the one after starts, NULL
 * at the end. */
const char *bundle_unreadable_next(const char *p, char *source, size_t slen, char *reason,
				   size_t rlen);

#endif
