// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_seconds(const char *s, double max_s, double *out)
{
	double v;
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > max_s)
		return false;
	*out = v;
	return true;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double mono_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

double wall_s(void)
{
	return clock_s(CLOCK_REALTIME);
}

double mono_to_wall(double mono)
{
	return wall_s() - (mono_s() - mono);
}

void dmaw_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("dmawatch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	/* capget(2) through syscall(): no libcap for a few bits. */
	if (cap < 0 || cap >= 64 || syscall(SYS_capget, &hdr, d))
		return true;
	return d[cap / 32].effective & (1u << (cap % 32));
}

const char *bpf_caps_missing(void)
{
	bool bpf, perfmon;

	if (have_cap(CAP_SYS_ADMIN))
		return NULL;
	bpf = have_cap(CAP_BPF);
	perfmon = have_cap(CAP_PERFMON);
	return bpf && perfmon ? NULL :
	       bpf            ? "CAP_PERFMON" :
	       perfmon        ? "CAP_BPF" :
				"CAP_BPF and CAP_PERFMON";
}

int bad_option(const char *cmd, int c, char **argv)
{
	const char *word = argv[optind - 1], *eq = strchr(word, '=');
	bool is_long = !strncmp(word, "--", 2);

	if (c == ':')
		dmaw_warn("%s: option '%s' needs a value (see 'dmawatch %s --help')", cmd, word,
			  cmd);
	else if (is_long && optopt && eq)
		dmaw_warn("%s: option '%.*s' takes no value (see 'dmawatch %s --help')", cmd,
			  (int)(eq - word), word, cmd);
	else if (is_long)
		dmaw_warn("%s: unknown option '%s' (see 'dmawatch %s --help')", cmd, word, cmd);
	else /* optopt: the unknown letter, even inside a cluster (-jx) */
		dmaw_warn("%s: unknown option '-%c' (see 'dmawatch %s --help')", cmd, optopt, cmd);
	return 2;
}

bool read_text_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f || !len)
		return f ? (fclose(f), false) : false;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return true;
}

bool read_u64_file(const char *path, uint64_t *out)
{
	char buf[64];

	return read_text_file(path, buf, sizeof(buf)) && parse_u64(buf, 0, UINT64_MAX, out);
}

bool parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char num[32];
	size_t n = s ? strlen(s) : 0;
	unsigned int shift = 0;

	if (!n || n >= sizeof(num))
		return false;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k':
	case 'K': shift = 10; break;
	case 'm':
	case 'M': shift = 20; break;
	case 'g':
	case 'G': shift = 30; break;
	}
	if (shift)
		num[n - 1] = 0;
	if (!parse_u64(num, 0, UINT64_MAX >> shift, out))
		return false;
	*out <<= shift;
	return *out >= min && *out <= max;
}
