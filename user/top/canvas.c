// SPDX-License-Identifier: GPL-2.0
/* The character canvas dmatop draws on: see canvas.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top/canvas.h"

int canvas_resize(struct canvas *c, int rows, int cols)
{
	if (rows != c->rows || cols != c->cols) {
		char *ch = realloc(c->ch, (size_t)rows * cols);
		unsigned char *pt;

		if (!ch)
			return -ENOMEM;
		c->ch = ch;
		pt = realloc(c->pt, (size_t)rows * cols);
		if (!pt)
			return -ENOMEM;
		c->pt = pt;
		c->rows = rows;
		c->cols = cols;
	}
	memset(c->ch, ' ', (size_t)rows * cols);
	memset(c->pt, P_NORMAL, (size_t)rows * cols);
	c->used = 0;
	return 0;
}

void canvas_free(struct canvas *c)
{
	free(c->ch);
	free(c->pt);
	*c = (struct canvas){};
}

int cput(struct canvas *c, int y, int x, int w, int paint, const char *s)
{
	if (y < 0 || y >= c->rows)
		return x;
	if (y >= c->used)
		c->used = y + 1;
	for (; *s && x < c->cols && w != 0; s++, x++, w--) {
		if (x < 0)
			continue;
		c->ch[y * c->cols + x] = isprint((unsigned char)*s) ? *s : '?';
		c->pt[y * c->cols + x] = paint;
	}
	return x;
}

int cprintf(struct canvas *c, int y, int x, int paint, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return cput(c, y, x, -1, paint, buf);
}

void cpaint(struct canvas *c, int y, int x0, int x1, int paint)
{
	if (y < 0 || y >= c->rows)
		return;
	if (y >= c->used)
		c->used = y + 1;
	for (int x = x0 < 0 ? 0 : x0; x < x1 && x < c->cols; x++)
		c->pt[y * c->cols + x] = paint;
}

int canvas_print(const struct canvas *c, FILE *out)
{
	for (int y = 0; y < c->used; y++) {
		const char *line = &c->ch[y * c->cols];
		int len = c->cols;

		while (len > 0 && line[len - 1] == ' ')
			len--;
		fprintf(out, "%.*s\n", len, line);
	}
	return 0;
}
