/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel symbols from /proc/kallsyms: address -> name+offset for stacks, and
 * name lookups for calibration (is a function kprobe-able under that name?). */
#ifndef DMAWATCH_KSYMS_H
#define DMAWATCH_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ksym {
	uint64_t addr;
	const char *name;
	const char *module; /* NULL for vmlinux */
};

struct ksyms;

/* Loads a kallsyms-format file (path NULL: /proc/kallsyms). NULL on error,
 * with errno set. Addresses all zero means kptr_restrict hid them. */
struct ksyms *ksyms_load(const char *path);
/* The same, also keeping the vmlinux symbols named in data[] (variables,
 * any type), for ksyms_data(): one read of kallsyms for every lookup. */
struct ksyms *ksyms_load_with(const char *path, const char *const *data, size_t ndata);
/* The same from an open stream (the fuzz target reads memory). */
struct ksyms *ksyms_read(FILE *f);
struct ksyms *ksyms_read_with(FILE *f, const char *const *data, size_t ndata);
/* The address of a symbol named to ksyms_load_with(): 0 and *addr (0 when
 * hidden), or -ENOENT when vmlinux has no such symbol. */
int ksyms_data(const struct ksyms *ks, const char *name, uint64_t *addr);
void ksyms_free(struct ksyms *ks);
/* The symbol containing addr (the last one at or below it), or NULL. */
const struct ksym *ksyms_find_addr(const struct ksyms *ks, uint64_t addr);
/* A text symbol by exact name, or NULL. */
const struct ksym *ksyms_find_name(const struct ksyms *ks, const char *name);
/* "name+0xoff [module]" into buf. */
void ksyms_format(const struct ksyms *ks, uint64_t addr, char *buf, size_t len);

#endif
