// SPDX-License-Identifier: GPL-2.0
/* Diagnose's sources: this machine, or a bundle of it. See bundle.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diagnose/bundle.h"
#include "util.h"

static int mkdirs(char *path) /* mkdir -p of path's directories */
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* The bundle's name of machine path PATH ("fs/sys/..."), under dir. */
static void fs_path(char *buf, size_t len, const char *dir, const char *path)
{
	snprintf(buf, len, "%s/fs%s", dir, path);
}

/* Opens machine path PATH inside the replayed bundle, one component at a
 * time from its fs/ directory, following no symlink and no "..": a bundle
 * may come from anyone, and none of its paths reaches outside it. (The
 * sysfs paths diagnose reads are canonical: no link on the way. openat2's
 * RESOLVE_BENEATH would do the same where the kernel and valgrind have it.)
 * The last component is opened with flags | O_NOFOLLOW, so O_PATH gives
 * a symlink itself. */
static int replay_open(const struct bundle *b, const char *path, int flags)
{
	char buf[PATH_MAX], *save, *comp, *next;
	int dir, fd;

	if (b->replay_fd < 0 || snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENOENT;
		return -1;
	}
	dir = openat(b->replay_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (comp = strtok_r(buf, "/", &save); dir >= 0 && comp; comp = next) {
		next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, "..")) {
			close(dir);
			errno = ENOENT;
			return -1;
		}
		fd = openat(dir, comp,
			    (next ? O_PATH | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC);
		close(dir);
		if (fd < 0) {
			/* A link on the way: to the reader, not there. */
			if (errno == ELOOP || errno == ENOTDIR)
				errno = ENOENT;
			return -1;
		}
		if (!next)
			return fd;
		dir = fd;
	}
	if (dir < 0)
		return -1;
	fd = openat(dir, ".", flags | O_CLOEXEC);
	close(dir);
	return fd;
}

static char *slurp_fd(int fd, size_t max);

static char *slurp(const char *path, size_t max)
{
	return slurp_fd(open(path, O_RDONLY | O_CLOEXEC), max);
}

/* Reads fd (closing it), at most max bytes; NULL with errno if fd < 0. */
static char *slurp_fd(int fd, size_t max)
{
	size_t n = 0;
	char *buf;
	ssize_t r = 0;
	int err;

	if (fd < 0)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	/* sysfs and debugfs files answer in one read; /proc files may not. */
	while (n < max && (r = read(fd, buf + n, max - n)) > 0)
		n += r;
	err = errno;
	if (r < 0 && n == 0) {
		free(buf);
		close(fd);
		errno = err;
		return NULL;
	}
	close(fd);
	buf[n] = 0;
	return buf;
}

/* Keeps the first error writing the bundle: bundle_close() then saves
 * nothing rather than a bundle with holes. */
static void save_failed(struct bundle *b, const char *path)
{
	if (!b->save_err) {
		b->save_err = errno ? errno : EIO;
		snprintf(b->save_err_path, sizeof(b->save_err_path), "%s", path);
	}
}

static void save_text(struct bundle *b, const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	if (!b->save)
		return;
	snprintf(path, sizeof(path), "%s/%s", b->save, rel);
	if (mkdirs(path) || !(f = fopen(path, "we"))) {
		save_failed(b, path);
		return;
	}
	fputs(text, f);
	if (ferror(f) | fclose(f))
		save_failed(b, path);
}

/* Why bundle_open() failed: printed, and kept for --json. */
static void open_error(struct bundle *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void open_error(struct bundle *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->error, sizeof(b->error), fmt, ap);
	va_end(ap);
	dmaw_warn("%s", b->error);
}

int bundle_open(struct bundle *b, const char *replay, const char *save_dir)
{
	memset(b, 0, sizeof(*b));
	b->replay_fd = -1;
	if (replay) {
		char *fmt;
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/format", replay);
		fmt = slurp(path, 256);
		if (!fmt) {
			open_error(
				b,
				"--bundle %s: %s: %s; a bundle is a directory written by "
				"'dmawatch diagnose --save-bundle' (see docs/diagnose-bundle.md)",
				replay, path, strerror(errno));
			return -1;
		}
		if (strncmp(fmt, BUNDLE_FORMAT, strlen(BUNDLE_FORMAT))) {
			open_error(b, "--bundle %s: format says '%.*s', this dmawatch reads '%s'",
				   replay, (int)strcspn(fmt, "\n"), fmt, BUNDLE_FORMAT);
			free(fmt);
			return -1;
		}
		free(fmt);
		b->replay = replay;
		/* A bundle of nothing but a log has no fs/: every file missing. */
		snprintf(path, sizeof(path), "%s/fs", replay);
		b->replay_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		fmt = bundle_get(b, "unreadable", 65536);
		if (fmt) { /* else a link in its place, already listed */
			free(b->unreadable);
			b->unreadable = fmt;
		}
		b->unreadable_len = b->unreadable ? strlen(b->unreadable) : 0;
		return 0;
	}
	if (save_dir) {
		char tmp[PATH_MAX];

		if (access(save_dir, F_OK) == 0) {
			open_error(b, "--save-bundle %s: it exists; name a new directory",
				   save_dir);
			return -1;
		}
		/* Written beside its final name, renamed when complete: never a
		 * half-written bundle under that name. */
		snprintf(tmp, sizeof(tmp), "%s.partial-XXXXXX", save_dir);
		if (!mkdtemp(tmp)) {
			open_error(b, "--save-bundle %s: cannot create %s: %s", save_dir, tmp,
				   strerror(errno));
			return -1;
		}
		chmod(tmp, 0700); /* the kernel log and sysfs of this machine */
		b->save = strdup(tmp);
		b->save_final = save_dir;
		save_text(b, "format", BUNDLE_FORMAT "\n");
	}
	return 0;
}

static int rm_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st))
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char sub[PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_tree(sub);
	}
	if (d)
		closedir(d);
	return rmdir(path);
}

int bundle_close(struct bundle *b, bool complete)
{
	int ret = 0;

	if (b->save) {
		if (complete)
			save_text(b, "unreadable", b->unreadable ? b->unreadable : "");
		if (complete && b->save_err) {
			dmaw_warn("--save-bundle %s: writing %s: %s; nothing saved", b->save_final,
				  b->save_err_path, strerror(b->save_err));
			complete = false;
			ret = -1;
		}
		if (complete && rename(b->save, b->save_final)) {
			dmaw_warn("--save-bundle %s: cannot rename %s into place: %s",
				  b->save_final, b->save, strerror(errno));
			complete = false;
			ret = -1;
		}
		if (!complete)
			rm_tree(b->save);
		free(b->save);
	}
	if (b->replay_fd >= 0)
		close(b->replay_fd);
	free(b->unreadable);
	for (size_t i = 0; i < ARRAY_SIZE(b->put); i++)
		free(b->put[i].text);
	memset(b, 0, sizeof(*b));
	return ret;
}

/* The errno whose strerror() is text: a reason saved by another machine. */
static int errno_of(const char *text, size_t len)
{
	for (int e = 1; e < 134; e++)
		if (strlen(strerror(e)) == len && !strncmp(strerror(e), text, len))
			return e;
	return EIO;
}

const char *bundle_unreadable_next(const char *p, char *source, size_t slen, char *reason,
				   size_t rlen)
{
	size_t n;

	if (!p || !*p)
		return NULL;
	n = strcspn(p, "\t\n");
	snprintf(source, slen, "%.*s", (int)n, p);
	p += n;
	if (*p == '\t')
		p++;
	n = strcspn(p, "\n");
	snprintf(reason, rlen, "%.*s", (int)n, p);
	return p[n] ? p + n + 1 : p + n;
}

const char *bundle_why(const struct bundle *b, const char *source, char *buf, size_t len)
{
	char name[PATH_MAX];

	for (const char *p = b->unreadable;
	     (p = bundle_unreadable_next(p, name, sizeof(name), buf, len));)
		if (!strcmp(name, source))
			return buf;
	return NULL;
}

void bundle_unreadable(struct bundle *b, const char *source, const char *reason)
{
	char why[128], *grown;
	size_t add;

	if (bundle_why(b, source, why, sizeof(why)))
		return;
	add = strlen(source) + strlen(reason) + 2;
	grown = realloc(b->unreadable, b->unreadable_len + add + 1);
	if (!grown)
		return;
	b->unreadable = grown;
	snprintf(grown + b->unreadable_len, add + 1, "%s\t%s\n", source, reason);
	b->unreadable_len += add;
}

/* In a replay, why PATH is missing: the reason the saving machine gave,
 * else it did not exist there. */
static void replay_errno(const struct bundle *b, const char *path)
{
	char why[128];

	errno = bundle_why(b, path, why, sizeof(why)) ? errno_of(why, strlen(why)) : ENOENT;
}

/* A bundle's link where a file was expected is not followed, and not
 * passed over in silence either: it is listed as unreadable, with where it
 * pointed. DIRFD/NAME is the link, PATH how the report names it. */
static void refuse_link(struct bundle *b, int dirfd, const char *name, const char *path)
{
	char target[256], why[400];
	struct stat st;
	ssize_t n;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISLNK(st.st_mode))
		return;
	n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = 0;
	snprintf(why, sizeof(why),
		 "a symlink in the bundle (to %s): not followed, a bundle is "
		 "read only beneath its own directory; copy the file in its place",
		 target);
	bundle_unreadable(b, path, why);
}

/* After a failed replay_open(): was a link in the way of PATH? */
static bool refuse_link_on_path(struct bundle *b, const char *path)
{
	char buf[PATH_MAX], *slash;

	if (b->replay_fd < 0 ||
	    snprintf(buf, sizeof(buf), "%s", path + (*path == '/')) >= (int)sizeof(buf))
		return false;
	/* The longest prefix that is a link, shortest first. */
	for (slash = buf; slash;) {
		struct stat st;

		slash = strchr(slash + 1, '/');
		if (slash)
			*slash = 0;
		if (!fstatat(b->replay_fd, buf, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode)) {
			refuse_link(b, b->replay_fd, buf, path);
			return true;
		}
		if (slash)
			*slash = '/';
	}
	return false;
}

char *bundle_read(struct bundle *b, const char *path, size_t max, bool nosave)
{
	char *text;

	if (b->replay) {
		text = slurp_fd(replay_open(b, path, O_RDONLY | O_NOFOLLOW), max);
		/* To the reader a refused link is not there; the list says why. */
		if (!text && !(!strstr(path, "/..") && refuse_link_on_path(b, path)))
			replay_errno(b, path);
		else if (!text)
			errno = ENOENT;
		return text;
	}
	text = slurp(path, max);
	if (text && !nosave)
		bundle_keep(b, path, text);
	return text;
}

void bundle_keep(struct bundle *b, const char *path, const char *text)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "fs%s", path);
	save_text(b, rel, text);
}

bool bundle_readlink(struct bundle *b, const char *path, char *buf, size_t len)
{
	char real[PATH_MAX];
	ssize_t n;

	if (b->replay) {
		/* The link itself (O_PATH | O_NOFOLLOW), beneath the bundle. */
		int fd = replay_open(b, path, O_PATH | O_NOFOLLOW);

		n = fd < 0 ? -1 : readlinkat(fd, "", buf, len - 1);
		if (fd >= 0)
			close(fd);
		if (n < 0) {
			replay_errno(b, path);
			return false;
		}
		buf[n] = 0;
		return true;
	}
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return false;
	buf[n] = 0;
	if (b->save) {
		fs_path(real, sizeof(real), b->save, path);
		/* The same link read twice is saved once. */
		if (mkdirs(real) || (symlink(buf, real) && errno != EEXIST))
			save_failed(b, real);
	}
	return true;
}

bool bundle_exists(struct bundle *b, const char *path)
{
	if (b->replay) {
		int fd = replay_open(b, path, O_PATH | O_NOFOLLOW);

		if (fd >= 0)
			close(fd);
		return fd >= 0;
	}
	if (access(path, F_OK))
		return false;
	bundle_keep(b, path, "");
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **bundle_list(struct bundle *b, const char *path)
{
	char real[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;

	if (b->replay) {
		int fd = replay_open(b, path, O_RDONLY | O_DIRECTORY);

		d = fd < 0 ? NULL : fdopendir(fd);
		if (!d) {
			if (fd >= 0)
				close(fd);
			replay_errno(b, path);
			return NULL;
		}
	} else if (!(d = opendir(path))) {
		return NULL;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n + 2 > cap) {
			char **grown = realloc(names, (cap = cap ? 2 * cap : 32) * sizeof(*names));

			if (!grown)
				break;
			names = grown;
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (!names && !(names = calloc(1, sizeof(*names))))
		return NULL;
	names[n] = NULL;
	qsort(names, n, sizeof(*names), cmp_names);
	if (b->save) {
		/* The directory exists in the bundle even if nothing in it is
		 * read: an empty listing replays as empty, not missing. */
		snprintf(real, sizeof(real), "%s/fs%s/", b->save, path);
		if (mkdirs(real))
			save_failed(b, real);
	}
	return names;
}

void bundle_free_list(char **names)
{
	for (char **p = names; p && *p; p++)
		free(*p);
	free(names);
}

/* A named artefact of the replayed bundle (dmesg, window), not through a
 * link. */
static int replay_artefact(struct bundle *b, const char *name)
{
	int dir = open(b->replay, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

	if (dir < 0)
		return -1;
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP) {
		char why_path[PATH_MAX];

		snprintf(why_path, sizeof(why_path), "%s", name);
		refuse_link(b, dir, name, why_path);
		errno = ENOENT;
	}
	close(dir);
	return fd;
}

char *bundle_get(struct bundle *b, const char *name, size_t max)
{
	char path[PATH_MAX];

	if (!b->replay) {
		for (size_t i = 0; i < ARRAY_SIZE(b->put); i++)
			if (b->put[i].name && !strcmp(b->put[i].name, name))
				return strdup(b->put[i].text);
		errno = ENOENT;
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", b->replay, name);
	return slurp_fd(replay_artefact(b, name), max);
}

FILE *bundle_fopen(struct bundle *b, const char *name)
{
	int fd;

	if (!b->replay) {
		errno = EINVAL;
		return NULL;
	}
	fd = replay_artefact(b, name);
	return fd < 0 ? NULL : fdopen(fd, "re");
}

void bundle_put(struct bundle *b, const char *name, const char *text)
{
	for (size_t i = 0; i < ARRAY_SIZE(b->put); i++) {
		if (b->put[i].name && strcmp(b->put[i].name, name))
			continue;
		free(b->put[i].text);
		b->put[i].name = name;
		b->put[i].text = strdup(text);
		break;
	}
	save_text(b, name, text);
}
