/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmatop draws a frame on a canvas of characters and paints; the terminal
 * (ncurses) or batch mode (plain text) shows the canvas, so both modes show
 * the same thing.
 */
#ifndef DMAWATCH_CANVAS_H
#define DMAWATCH_CANVAS_H

#include <stdio.h>

enum paint {
	P_NORMAL,
	P_BAR,  /* column headers, pane titles */
	P_SORT, /* the sorted column's header inside the bar */
	P_TITLE,
	P_OK,
	P_WARN,
	P_BAD,
	P_SEL, /* the selected device */
	P_DIM,
	P_PAINTS,
};

struct canvas {
	int rows, cols;
	int used; /* rows drawn on: what batch mode prints */
	char *ch;
	unsigned char *pt;
};

/* Sizes the canvas and blanks it. 0 or -ENOMEM. */
int canvas_resize(struct canvas *c, int rows, int cols);
/* Frees the cells: the canvas is empty again, as before its first resize. */
void canvas_free(struct canvas *c);
/* Writes s at (y, x), at most w characters (w < 0: to the edge); returns
 * the column after it. Control characters become '?'. */
int cput(struct canvas *c, int y, int x, int w, int paint, const char *s);
int cprintf(struct canvas *c, int y, int x, int paint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Paints columns x0..x1-1 of row y. */
void cpaint(struct canvas *c, int y, int x0, int x1, int paint);
/* The rows drawn on, as text, trailing blanks dropped. */
int canvas_print(const struct canvas *c, FILE *out);

#endif
