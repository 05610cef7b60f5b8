/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine every subcommand runs on: calibrate the kernel, open each probe
 * family, choose its programs, share the common maps, load, attach, read the
 * maps into a snapshot, poll events, tear down. Families plug in through
 * struct family (user/<family>.c); subcommands only see this header.
 */
#ifndef DMAWATCH_ENGINE_H
#define DMAWATCH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "calibrate.h"
#include "snapshot.h"

struct engine;
struct bpf_object;
struct bpf_map;
struct bpf_program;
struct bpf_link;
struct ksyms;

/* A probe family's user half. open() opens the skeleton and picks its
 * programs from e->feat (bpf_program__set_autoload), noting each choice
 * with engine_note(); it returns the bpf_object, or NULL with errno set.
 * attach() runs after the engine loaded every object. read() adds the
 * family's maps to a snapshot. */
struct family {
	const char *name;
	struct bpf_object *(*open)(struct engine *e);
	int (*attach)(struct engine *e);
	int (*read)(struct engine *e, struct snapshot *s);
	void (*destroy)(struct engine *e);
};

struct attach_note {
	const char *family;
	const char *hook;       /* function or tracepoint */
	enum attach_kind kind;  /* what was chosen; ATTACH_NONE: not attached */
	char detail[96];        /* why: "fentry refused (-524), kprobe used" */
};

#define ENGINE_MAX_NOTES 48
#define ENGINE_MAX_LINKS 64

struct engine {
	struct features feat;
	struct ksyms *ksyms;
	/* One skeleton pointer per family; each family file owns its own. */
	struct swiotlb_bpf *swiotlb;
	struct dmamap_bpf *dmamap;
	struct virtqueue_bpf *virtqueue;
	struct pool_bpf *pool;
	struct ring_buffer *rb;
	/* The maps of bpf/common.bpf.h every family shares. */
	struct bpf_map *events, *event_drops, *proc_stats;
	struct bpf_link *links[ENGINE_MAX_LINKS];
	int nlinks;
	struct attach_note notes[ENGINE_MAX_NOTES];
	int nnotes;
	bool families_ok[8];
};

/* Attaches every program of obj that is set to load (skip() may exclude
 * some, e.g. programs run with BPF_PROG_TEST_RUN), keeping the links so
 * engine_stop() detaches them; on failure prints which program and why. */
int engine_attach_object(struct engine *e, struct bpf_object *obj,
			 bool (*skip)(const struct bpf_program *prog));

typedef int (*event_fn)(void *ctx, const struct dmaw_event *ev);

/* Calibrates, loads and attaches every family. Returns 0, or a negative
 * errno after printing one line naming the cause and the fix. */
int engine_start(struct engine *e, event_fn on_event, void *ctx);
/* The name of the i-th family, in families_ok[] order; NULL past the last. */
const char *engine_family_name(size_t i);

/* "swiotlb, dmamap, ...": every family's name, for messages and help. */
void engine_family_names(char *buf, size_t len);
/* Validates a -F list of family names; prints the valid ones if not. */
int engine_check_families(const char *list);
/* Calibrates and lets every family choose its programs, without loading:
 * e->feat and e->notes say what engine_start() would do. engine_stop()
 * cleans up after it as after engine_start(). */
int engine_plan(struct engine *e);
/* Detaches and unloads everything; safe after a failed start. */
void engine_stop(struct engine *e);
int engine_read(struct engine *e, struct snapshot *s);
/* Waits up to timeout_ms for events, calling on_event for each. */
int engine_poll(struct engine *e, int timeout_ms);
void engine_note(struct engine *e, const char *family, const char *hook,
		 enum attach_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Chooses between an fentry/fexit program and its kprobe twin for a
 * function: enables exactly one (or neither) and notes the choice. Returns
 * the kind chosen. Both programs may be NULL-safe-skipped by passing NULL. */
enum attach_kind choose_fentry_or_kprobe(struct engine *e, const char *family,
					 enum func_id fn, struct bpf_program **fentry,
					 size_t nfentry, struct bpf_program **kprobe,
					 size_t nkprobe);

/* For every entry of a per-CPU hash map: calls fn with the key and the
 * ncpus per-CPU copies of its value (each value_size rounded up to 8).
 * Stops when fn returns non-zero. */
typedef int (*percpu_entry_fn)(void *ctx, const void *key, const void *percpu, int ncpus);
int read_percpu_hash(struct bpf_map *map, size_t key_size, size_t value_size,
		     percpu_entry_fn fn, void *ctx);

/* choose_fentry_or_kprobe() over the programs of obj named by convention:
 * PREFIX_fentry and/or PREFIX_fexit against PREFIX_kprobe and/or
 * PREFIX_kretprobe. */
enum attach_kind choose_hook(struct engine *e, const char *family, struct bpf_object *obj,
			     enum func_id fn, const char *prefix);

extern const struct family swiotlb_family, dmamap_family, virtqueue_family, pool_family;

#endif
