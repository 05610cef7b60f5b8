/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers every subcommand uses: strict number parsing, errors. */
#ifndef DMAWATCH_UTIL_H
#define DMAWATCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

extern bool verbose;
/* -K: use the kprobe twins even where fentry attaches (to compare them). */
extern bool force_kprobes;
/* -F: comma-separated probe families to load; NULL: all. */
extern const char *only_families;
/* --detail (-L, --latency too): the per-mapping extras, releases,
 * processes, DMA-API page calls, timing and sync copies. Off by default:
 * they put more programs, and more work, on every mapping (issue 10). */
extern bool opt_detail;

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
/* "dmawatch: " + message to stderr; printf-like. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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

/* The lab's SIGKILL points: with DMAWATCH_TEST_STOP_AT=POINT in the
 * environment, the process stops itself (SIGSTOP) when it reaches POINT
 * ("load": one family loaded, nothing attached; "attach": one family
 * attached, the others not; "read": halfway through reading the maps;
 * "textfile": a new .prom written, not yet renamed; "running": everything
 * attached), so a test can kill it there and look for what it left behind,
 * or hold it there (the event consumer) while the kernel works. */
void test_stop_at(const char *point);

#endif
