/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers every part of the loader uses: strict number parsing,
 * small file reads, one-line errors, capability checks. */
#ifndef DMAWATCH_UTIL_H
#define DMAWATCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Parse a whole decimal (or 0x) unsigned number in [min, max]; false on
 * trailing junk, overflow or range. */
bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parse seconds with an optional fraction ("0.5", "2"), > 0, <= max_s. */
bool parse_seconds(const char *s, double max_s, double *out);

/* A size in bytes, with an optional K, M or G (binary) suffix, in [min, max]. */
bool parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A small file (sysfs, debugfs) whole into buf, the trailing newline cut. */
bool read_text_file(const char *path, char *buf, size_t len);
/* A file holding one unsigned number. */
bool read_u64_file(const char *path, uint64_t *out);
/* Seconds on CLOCK_MONOTONIC (every interval and timestamp of a run) and
 * on the wall clock (what a person or Prometheus reads); mono_to_wall()
 * turns a CLOCK_MONOTONIC time into the wall time it was, now. */
double mono_s(void);
double wall_s(void);
double mono_to_wall(double mono);
/* "dmawatch: " + message to stderr; printf-like. */
void dmaw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A subcommand's bad option, getopt_long() having returned c ('?' or ':',
 * with opterr 0 and ':' leading the option string): one line naming it and
 * where the usage is. Returns 2, the usage error status. */
int bad_option(const char *cmd, int c, char **argv);

/* Is capability cap (CAP_*) in this process's effective set? (true when
 * that cannot be read: the kernel has the last word anyway) */
bool have_cap(int cap);
/* Which of the capabilities BPF tracing needs (CAP_BPF and CAP_PERFMON,
 * or CAP_SYS_ADMIN for both) this process lacks: "CAP_BPF", "CAP_PERFMON",
 * "CAP_BPF and CAP_PERFMON", or NULL when it has them. */
const char *bpf_caps_missing(void);

#endif
