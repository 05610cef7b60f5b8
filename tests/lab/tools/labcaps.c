// SPDX-License-Identifier: GPL-2.0
/*
 * labcaps: run a command as another user holding only the capabilities
 * named, the way a systemd unit with User= and AmbientCapabilities= would
 * (the lab's busybox has no setpriv or capsh).
 *
 *   labcaps UID CAPS COMMAND [ARG...]
 *
 * CAPS is "none" or a comma-separated list of bpf, perfmon, syslog,
 * dac_read_search, dac_override, sys_admin, sys_resource. The command
 * runs with uid and gid UID, no supplementary groups, and exactly CAPS in
 * its bounding, permitted, effective and ambient sets (so they survive the
 * exec of a binary without file capabilities, and uid 0 gets no more). Exits 127 when it cannot set that
 * up, naming the step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
	const char *name;
	int cap;
} caps[] = {
	{ "bpf", CAP_BPF },
	{ "perfmon", CAP_PERFMON },
	{ "syslog", CAP_SYSLOG },
	{ "dac_read_search", CAP_DAC_READ_SEARCH },
	{ "dac_override", CAP_DAC_OVERRIDE },
	{ "sys_admin", CAP_SYS_ADMIN },
	{ "sys_resource", CAP_SYS_RESOURCE },
};

static void die(const char *what)
{
	fprintf(stderr, "labcaps: %s: %s\n", what, strerror(errno));
	exit(127);
}

int main(int argc, char **argv)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	int want[sizeof(caps) / sizeof(caps[0])], nwant = 0;
	char *list, *name, *save;
	unsigned long uid;

	if (argc < 4) {
		fprintf(stderr, "usage: labcaps UID CAPS|none COMMAND [ARG...]\n");
		return 127;
	}
	uid = strtoul(argv[1], NULL, 10);
	list = argv[2];
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		size_t i;

		if (!strcmp(name, "none"))
			continue;
		for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
			if (!strcmp(name, caps[i].name))
				break;
		if (i == sizeof(caps) / sizeof(caps[0])) {
			fprintf(stderr, "labcaps: unknown capability '%s'\n", name);
			return 127;
		}
		want[nwant++] = caps[i].cap;
	}

	/* The bounding set too, as CapabilityBoundingSet= does: an exec as
	 * uid 0 would otherwise regain every capability in it. */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		bool keep = false;

		for (int i = 0; i < nwant; i++)
			keep |= want[i] == cap;
		if (!keep && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			die("PR_CAPBSET_DROP");
	}
	/* Keep the permitted set across setuid, then narrow it to CAPS. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		die("PR_SET_KEEPCAPS");
	if (setgroups(0, NULL))
		die("setgroups");
	if (setgid(uid))
		die("setgid");
	if (setuid(uid))
		die("setuid");
	for (int i = 0; i < nwant; i++) {
		data[want[i] / 32].permitted |= 1u << (want[i] % 32);
		data[want[i] / 32].effective |= 1u << (want[i] % 32);
		data[want[i] / 32].inheritable |= 1u << (want[i] % 32);
	}
	if (syscall(SYS_capset, &hdr, data))
		die("capset");
	for (int i = 0; i < nwant; i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, want[i], 0, 0))
			die("PR_CAP_AMBIENT_RAISE");
	execvp(argv[3], argv + 3);
	die(argv[3]);
}
