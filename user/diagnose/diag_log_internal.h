/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This header declares what the kernel log's own files share: diag_log.c
 * reads and cleans the lines, diag_log_refusal.c matches the refusals,
 * diag_log_match.c matches every other line. The reader's state lives
 * here; nothing outside those files includes it, and they reach the rest
 * of diagnose through diagnose/diagnose.h.
 */
#ifndef DMAWATCH_DIAG_LOG_INTERNAL_H
#define DMAWATCH_DIAG_LOG_INTERNAL_H

#include <stdbool.h>

#include "diagnose/diagnose.h"

#define LINE_MAX_TEXT 1024

struct diag_log_reader {
	struct diag_facts *x;
	/* A "swiotlb buffer is full" line cut short, waiting for the rest. */
	char pending[LINE_MAX_TEXT];
	bool have_pending;
	/* The previous line's text: "DRIVER DEV:" alone on it is the prefix
	 * of a message the paste moved to the next line. */
	char prev[96];
	/* A WARNING/BUG/Oops block being read: its first line, whether a
	 * location or frame in it is the DMA core, and that line. */
	bool in_oops;
	unsigned oops_lines;
	char oops_head[DIAG_LINE], oops_dma[DIAG_LINE];
	/* The device of the last refusal and the lines read since: the next
	 * two may name the disk whose request it was (SCSI's "[sda] ...
	 * submit err", the block layer's "I/O error, dev sda,"). */
	struct diag_dev *refused;
	unsigned since_refused;
	/* A DMA line no rule knew, held for one line: a paste may have
	 * wrapped it, and joined with the unstamped line after it, it may be
	 * one a rule knows. may_hold: the line being judged may be held;
	 * stamped: it came with a timestamp or log prefix (not a wrapped
	 * line's rest). */
	char held[LINE_MAX_TEXT];
	bool have_held, may_hold, stamped;
};

enum parse { P_NONE, P_PARTIAL, P_OK };

/* "swiotlb buffer is full (sz: S bytes), total T (slots), used U (slots)"
 * and its older forms into f, the message's start into msg and a device
 * the line names into dev; P_PARTIAL when the message ends early. */
enum parse diag_parse_full(const char *text, struct diag_full *f, const char **msg, char *dev,
			   size_t dlen);
/* Handles a refusal line (P_OK); with final false, a line cut short is
 * left P_PARTIAL for the next one to complete. */
enum parse diag_full_line(struct diag_log_reader *r, const char *text, bool final);
/* Every rule but the refusals', for a line that holds none. */
void diag_other_rules(struct diag_log_reader *r, const char *text);
/* Ends the WARNING/BUG block being read, if any, and counts it. */
void diag_oops_end(struct diag_log_reader *r);

#endif
