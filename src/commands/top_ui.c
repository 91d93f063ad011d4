/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka top's full-screen view, drawn with ncurses: keys, resizes, the
 * help overlay, and restoring the terminal on every way out (q, Ctrl-C,
 * SIGTERM, SIGHUP, the target's exit, errors).
 */
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include "../diag.h"
#include "../rec_clock.h"
#include "commands.h"
#include "live.h"
#include "top.h"

static bool curses_on;
static SCREEN *curses_screen;

static void ui_end(void)
{
	if (curses_on) {
		endwin();
		curses_on = false;
	}
	if (curses_screen) {
		delscreen(curses_screen);
		curses_screen = NULL;
	}
}

static const char *const help_lines[] = {
	"peeka top keys",
	"",
	"  1  sort by %Own        3  sort by OwnTime",
	"  2  sort by %Total      4  sort by TotalTime",
	"  L  rows per line / per function",
	"  T  next thread / all threads",
	"  R  reset the counters",
	"  p  pause / resume the display",
	"  ?  this help (any key closes it)",
	"  q  quit (also Ctrl-C)",
	"",
	"%Own/%Total: share of the last interval (100% = one thread).",
	"OwnTime/TotalTime: seconds sampled since the start or R.",
};

static void put_line(int y, const char *s, int attr)
{
	move(y, 0);
	clrtoeol();
	if (attr)
		attron(attr);
	addnstr(s, COLS);
	if (attr)
		attroff(attr);
}

static void draw_small(void)
{
	char msg[96];

	erase();
	snprintf(msg, sizeof(msg), "terminal too small (%dx%d): peeka top needs %dx%d",
		 COLS, LINES, TOP_MIN_COLS, TOP_MIN_LINES);
	mvaddnstr(0, 0, msg, COLS);
	refresh();
}

static void draw(struct top_state *s, bool help)
{
	char h[3][512], line[1024];
	const struct top_row *rows;
	size_t n;
	int y;

	if (COLS < TOP_MIN_COLS || LINES < TOP_MIN_LINES) {
		draw_small();
		return;
	}
	erase();
	top_view__header(s, h);
	put_line(0, h[0], A_BOLD);
	put_line(1, h[1], 0);
	put_line(2, h[2], 0);
	if (help) {
		for (size_t i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]) &&
				   (int)i + 4 < LINES; i++)
			put_line((int)i + 4, help_lines[i], i ? 0 : A_BOLD);
		refresh();
		return;
	}
	top_view__titles(s, line, sizeof(line));
	put_line(4, line, A_REVERSE);
	rows = top_model__rows(top_state__model(s), &n);
	for (y = 5; y < LINES && (size_t)(y - 5) < n; y++) {
		top_view__row(s, &rows[y - 5], line, sizeof(line));
		put_line(y, line, 0);
	}
	if (!n)
		put_line(5, s->o->idle ? "(no samples yet)"
			 : "(no samples yet: every thread is idle; --idle shows them)", 0);
	refresh();
}

/* Handle one key.  Returns true to quit. */
static bool on_key(struct top_state *s, int c, bool *help, bool *redraw,
		   int *quit_err)
{
	bool rebuild = false;

	if (*help && c != KEY_RESIZE) {
		*help = false;
		*redraw = true;
		return c == 'q' || c == 'Q';
	}
	switch (c) {
	case 'q':
	case 'Q':
		return true;
	case '1':
	case '2':
	case '3':
	case '4':
		s->mo.sort = (enum top_sort)(c - '1');
		top_model__sort(top_state__model(s), s->mo.sort);
		break;
	case 'L':
	case 'l':
		s->by_line = !s->by_line;
		rebuild = true;
		break;
	case 'T':
	case 't':
		top_state__next_thread(s);
		rebuild = true;
		break;
	case 'R':
	case 'r':
		if (top_state__reset(s))
			return *quit_err = -ENOMEM, true;
		rebuild = true;
		break;
	case 'p':
	case 'P':
	case ' ':
		s->paused = !s->paused;
		break;
	case '?':
	case 'h':
		*help = true;
		break;
	case KEY_RESIZE:
		break;
	default:
		return false;
	}
	if (rebuild && top_state__rebuild(s))
		return *quit_err = -ENOMEM, true;
	*redraw = true;
	return false;
}

/*
 * Wait for the next sample deadline, or a key.  Returns 1 when a key is
 * waiting, 0 at the deadline, -1 when the terminal is gone.
 */
static int wait_input(uint64_t deadline)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	uint64_t now = rec_clock__now();
	struct timespec ts = { 0, 0 };
	int ret;

	if (deadline > now) {
		ts.tv_sec = (time_t)((deadline - now) / 1000000000ULL);
		ts.tv_nsec = (long)((deadline - now) % 1000000000ULL);
	}
	ret = ppoll(&pfd, 1, &ts, NULL);
	if (ret < 0)
		return errno == EINTR ? 1 : 0;  /* SIGWINCH: getch has KEY_RESIZE */
	if (ret == 0)
		return 0;
	if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
		return -1;
	return 1;
}

static int loop(struct top_state *s)
{
	uint64_t period = (uint64_t)(1e9 / s->o->rate);
	uint64_t refresh_every = (uint64_t)(s->o->delay * 1e9);
	uint64_t next_sample = rec_clock__now();
	uint64_t next_refresh = next_sample + refresh_every;
	bool help = false, redraw;
	int c, err = CMD_OK;

	top_state__refresh(s);
	draw(s, false);
	while (!live_stop) {
		redraw = false;
		switch (wait_input(next_sample)) {
		case -1:
			return CMD_OK;  /* the terminal hung up */
		case 1:
			while ((c = getch()) != ERR)
				if (on_key(s, c, &help, &redraw, &err))
					return err;
			break;
		default:
			break;
		}
		if (rec_clock__now() >= next_sample) {
			if (top_state__sample(s) == -ESRCH)
				return -ESRCH;
			next_sample += period;
			/* Overrun: skip missed deadlines rather than bunch. */
			if (next_sample < rec_clock__now())
				next_sample = rec_clock__now() + period;
		}
		if (rec_clock__now() >= next_refresh) {
			if (!s->paused && top_state__refresh(s))
				return -ENOMEM;
			next_refresh += refresh_every;
			if (next_refresh < rec_clock__now())
				next_refresh = rec_clock__now() + refresh_every;
			redraw = !s->paused || redraw;
		}
		if (redraw)
			draw(s, help);
	}
	return CMD_OK;
}

int top_ui__run(struct top_state *s)
{
	SCREEN *screen;
	int ret, cols, lines;

	setlocale(LC_CTYPE, "");
	/* newterm, unlike initscr, returns NULL instead of exiting. */
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		error("cannot start the full-screen view (TERM=%s)",
		      getenv("TERM") ? getenv("TERM") : "unset");
		hint("use --once, or pipe the output, for plain-text snapshots");
		return CMD_FAILED;
	}
	curses_on = true;
	curses_screen = screen;
	atexit(ui_end);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	cols = COLS;
	lines = LINES;
	if (cols < TOP_MIN_COLS || lines < TOP_MIN_LINES) {
		ui_end();
		error("the terminal is %dx%d; peeka top needs at least %dx%d",
		      cols, lines, TOP_MIN_COLS, TOP_MIN_LINES);
		hint("enlarge the window, or use --once for a plain-text snapshot");
		return CMD_FAILED;
	}
	ret = loop(s);
	ui_end();
	if (ret == -ESRCH) {
		top_state__refresh(s);
		top_view__print(stdout, s, (size_t)(lines > 8 ? lines - 8 : 1));
		fprintf(stderr, "peeka: process %d exited\n", s->pp->pid);
		return CMD_OK;
	}
	if (ret == -ENOMEM)
		return error("out of memory"), CMD_FAILED;
	return ret;
}
