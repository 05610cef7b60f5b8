// SPDX-License-Identifier: GPL-2.0
/*
 * dmatop's terminal: ncurses and its colours, the SIGWINCH pipe that
 * makes a resize redraw at once, the canvas shown on the screen, the keys
 * and the filter prompt. The only file of dmatop that knows ncurses.
 */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "top/canvas.h"
#include "top/top.h"
#include "top/topmodel.h"
#include "util.h"

static bool curses_active;

static void curses_end(void)
{
	if (curses_active) {
		curses_active = false;
		endwin();
	}
}

static int winch_fd = -1;

static void on_winch(int sig)
{
	int saved = errno;

	(void)sig;
	/* A full pipe already says "resized". */
	if (winch_fd >= 0 && write(winch_fd, "w", 1) < 0)
		(void)0;
	errno = saved;
}

static attr_t paint_attr(const struct top *t, int p)
{
	switch (p) {
	case P_BAR: return t->colors ? COLOR_PAIR(1) : A_REVERSE;
	case P_SORT: return (t->colors ? COLOR_PAIR(1) : A_REVERSE) | A_BOLD | A_UNDERLINE;
	case P_TITLE: return A_BOLD;
	case P_OK: return t->colors ? COLOR_PAIR(4) : A_NORMAL;
	case P_WARN: return t->colors ? COLOR_PAIR(2) | A_BOLD : A_BOLD;
	case P_BAD: return t->colors ? COLOR_PAIR(3) | A_BOLD : A_BOLD | A_UNDERLINE;
	case P_SEL: return A_REVERSE;
	case P_DIM: return t->colors ? COLOR_PAIR(5) : A_NORMAL;
	default: return A_NORMAL;
	}
}

int top_term_start(struct top *t)
{
	struct sigaction sa = { .sa_handler = on_winch };

	/* newterm, unlike initscr, returns an error instead of exiting. */
	if (!newterm(NULL, stdout, stdin)) {
		dmaw_warn("top: cannot drive the terminal (TERM=%s): is its terminfo "
			  "installed? 'dmatop -b' prints text instead",
			  getenv("TERM") ?: "");
		return -ENOTTY;
	}
	curses_active = true;
	atexit(curses_end);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	t->colors = has_colors() && start_color() == OK;
	if (t->colors) {
		short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;

		init_pair(1, COLOR_BLACK, COLOR_CYAN);
		init_pair(2, COLOR_YELLOW, bg);
		init_pair(3, COLOR_RED, bg);
		init_pair(4, COLOR_GREEN, bg);
		init_pair(5, COLOR_CYAN, bg);
	}
	/* The loop watches one fd: an epoll set of the keyboard and a pipe the
	 * SIGWINCH handler writes to, so a resize redraws at once. */
	if (pipe2(t->winch_pipe, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = i ? t->winch_pipe[0] : STDIN_FILENO;

		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
	}
	winch_fd = t->winch_pipe[1];
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGWINCH, &sa, NULL);
	return 0;
}

void top_term_stop(struct top *t)
{
	curses_end();
	winch_fd = -1;
	if (t->epfd >= 0)
		close(t->epfd);
	t->epfd = -1;
	for (int i = 0; i < 2; i++) {
		if (t->winch_pipe[i] >= 0)
			close(t->winch_pipe[i]);
		t->winch_pipe[i] = -1;
	}
}

static void blit(struct top *t)
{
	struct canvas *c = &t->cv;

	for (int y = 0; y < c->rows; y++) {
		/* Never the bottom-right cell: writing it scrolls some terminals. */
		int end = y == c->rows - 1 ? c->cols - 1 : c->cols;

		for (int x = 0; x < end;) {
			int p = c->pt[y * c->cols + x], run = 1;

			while (x + run < end && c->pt[y * c->cols + x + run] == p)
				run++;
			attrset(paint_attr(t, p));
			mvaddnstr(y, x, &c->ch[y * c->cols + x], run);
			x += run;
		}
	}
	attrset(A_NORMAL);
	if (t->prompt) {
		move(c->rows - 1, (int)strlen("Filter devices: ") + (int)strlen(t->input));
		curs_set(1);
	} else {
		curs_set(0);
	}
	refresh();
}

void top_term_redraw(struct top *t)
{
	if (!t->have_cur || canvas_resize(&t->cv, LINES, COLS))
		return;
	top_draw_screen(t, &t->cv);
	blit(t);
}

static void resized(void)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col &&
	    (ws.ws_row != LINES || ws.ws_col != COLS))
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

/* ---- keys ----------------------------------------------------------------- */

static void move_selection(struct top *t, int by)
{
	size_t n =
		top_rows(t->have_prev ? t->prev : NULL, t->cur, t->filter, t->rows, TOP_MAX_ROWS);
	int i;

	if (!n)
		return;
	top_sort_rows(t->rows, n, t->sort);
	i = top_find_selected(t->rows, n, t->selected) + by;
	i = i < 0 ? 0 : i >= (int)n ? (int)n - 1 : i;
	memcpy(t->selected, t->rows[i].name, sizeof(t->selected));
}

/* A key typed at the filter prompt. */
static void prompt_key(struct top *t, int ch)
{
	size_t len = strlen(t->input);

	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		snprintf(t->filter, sizeof(t->filter), "%s", t->input);
		t->prompt = false;
	} else if (ch == 27) {
		t->prompt = false;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (len)
			t->input[len - 1] = 0;
	} else if (ch == 21) { /* Ctrl-U */
		t->input[0] = 0;
	} else if (ch > 32 && ch < 127 && len + 1 < sizeof(t->input)) {
		t->input[len] = ch;
		t->input[len + 1] = 0;
	}
}

/* Acts on one key press. Returns non-zero to quit. */
static int top_handle_key(struct top *t, int ch)
{
	if (t->prompt) {
		prompt_key(t, ch);
		return 0;
	}
	if (t->help && ch != 'q' && ch != KEY_RESIZE) {
		t->help = false;
		return 0;
	}
	switch (ch) {
	case 'q':
	case 'Q': return 1;
	case 's': t->sort = (t->sort + 1) % TOP_SORTS; break;
	case 'S': t->sort = (t->sort + TOP_SORTS - 1) % TOP_SORTS; break;
	case '/':
		t->prompt = true;
		snprintf(t->input, sizeof(t->input), "%s", t->filter);
		break;
	case 'p':
	case ' ':
		t->paused = !t->paused;
		t->frozen_events = t->events.n;
		memcpy(t->frozen_by_kind, t->events.by_kind, sizeof(t->events.by_kind));
		break;
	case 'h':
	case '?': t->help = true; break;
	case 'd': t->hist = !t->hist; break;
	case 'j':
	case KEY_DOWN: move_selection(t, 1); break;
	case 'k':
	case KEY_UP: move_selection(t, -1); break;
	case KEY_RESIZE: resized(); break;
	case 12: /* Ctrl-L */ clearok(curscr, TRUE); break;
	}
	return 0;
}

int top_term_input(void *ctx)
{
	struct top *t = ctx;
	char drain[16];
	int ch, quit = 0;

	while (read(t->winch_pipe[0], drain, sizeof(drain)) > 0)
		resized();
	while (!quit && (ch = getch()) != ERR)
		quit = top_handle_key(t, ch);
	if (!quit)
		top_term_redraw(t);
	return quit;
}
