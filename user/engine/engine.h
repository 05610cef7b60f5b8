/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine every subcommand runs on: calibrate the hooks the families
 * declare, choose and enable their programs (engine/choose.c), share the
 * common maps, load each family through its own skeleton, attach
 * (engine.c), explain what failed (engine/explain.c), read the maps into
 * a snapshot and deliver events (engine/read.c), tear down. Families plug
 * in through family/family.h and one line in family/families.h;
 * subcommands only see this header.
 */
#ifndef DMAWATCH_ENGINE_H
#define DMAWATCH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/calibrate.h"
#include "engine/snapshot.h"
#include "family/family.h"

struct bpf_link;
struct ksyms;
struct ring_buffer;

typedef int (*event_fn)(void *ctx, const struct dmaw_event *ev);

struct attach_note {
	const char *family;
	const char *hook;      /* function or tracepoint */
	enum attach_kind kind; /* what was chosen; ATTACH_NONE: not attached */
	char detail[112];      /* why: "fentry refused (-524), kprobe used" */
};

#define ENGINE_MAX_FAMILIES FAMILY_IDS
#define ENGINE_MAX_HOOKS 16 /* per family */
#define ENGINE_MAX_NOTES 64
#define ENGINE_MAX_LINKS 64

/* The engine's view of one family's hooks. */
struct fam_hooks {
	enum attach_kind kind[ENGINE_MAX_HOOKS];
	const char *target[ENGINE_MAX_HOOKS]; /* the function name found */
};

/* What the command line asks of the engine (-v, -K, -D, -F): parsed by
 * engine_option(), handed to engine_start() and engine_plan(), which keep
 * a copy the families read (f->e->opts). */
struct engine_opts {
	bool verbose; /* libbpf's messages, start-up times */
	bool kprobes; /* the kprobe twins even where fentry attaches */
	/* The per-mapping extras: releases, processes, DMA-API page calls,
	 * timing and sync copies. Off by default: they put more programs,
	 * and more work, on every mapping. */
	bool detail;
	const char *families; /* comma-separated families to load; NULL: all */
};

/* The engine's options for getopt_long(), as dmawatch takes them before the
 * command and dmatop among its own. */
#define ENGINE_SHORTOPTS "vKDLF:"
#define ENGINE_LONG_OPTIONS                                                                  \
	{ "verbose", no_argument, NULL, 'v' }, { "kprobes", no_argument, NULL, 'K' },        \
		{ "detail", no_argument, NULL, 'D' }, { "latency", no_argument, NULL, 'L' }, \
	{                                                                                    \
		"families", required_argument, NULL, 'F'                                     \
	}

/* The maps family/common.bpf.h defines in every object; the first loaded
 * family's instances are shared by all (engine.c's shared_map_names). */
enum shared_map {
	SHARED_EVENTS,      /* the ring buffer of events */
	SHARED_EVENT_DROPS, /* events it had no room for */
	SHARED_PROC_STATS,  /* per-process counts */
	SHARED_POOL_PEAK,   /* the default pool's most slots seen in use */
	SHARED_MAPS
};

struct engine {
	struct engine_opts opts;
	struct features feat;
	struct ksyms *ksyms;
	struct family_run runs[ENGINE_MAX_FAMILIES];
	struct fam_hooks hooks[ENGINE_MAX_FAMILIES];
	size_t nruns;
	struct ring_buffer *rb;
	/* The maps of family/common.bpf.h every family shares, by enum
	 * shared_map (fds owned here, -1 until the first family loads). */
	int shared_fd[SHARED_MAPS];
	/* What every object's .rodata gets (family/common.bpf.h). */
	struct family_rodata rodata;
	event_fn on_event;
	void *event_ctx;
	struct {
		struct bpf_link *link;
		size_t fam;
	} links[ENGINE_MAX_LINKS];
	int nlinks;
	struct attach_note notes[ENGINE_MAX_NOTES];
	int nnotes;
	/* Devices removed while running, across reads (engine_read()). */
	struct departed *departed;
};

/* Calibrates, loads and attaches every family that can run. Returns 0, or
 * a negative errno after printing one line naming the cause and the fix:
 * when no family runs, or one named by -F does not. */
int engine_start(struct engine *e, const struct engine_opts *o, event_fn on_event, void *ctx);
/* Calibrates and lets every family choose its programs, without loading:
 * the notes say what engine_start() would do. engine_stop() cleans up. */
int engine_plan(struct engine *e, const struct engine_opts *o);
/* Detaches and unloads everything; safe after a failed start. */
void engine_stop(struct engine *e);
int engine_read(struct engine *e, struct snapshot *s);
/* The fd to wait on (epoll) for events; then engine_consume() delivers. */
int engine_event_fd(const struct engine *e);
/* Delivers the events waiting, without waiting. */
int engine_consume(struct engine *e);

/* "swiotlb, dmamap, ...": every family's name, for messages and help. */
void engine_family_names(char *buf, size_t len);
/* One line per family: its name and what it watches. */
void engine_family_help(FILE *out);
/* Takes one of the engine's options into o (getopt's c and optarg): 1 when
 * c was one of them, 0 when not, -1 after saying what was wrong with its
 * value (an unknown family in -F LIST). */
int engine_option(struct engine_opts *o, int c, const char *arg);
/* Family f was asked for by name (-F): its failure is the command's. */
bool engine_asked_for(const struct engine_opts *o, const struct family *f);

/* For every entry of a per-CPU hash map (an fd): calls fn with the key
 * and the ncpus per-CPU copies of its value (each value_size rounded up
 * to 8). Stops when fn returns non-zero. */
typedef int (*percpu_entry_fn)(void *ctx, const void *key, const void *percpu, int ncpus);
int read_percpu_hash(int map_fd, size_t key_size, size_t value_size, percpu_entry_fn fn, void *ctx);

/* libbpf's messages on stderr with verbose only (verifier logs included);
 * the commands that load their own skeleton (enforce) call it too. */
void engine_libbpf_messages(bool verbose);

#endif
