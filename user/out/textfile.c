// SPDX-License-Identifier: GPL-2.0
/* The Prometheus textfile: see textfile.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/lab_faults.h"
#include "out/textfile.h"
#include "util.h"

#define TMP_PREFIX ".dmawatch.prom."
#define TMP_SUFFIX ".tmp"
/* A live exporter's temporary file exists for milliseconds. */
#define TMP_STALE_S 60

/* Our temporary files: ".dmawatch.prom.<pid>.tmp". */
static bool tmp_name_pid(const char *name, long *pid)
{
	size_t plen = strlen(TMP_PREFIX), slen = strlen(TMP_SUFFIX), len = strlen(name);
	char digits[24];
	uint64_t v;

	if (len <= plen + slen || strncmp(name, TMP_PREFIX, plen) ||
	    strcmp(name + len - slen, TMP_SUFFIX) || len - plen - slen >= sizeof(digits))
		return false;
	memcpy(digits, name + plen, len - plen - slen);
	digits[len - plen - slen] = 0;
	if (!parse_u64(digits, 1, INT32_MAX, &v) || digits[0] == '0')
		return false;
	*pid = v;
	return true;
}

/* Removes the temporary files a killed exporter left: those of processes
 * that are gone, and any older than a write could take (the pid may be
 * another process's by now, or from another pid namespace). */
static void remove_stale_tmp(struct textfile *t)
{
	int fd = dup(t->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	time_t now = time(NULL);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		long pid;

		if (!tmp_name_pid(de->d_name, &pid) ||
		    fstatat(t->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (pid == getpid() || (kill(pid, 0) && errno == ESRCH) ||
		    now - st.st_mtime > TMP_STALE_S) {
			if (unlinkat(t->dirfd, de->d_name, 0) && errno != ENOENT)
				dmaw_warn("cannot remove stale %s/%s: %s", t->path, de->d_name,
					  strerror(errno));
			else if (t->verbose)
				dmaw_warn("removed stale %s/%s", t->path, de->d_name);
		}
	}
	closedir(d);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

int textfile_write(struct textfile *t, const char *text, size_t len)
{
	int fd, err = 0;

	unlinkat(t->dirfd, t->tmp, 0);
	fd = openat(t->dirfd, t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	/* node_exporter runs as another user: readable whatever the umask. */
	if (fchmod(fd, 0644) || (err = write_all(fd, text, len)) || fsync(fd))
		err = err ? err : -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err)
		test_stop_at("textfile");
	if (!err && renameat(t->dirfd, t->tmp, t->dirfd, PROM_FILE))
		err = -errno;
	if (err) {
		unlinkat(t->dirfd, t->tmp, 0);
		return err;
	}
	/* The rename itself is durable once the directory is. */
	if (fsync(t->dirfd) && errno != EINVAL)
		return -errno;
	return 0;
}

/* Opens DIR and proves it writable by creating and removing our temporary
 * file: access() says yes to root on a read-only file system. */
int textfile_open(struct textfile *t, const char *dir, bool verbose)
{
	int fd;

	t->path = dir;
	t->verbose = verbose;
	t->last_err = 0;
	snprintf(t->tmp, sizeof(t->tmp), TMP_PREFIX "%ld" TMP_SUFFIX, (long)getpid());
	t->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0) {
		int err = errno;

		dmaw_warn("textfile directory %s: %s%s", dir, strerror(err),
			  err == ENOENT ? " (create it, or point --textfile-dir at node_exporter's "
					  "--collector.textfile.directory)" :
					  "");
		return -err;
	}
	remove_stale_tmp(t);
	fd = openat(t->dirfd, t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		int err = errno;

		dmaw_warn("cannot write in textfile directory %s: %s", dir, strerror(err));
		close(t->dirfd);
		t->dirfd = -1;
		return -err;
	}
	close(fd);
	unlinkat(t->dirfd, t->tmp, 0);
	return 0;
}

void textfile_close(struct textfile *t)
{
	if (t->dirfd >= 0) {
		unlinkat(t->dirfd, t->tmp, 0);
		close(t->dirfd);
	}
	t->dirfd = -1;
}
