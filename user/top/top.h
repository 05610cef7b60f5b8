/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmatop's state, shared by the files that run it: top.c (options and the
 * loop's ticks), top_draw.c (the panes and batch mode) and top_term.c (the
 * terminal and its keys). The model of a frame is topmodel.h.
 */
#ifndef DMAWATCH_TOP_H
#define DMAWATCH_TOP_H

#include <stdbool.h>

#include "cc.h"
#include "engine/snapshot.h"
#include "out/json.h"
#include "top/canvas.h"
#include "top/topmodel.h"

/* Room for every row top_rows() makes: one per device, and one per
 * virtqueue whose DMA device bounced nothing. */
#define TOP_MAX_ROWS (SNAP_MAX_DEVS + SNAP_MAX_VQS)

struct top {
	/* options */
	bool batch, json;
	char filter[DMAW_DEV_NAME_LEN];
	/* what does not change */
	char kernel[65];
	struct cc_state cc;
	/* the interval shown (frozen while paused) */
	struct snapshot *prev, *cur;
	bool have_prev, have_cur;
	/* events since start; the count and the kinds when the display paused */
	struct top_events events;
	__u64 frozen_events, frozen_by_kind[TOP_EVENT_KINDS];
	__u64 batch_seen; /* events up to here are in a batch frame already */
	/* processes of the interval shown, ranked */
	struct top_procs procs;
	/* the terminal */
	bool paused, help, hist, prompt;
	enum top_sort sort;
	char input[DMAW_DEV_NAME_LEN];
	char selected[DMAW_DEV_NAME_LEN];
	int sel;
	struct canvas cv;
	int winch_pipe[2];
	int epfd;
	bool colors;
	/* scratch */
	struct top_row rows[TOP_MAX_ROWS];
	struct json j;
	int err; /* why a tick stopped the loop */
};

/* top_draw.c: the live view's frame on c, sized to the terminal. */
void top_draw_screen(struct top *t, struct canvas *c);
/* top_draw.c: batch mode's text frame of the interval, to stdout. 0,
 * -ENOMEM or -EIO (stdout failed: a closed pipe). */
int top_draw_batch(struct top *t);

/* top_term.c: takes the terminal (ncurses, colours, the SIGWINCH pipe and
 * an epoll set in t->epfd that the loop watches). 0 or a negative errno,
 * explained on stderr. */
int top_term_start(struct top *t);
/* top_term.c: gives the terminal back and closes the pipe and the epoll
 * set. Safe to call again, and when top_term_start() never ran. */
void top_term_stop(struct top *t);
/* top_term.c: draws the frame and shows it. */
void top_term_redraw(struct top *t);
/* top_term.c: the loop's on_input: reads the keys and resizes, redraws.
 * Non-zero: quit. */
int top_term_input(void *ctx);

#endif
