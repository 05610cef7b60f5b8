// SPDX-License-Identifier: GPL-2.0
/* The lab's fault injection: see engine/lab_faults.h. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "engine/lab_faults.h"
#include "util.h"

void test_stop_at(const char *point)
{
	const char *at = getenv("DMAWATCH_TEST_STOP_AT");

	if (at && !strcmp(at, point))
		raise(SIGSTOP);
}

void test_faults_before_load(struct bpf_object *obj, const char *family, const char *const *shared,
			     int nshared)
{
	const char *which = getenv("DMAWATCH_TEST_FAIL_LOAD");
	const char *ring = getenv("DMAWATCH_TEST_RING_BYTES");
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");
	struct bpf_map *map;
	uint64_t bytes;

	if (ring && events && parse_u64(ring, 4096, 1u << 30, &bytes) && !(bytes & (bytes - 1)))
		bpf_map__set_max_entries(events, bytes);

	if (!which || strcmp(which, family))
		return;
	bpf_object__for_each_map (map, obj) {
		const char *name = bpf_map__name(map);
		bool common = false;

		for (int m = 0; m < nshared; m++)
			common |= !strcmp(name, shared[m]);
		if (!common && name[0] != '.' && !strchr(name, '.')) {
			bpf_map__set_max_entries(map, 0);
			return;
		}
	}
}

bool test_refuses_fentry(const char *func)
{
	const char *which = getenv("DMAWATCH_TEST_REFUSE_FENTRY");

	return which && !strcmp(which, func);
}
