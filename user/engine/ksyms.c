// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ksyms.h"

struct ksyms {
	struct ksym *syms;
	size_t count, cap;
	char *strings;
	size_t strings_len, strings_cap;
	/* ksyms_load_with()'s names: the caller's strings, found or not. */
	const char *const *data;
	size_t ndata;
	uint64_t *data_addr;
	bool *data_found;
};

/* Names are kept as offsets while the pool grows, then fixed up. */
static long add_string(struct ksyms *ks, const char *s)
{
	size_t len = strlen(s) + 1;
	long off = ks->strings_len;

	if (ks->strings_len + len > ks->strings_cap) {
		size_t cap = ks->strings_cap ? ks->strings_cap * 2 : 1 << 20;
		char *p;

		while (cap < ks->strings_len + len)
			cap *= 2;
		p = realloc(ks->strings, cap);
		if (!p)
			return -1;
		ks->strings = p;
		ks->strings_cap = cap;
	}
	memcpy(ks->strings + off, s, len);
	ks->strings_len += len;
	return off;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct ksyms *ksyms_load(const char *path)
{
	return ksyms_load_with(path, NULL, 0);
}

struct ksyms *ksyms_load_with(const char *path, const char *const *data, size_t ndata)
{
	FILE *f = fopen(path ? path : "/proc/kallsyms", "re");
	struct ksyms *ks;
	int err;

	if (!f)
		return NULL;
	ks = ksyms_read_with(f, data, ndata);
	err = errno;
	fclose(f);
	errno = err;
	return ks;
}

struct ksyms *ksyms_read(FILE *f)
{
	return ksyms_read_with(f, NULL, 0);
}

/* A vmlinux symbol the caller asked for: the first of its name counts. */
static void note_data(struct ksyms *ks, const char *name, uint64_t addr)
{
	for (size_t i = 0; i < ks->ndata; i++)
		if (!ks->data_found[i] && ks->data[i][0] == name[0] && !strcmp(ks->data[i], name)) {
			ks->data_found[i] = true;
			ks->data_addr[i] = addr;
		}
}

static char *skip_blanks(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * One kallsyms line, "ADDR TYPE NAME" or "ADDR TYPE NAME\t[MODULE]",
 * split in place; returns how many of the four fields it has (fewer than
 * three: not a symbol). By hand, not sscanf(): sscanf per line was most of
 * reading kallsyms, and reading it most of a TCG guest's start-up.
 */
static int split_line(char *line, unsigned long long *addr, char *type, char **name, char **module)
{
	char *p = skip_blanks(line), *end;

	if (!isxdigit((unsigned char)*p))
		return 0;
	/* strtoull() was a third of the time. */
	for (*addr = 0; isxdigit((unsigned char)*p); p++)
		*addr = *addr << 4 | (unsigned)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
	end = p;
	p = skip_blanks(end);
	if (p == end || !*p || *p == '\n')
		return 1;
	*type = *p++;
	p = skip_blanks(p);
	*name = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (p == *name)
		return 2;
	end = p;
	p = skip_blanks(p);
	*end = 0;
	if (*p != '[')
		return 3;
	*module = ++p;
	while (*p && *p != ']' && *p != '\n')
		p++;
	if (p == *module)
		return 3;
	*p = 0;
	return 4;
}

struct ksyms *ksyms_read_with(FILE *f, const char *const *data, size_t ndata)
{
	char line[1024], type = 0, *name, *module;
	unsigned long long addr = 0;
	bool sorted = true;
	struct ksyms *ks;

	ks = calloc(1, sizeof(*ks));
	if (!ks)
		goto fail;
	ks->data = data;
	ks->ndata = ndata;
	ks->data_addr = calloc(ndata ? ndata : 1, sizeof(*ks->data_addr));
	ks->data_found = calloc(ndata ? ndata : 1, sizeof(*ks->data_found));
	if (!ks->data_addr || !ks->data_found)
		goto fail;
	while (fgets(line, sizeof(line), f)) {
		long name_off, mod_off = -1;
		int n;

		n = split_line(line, &addr, &type, &name, &module);
		if (n < 3)
			continue;
		if (n == 3 && ndata)
			note_data(ks, name, addr);
		/* Only code: stacks and attach points are functions. */
		if (type != 't' && type != 'T')
			continue;
		if (ks->count == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 65536;
			struct ksym *p = realloc(ks->syms, cap * sizeof(*p));

			if (!p)
				goto fail;
			ks->syms = p;
			ks->cap = cap;
		}
		name_off = add_string(ks, name);
		if (name_off < 0)
			goto fail;
		if (n == 4) {
			mod_off = add_string(ks, module);
			if (mod_off < 0)
				goto fail;
		}
		sorted = sorted && (!ks->count || ks->syms[ks->count - 1].addr <= addr);
		ks->syms[ks->count].addr = addr;
		ks->syms[ks->count].name = (const char *)(uintptr_t)name_off;
		ks->syms[ks->count].module = (const char *)(intptr_t)mod_off;
		ks->count++;
	}
	for (size_t i = 0; i < ks->count; i++) {
		intptr_t mod_off = (intptr_t)ks->syms[i].module;

		ks->syms[i].name = ks->strings + (uintptr_t)ks->syms[i].name;
		ks->syms[i].module = mod_off < 0 ? NULL : ks->strings + mod_off;
	}
	/* Sorted already where the kernel lists symbols in address order
	 * (most of it, often all). No text symbol at all (an empty or
	 * foreign file): syms is NULL, which qsort must not get even with a
	 * count of 0. */
	if (ks->count && !sorted)
		qsort(ks->syms, ks->count, sizeof(*ks->syms), cmp_addr);
	return ks;
fail:
	ksyms_free(ks);
	errno = ENOMEM;
	return NULL;
}

int ksyms_data(const struct ksyms *ks, const char *name, uint64_t *addr)
{
	for (size_t i = 0; ks && i < ks->ndata; i++)
		if (ks->data_found[i] && !strcmp(ks->data[i], name)) {
			*addr = ks->data_addr[i];
			return 0;
		}
	*addr = 0;
	return -ENOENT;
}

void ksyms_free(struct ksyms *ks)
{
	if (!ks)
		return;
	free(ks->data_addr);
	free(ks->data_found);
	free(ks->syms);
	free(ks->strings);
	free(ks);
}

const struct ksym *ksyms_find_addr(const struct ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->count;

	/* The last symbol whose address is <= addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &ks->syms[lo - 1] : NULL;
}

const struct ksym *ksyms_find_name(const struct ksyms *ks, const char *name)
{
	for (size_t i = 0; i < ks->count; i++)
		if (ks->syms[i].name[0] == name[0] && !strcmp(ks->syms[i].name, name))
			return &ks->syms[i];
	return NULL;
}

/* No function is this long: an address further past the nearest symbol is
 * in code kallsyms does not name (a BPF trampoline), not in that symbol. */
#define KSYM_MAX_OFFSET (1u << 20)

void ksyms_format(const struct ksyms *ks, uint64_t addr, char *buf, size_t len)
{
	const struct ksym *s = ks ? ksyms_find_addr(ks, addr) : NULL;

	if (!s || addr - s->addr >= KSYM_MAX_OFFSET) {
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
		return;
	}
	if (s->module)
		snprintf(buf, len, "%s+0x%llx [%s]", s->name, (unsigned long long)(addr - s->addr),
			 s->module);
	else
		snprintf(buf, len, "%s+0x%llx", s->name, (unsigned long long)(addr - s->addr));
}
