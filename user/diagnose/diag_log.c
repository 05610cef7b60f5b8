// SPDX-License-Identifier: GPL-2.0
/*
 * This file reads the kernel log for diagnose, line by line, as the kernel
 * wrote it or as a person pasted it into a bug report. It first cleans
 * each line of what surrounds the kernel's text (dmesg's "[ 12.3]" and
 * "<4>", the printk caller id "[  T42]", journalctl's and syslog's "Sep 08
 * 10:12:31 host kernel:", ISO dates, dmesg -T's "[Tue Sep  8 ...]", dmesg
 * -x's "kern  :warn  :", quoting "> ", "**", backticks, CRLF, NUL bytes),
 * then hands it to the matchers (diag_log_refusal.c, diag_log_match.c). It
 * joins again a message the kernel printed on one line but the paste
 * wrapped onto two. It holds nothing but the facts, so it reads a log of
 * any size in one pass.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/diag_log_internal.h"
#include "diagnose/diagnose.h"

/* ---- cleaning a pasted line ---- */

/* "[...]" holding a dmesg time stamp ("    12.345678"), a caller id
 * ("T123", "C2") or dmesg -T's date ("Tue Sep  8 10:12:31 2024"). */
static size_t stamp_bracket(const char *p)
{
	const char *close = *p == '[' ? strchr(p, ']') : NULL;
	size_t n, digits = 0, alpha = 0;
	const char *in;

	if (!close || close - p > 40 || close == p + 1)
		return 0;
	n = close - p - 1;
	in = p + 1;
	while (*in == ' ')
		in++;
	if ((*in == 'T' || *in == 'C') && strspn(in + 1, "0123456789") == (size_t)(close - in - 1))
		return close - p + 1;
	for (const char *c = in; c < close; c++) {
		if (isdigit((unsigned char)*c))
			digits++;
		else if (isalpha((unsigned char)*c))
			alpha++;
		else if (!strchr(" .:-+,/", *c))
			return 0;
	}
	/* "[Tue Sep  8 10:12:31 2024]": letters only as day and month names. */
	if (alpha && !(alpha <= 6 && digits >= 3 && strchr(in, ':') && strchr(in, ':') < close))
		return 0;
	return digits && n ? (size_t)(close - p + 1) : 0;
}

/* syslog's "Sep  8 10:12:31 host kernel: ", journalctl's, rsyslog's ISO
 * "2024-09-08T10:12:31.123+00:00 host kernel: ": a time (dd:dd) before
 * " kernel:" near the start of the line. Returns the length to skip. */
static size_t syslog_prefix(const char *p)
{
	const char *k = strstr(p, " kernel:");
	const char *colon;

	if (!k || k - p > 100)
		return 0;
	colon = strchr(p, ':');
	if (!colon || colon > k || colon == p || !isdigit((unsigned char)colon[-1]) ||
	    !isdigit((unsigned char)colon[1]))
		return 0;
	return k - p + strlen(" kernel:");
}

/* grep -n's "1234:" before a time stamp, and journalctl -o
 * short-monotonic's "host kernel: " after one (the time is gone by then). */
static size_t grep_prefix(const char *p)
{
	size_t n = strspn(p, "0123456789"), w;

	if (n && p[n] == ':' && p[n + 1] == '[')
		return n + 1;
	w = strcspn(p, " :[");
	if (w && !strncmp(p + w, " kernel: ", 9))
		return w + 9;
	return 0;
}

/* dmesg -x: "kern  :warn  : " */
static size_t facility_prefix(const char *p)
{
	size_t a = strspn(p, "abcdefghijklmnopqrstuvwxyz"), b;

	if (!a || a > 8)
		return 0;
	b = a + strspn(p + a, " ");
	if (p[b] != ':')
		return 0;
	b++;
	a = strspn(p + b, "abcdefghijklmnopqrstuvwxyz");
	if (!a || a > 8)
		return 0;
	b += a;
	b += strspn(p + b, " ");
	return p[b] == ':' ? b + 1 : 0;
}

/* The kernel's text of a pasted line, in place: what surrounds it removed. */
/* A shell prompt and the reporter's command ("root@host:~# dmesg | grep
 * -i tlb", "[me@host ~]$ sudo dmesg", "$ journalctl -k"), or the command
 * alone once a "# " prompt went with the quoting: not the kernel's. */
static bool shell_line(const char *p)
{
	static const char *const commands[] = { "dmesg",  "sudo ",  "journalctl ", "grep ",
						"egrep ", "zgrep ", "cat /" };
	size_t word = strcspn(p, " ");
	const char *end;

	if (word > 1 && (p[word - 1] == '#' || p[word - 1] == '$') && memchr(p, '@', word))
		return true;
	if (*p == '[' && (end = strchr(p, ']')) && end - p < 64 && memchr(p, '@', end - p) &&
	    (end[1] == '#' || end[1] == '$'))
		return true;
	if (p[0] == '$' && p[1] == ' ')
		return true;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		size_t n = strlen(commands[i]);

		if (!strncmp(p, commands[i], n) &&
		    (commands[i][n - 1] == ' ' || commands[i][n - 1] == '/' || !p[n] ||
		     strchr(" |", p[n])))
			return true;
	}
	return false;
}

static char *clean(char *line)
{
	char *p = line, *end;
	size_t skip;

	/* Colour (ESC [ ... letter, from dmesg --color or journalctl) goes;
	 * other control bytes become spaces. */
	for (char *c = line, *out = line;; c++) {
		if (*c == 0x1b && c[1] == '[') {
			c += 2;
			while (*c && !(*c >= '@' && *c <= '~'))
				c++;
			if (!*c) {
				*out = 0;
				break;
			}
			continue;
		}
		*out++ = *c && (unsigned char)*c < ' ' ? ' ' : *c;
		if (!*c)
			break;
	}
	do {
		skip = strspn(p, " >|*`\"'#");
		if (!skip && *p == '<' && isdigit((unsigned char)p[1]) && strchr(p, '>') &&
		    strchr(p, '>') - p <= 4)
			skip = strchr(p, '>') - p + 1;
		if (!skip)
			skip = stamp_bracket(p);
		if (!skip)
			skip = syslog_prefix(p);
		if (!skip)
			skip = facility_prefix(p);
		if (!skip)
			skip = grep_prefix(p);
		p += skip;
	} while (skip);
	end = p + strlen(p);
	while (end > p && strchr(" *`\"'", end[-1]))
		*--end = 0;
	return shell_line(p) ? end : p;
}

/* ---- the lines ---- */

/* A whole line: a refusal, else the other rules. */
static void line_text(struct diag_log_reader *r, const char *text)
{
	if (diag_full_line(r, text, true) != P_OK)
		diag_other_rules(r, text);
}

/* Could the line matter to any rule? One pass over its characters
 * with a word per first letter, so that a log of millions of lines of
 * other drivers' chatter costs little more than reading it. Every rule's
 * line holds one of these words. */
static bool worth_reading(const char *text)
{
	static const char *const words[] = {
		"swiotlb",
		"SWIOTLB",
		"SW-IOMMU",
		"SEV",
		"SNP: ",
		"sev-guest",
		"scheduling while",
		"IO TLB",
		"I/O error",
		"INFO: task",
		"dma",
		"DMA",
		"Linux version",
		"Command line",
		"Call Trace",
		"Call trace",
		"Memory Encryption",
		"Memory encryption",
		"tdx",
		"TDX",
		"RME:",
		"blocked for more",
		"bounce",
		"VIRTIO_F_ACCESS",
		"WARNING",
		"BUG",
		"Oops",
		"general protection",
		"Unable to handle",
		"Kernel panic",
		"Kernel command line",
		"end trace",
		"Failed to allocate new pool",
		"callbacks suppressed",
		"overflow",
		"Out of SW-IOMMU",
		"AMD Secure Encrypted",
	};
	enum { NWORDS = sizeof(words) / sizeof(words[0]), PER_LETTER = 8 };
	/* The words of each first letter. */
	static unsigned char by_first[256][PER_LETTER], n_first[256];
	static size_t len[NWORDS];
	static bool ready;

	if (!ready) {
		for (int i = 0; i < NWORDS; i++) {
			unsigned char c = words[i][0];

			len[i] = strlen(words[i]);
			if (n_first[c] < PER_LETTER)
				by_first[c][n_first[c]++] = i;
		}
		ready = true;
	}
	for (const char *c = text; *c; c++) {
		unsigned char k = *c;

		/* Every word has two letters or more; c[1] is at most the NUL,
		 * and strncmp stops there where the text is shorter. */
		for (int n = 0; n < n_first[k]; n++) {
			int i = by_first[k][n];

			if (words[i][1] == c[1] && !strncmp(c, words[i], len[i]))
				return true;
		}
	}
	return false;
}

/* A disk named by one of the two lines after a refusal: SCSI's "sd
 * H:C:T:L: [sda] ..." about a failed submission, or the block layer's
 * "I/O error, dev sda,". Kept on the refused device (only the first). */
static void refused_disk(struct diag_log_reader *r, const char *text)
{
	struct diag_dev *d = r->refused;
	const char *m, *end = NULL;
	size_t n;

	if (!d || ++r->since_refused > 2 || d->log_disk[0])
		return;
	if ((m = strstr(text, ": [")) && strstr(text, "submit err")) {
		m += 3;
		end = strchr(m, ']');
	} else if ((m = strstr(text, "I/O error, dev "))) {
		m += 15;
		end = strchr(m, ',');
	}
	if (!end)
		return;
	n = end - m;
	if (!n || n >= sizeof(d->log_disk) ||
	    strspn(m, "abcdefghijklmnopqrstuvwxyz0123456789") != n)
		return;
	memcpy(d->log_disk, m, n);
	d->log_disk[n] = 0;
	diag_copy_line(d->log_disk_line, sizeof(d->log_disk_line), text);
}

/* One cleaned line: joined with the pending one when that was a refusal
 * the paste cut short, with a space or without (a number split in two). */
static void cleaned(struct diag_log_reader *r, const char *text)
{
	if (r->have_held) {
		struct diag_log *l = &r->x->log;
		char joined[2 * LINE_MAX_TEXT + 2];
		unsigned unknown = l->unknown;

		r->have_held = false;
		if (!r->stamped && *text) {
			snprintf(joined, sizeof(joined), "%s %s", r->held, text);
			line_text(r, joined);
			if (l->unknown == unknown)
				return; /* a rule knew the two as one */
			l->unknown = unknown;
		}
		line_text(r, r->held);
	}
	if (r->have_pending) {
		char joined[2 * LINE_MAX_TEXT + 2];
		struct diag_full f;
		const char *msg;
		char dev[64];

		r->have_pending = false;
		for (int glue = 0; glue < 2; glue++) {
			snprintf(joined, sizeof(joined), "%s%s%s", r->pending, glue ? "" : " ",
				 text);
			if (diag_parse_full(joined, &f, &msg, dev, sizeof(dev)) != P_PARTIAL) {
				line_text(r, joined);
				return;
			}
		}
		line_text(r, r->pending);
	}
	refused_disk(r, text);
	/* A message's "DRIVER DEV:" alone on its line is kept for the next. */
	if (!r->in_oops && !worth_reading(text)) {
		size_t n = strlen(text);

		if (n > 1 && n < sizeof(r->prev) && text[n - 1] == ':')
			memcpy(r->prev, text, n + 1);
		else
			r->prev[0] = 0;
		return;
	}
	switch (diag_full_line(r, text, false)) {
	case P_PARTIAL:
		diag_copy_line(r->pending, sizeof(r->pending), text);
		r->have_pending = true;
		return;
	case P_NONE:
		r->may_hold = !r->in_oops;
		diag_other_rules(r, text);
		r->may_hold = false;
		break;
	case P_OK: break;
	}
	diag_copy_line(r->prev, sizeof(r->prev), text);
}

struct diag_log_reader *diag_log_begin(struct diag_facts *x)
{
	struct diag_log_reader *r = calloc(1, sizeof(*r));

	if (r)
		r->x = x;
	return r;
}

void diag_log_line(struct diag_log_reader *r, const char *line, size_t len)
{
	char buf[LINE_MAX_TEXT];
	const char *text;

	struct diag_log *l;

	if (!r)
		return;
	l = &r->x->log;
	l->lines++;
	l->bytes += len + 1;
	if (memmem(line, len, "swiotlb buffer is full", 22) || memmem(line, len, "SW-IOMMU", 8)) {
		if (!l->key_lines++) {
			size_t n = len < DIAG_LINE - 1 ? len : DIAG_LINE - 1;

			memcpy(l->key_line, line, n);
			l->key_line[n] = 0;
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)l->key_line[i] < ' ')
					l->key_line[i] = ' ';
		}
	}
	/* A kernel line is at most 1 KiB (PRINTK_MESSAGE_MAX); a longer one
	 * is cut, and its start is what the rules read. */
	len = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = 0;
	for (size_t i = 0; i < len; i++)
		if (!buf[i])
			buf[i] = ' ';
	text = clean(buf);
	r->stamped = text != buf + strspn(buf, " ");
	cleaned(r, text);
}

void diag_log_end(struct diag_log_reader *r)
{
	if (!r)
		return;
	if (r->have_pending) {
		r->have_pending = false;
		line_text(r, r->pending);
	}
	if (r->have_held) {
		r->have_held = false;
		line_text(r, r->held);
	}
	diag_oops_end(r);
	free(r);
}

void diag_parse_log(struct diag_facts *x, const char *log)
{
	struct diag_log_reader *r = diag_log_begin(x);

	for (const char *p = log; p && *p;) {
		const char *end = strchrnul(p, '\n');

		diag_log_line(r, p, end - p);
		p = *end ? end + 1 : end;
	}
	diag_log_end(r);
}

void diag_parse_log_file(struct diag_facts *x, FILE *f)
{
	struct diag_log_reader *r = diag_log_begin(x);
	char *buf = malloc(1 << 16);
	size_t have = 0, n;

	if (!buf || !r) {
		free(buf);
		diag_log_end(r);
		return;
	}
	/* 64 KiB at a time; a line longer than that is cut where it fills
	 * the buffer. NUL bytes are data like any other. */
	while ((n = fread(buf + have, 1, (1 << 16) - have, f)) > 0 || have) {
		char *p = buf, *nl;

		have += n;
		while ((nl = memchr(p, '\n', buf + have - p))) {
			diag_log_line(r, p, nl - p);
			p = nl + 1;
		}
		have -= p - buf;
		if (p == buf && have == 1 << 16) {
			diag_log_line(r, buf, have);
			have = 0;
		} else if (!n && have) {
			diag_log_line(r, p, have);
			have = 0;
		} else {
			memmove(buf, p, have);
		}
		if (!n)
			break;
	}
	free(buf);
	diag_log_end(r);
}
