// SPDX-License-Identifier: GPL-2.0
/* The engine's options (-v, -K, -D, -F) as dmawatch and dmatop parse them,
 * and the family names they are checked against. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "util.h"

void engine_family_names(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(family_table) && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", family_table[i]->name);
}

void engine_family_help(FILE *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(family_table); i++)
		fprintf(out, "  %-10s %s\n", family_table[i]->name, family_table[i]->summary);
}

static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == len && !strncmp(p, name, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

bool engine_asked_for(const struct engine_opts *o, const struct family *f)
{
	return o->families && in_list(o->families, f->name);
}

/* Every name of a -F list is a family's. */
static int check_families(const char *list)
{
	char names[128];

	engine_family_names(names, sizeof(names));
	if (!*list) {
		dmaw_warn("-F/--families got an empty list (families: %s)", names);
		return -EINVAL;
	}
	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(family_table); i++)
			known |= strlen(family_table[i]->name) == n &&
				 !strncmp(family_table[i]->name, p, n);
		if (!known || !n) {
			dmaw_warn("unknown probe family '%.*s' in -F (families: %s)", (int)n, p,
				  names);
			return -EINVAL;
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

int engine_option(struct engine_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'v': o->verbose = true; return 1;
	case 'K': o->kprobes = true; return 1;
	case 'D':
	case 'L': o->detail = true; return 1;
	case 'F':
		if (check_families(arg))
			return -1;
		o->families = arg;
		return 1;
	}
	return 0;
}
