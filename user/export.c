// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch export: the counters for Prometheus, as a textfile for
 * node_exporter's textfile collector and/or on /metrics over HTTP. The
 * metric text comes from prom.c; this file owns when and where it goes.
 *
 * The textfile is replaced atomically: written to a temporary file in the
 * same directory (a name node_exporter ignores: it only reads *.prom),
 * fsync'ed, renamed over DIR/dmawatch.prom, and the directory fsync'ed, so
 * a scrape sees the old file or the new one, never a part, even across a
 * crash. Temporary files a killed exporter left are removed on start.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine.h"
#include "loop.h"
#include "prom.h"
#include "util.h"

#define PROM_FILE "dmawatch.prom"
#define TMP_PREFIX ".dmawatch.prom."
#define TMP_SUFFIX ".tmp"
/* A live exporter's temporary file exists for milliseconds. */
#define TMP_STALE_S 60
#define DEFAULT_PORT_ADDR "127.0.0.1"

static void export_help(FILE *out)
{
	fprintf(out,
		"Usage: dmawatch export [--textfile-dir DIR] [--listen [ADDR:]PORT]\n"
		"                       [--interval SECONDS] [--once] [INTERVAL [COUNT]]\n"
		"\nExports the counters of 'dmawatch stat' in the Prometheus text format:\n"
		"right after attaching and then every interval (default 15 s), it replaces\n"
		"DIR/" PROM_FILE " for node_exporter's textfile collector (atomically: a\n"
		"scrape never sees a partial file), and/or serves the same text on\n"
		"http://ADDR:PORT/metrics. Counters are cumulative since the probes were\n"
		"attached. On SIGTERM or Ctrl-C it writes a last file with dmawatch_up 0.\n"
		"\n  -d, --textfile-dir DIR   write DIR/" PROM_FILE "\n"
		"  -l, --listen [ADDR:]PORT serve /metrics over HTTP; ADDR defaults to\n"
		"                           127.0.0.1 (IPv6: [::1]:PORT)\n"
		"  -i, --interval SECONDS   seconds between writes (default 15)\n"
		"  -1, --once               wait one interval after attaching, write, exit\n"
		"\nExamples:\n"
		"  dmawatch export --textfile-dir /var/lib/prometheus/node-exporter\n"
		"  dmawatch export --listen 9435\n"
		"  dmawatch export --textfile-dir /tmp/prom --once --interval 5\n"
		"\nSee dmawatch-export(8) for the metric names.\n");
}

/* ---- the textfile --------------------------------------------------------- */

struct textfile {
	const char *path; /* DIR as given, for messages */
	int dirfd;
	char tmp[64];     /* TMP_PREFIX <pid> TMP_SUFFIX */
	int last_err;     /* errno of the last failed write, to warn once */
};

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
				warnx_("cannot remove stale %s/%s: %s", t->path, de->d_name,
				       strerror(errno));
			else if (verbose)
				warnx_("removed stale %s/%s", t->path, de->d_name);
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

/* Replaces DIR/dmawatch.prom with text. Returns 0 or a negative errno;
 * never leaves the temporary file behind. */
static int textfile_write(struct textfile *t, const char *text, size_t len)
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
static int textfile_open(struct textfile *t, const char *dir)
{
	int fd;

	t->path = dir;
	t->last_err = 0;
	snprintf(t->tmp, sizeof(t->tmp), TMP_PREFIX "%ld" TMP_SUFFIX, (long)getpid());
	t->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0) {
		int err = errno;

		warnx_("textfile directory %s: %s%s", dir, strerror(err),
		       err == ENOENT ? " (create it, or point --textfile-dir at node_exporter's "
				       "--collector.textfile.directory)" : "");
		return -err;
	}
	remove_stale_tmp(t);
	fd = openat(t->dirfd, t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		int err = errno;

		warnx_("cannot write in textfile directory %s: %s", dir, strerror(err));
		close(t->dirfd);
		t->dirfd = -1;
		return -err;
	}
	close(fd);
	unlinkat(t->dirfd, t->tmp, 0);
	return 0;
}

/* ---- /metrics over HTTP ----------------------------------------------------
 * HTTP/1.0, one request per connection, everything non-blocking from the
 * interval loop: the loop watches one fd, so the listening socket and the
 * clients sit in an epoll set and the epoll fd is the loop's input. A client
 * gets HTTP_TIMEOUT_S for the whole exchange and a slot among HTTP_CLIENTS;
 * past either it is closed, so a slow or silent client costs one slot for
 * a few seconds and never stalls the exporter. */

#define HTTP_CLIENTS 16
#define HTTP_REQ_MAX 4096
#define HTTP_TIMEOUT_S 10.0
#define HTTP_DRAIN_S 1.0

enum client_state { C_FREE, C_READ, C_WRITE, C_DRAIN };

struct client {
	enum client_state state;
	int fd;
	double deadline;
	size_t req_len;
	char req[HTTP_REQ_MAX];
	char *resp;
	size_t resp_len, sent;
};

struct http {
	int lfd, epfd;
	char where[80];    /* ADDR:PORT, for messages */
	struct client clients[HTTP_CLIENTS];
	const char *text;  /* the latest metrics, owned by export_ctx */
	size_t text_len;
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "PORT", ":PORT", "ADDR:PORT" or "[ADDR6]:PORT"; a bare port is loopback. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[64] = DEFAULT_PORT_ADDR;
	const char *port = spec, *colon;
	uint64_t p;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec + 1, end - spec - 1);
		host[end - spec - 1] = 0;
		port = end + 2;
	} else if ((colon = strrchr(spec, ':'))) {
		if (strchr(spec, ':') != colon || (size_t)(colon - spec) >= sizeof(host))
			return -EINVAL;
		if (colon > spec) {
			memcpy(host, spec, colon - spec);
			host[colon - spec] = 0;
		}
		port = colon + 1;
	}
	if (!parse_u64(port, 1, 65535, &p) || port[0] == '0')
		return -EINVAL;
	if (!strcmp(host, "localhost"))
		strcpy(host, DEFAULT_PORT_ADDR);
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(p);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		*sslen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(p);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		*sslen = sizeof(*a);
	}
	return 0;
}

static int http_open(struct http *h, const struct sockaddr_storage *ss, socklen_t sslen,
		     const char *spec)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };
	int one = 1;

	memset(h, 0, sizeof(*h));
	h->lfd = h->epfd = -1;
	snprintf(h->where, sizeof(h->where), "%s", spec);
	h->lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->lfd < 0 || setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(h->lfd, (const struct sockaddr *)ss, sslen) || listen(h->lfd, 64)) {
		int err = errno;

		warnx_("cannot listen on %s: %s", spec, strerror(err));
		return -err;
	}
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &ev)) {
		int err = errno;

		warnx_("cannot listen on %s: epoll: %s", spec, strerror(err));
		return -err;
	}
	return 0;
}

static void client_close(struct http *h, struct client *c)
{
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->resp);
	c->resp = NULL;
	c->state = C_FREE;
}

static void client_watch(struct http *h, struct client *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (c - h->clients) + 1 };

	epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Builds the whole response (headers and body) for the client to send. */
static void respond(struct client *c, const char *status, const char *type, const char *body,
		    size_t body_len, bool head)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status, type, body_len);

	if (head)
		body_len = 0;
	c->resp = malloc(n + body_len);
	c->state = C_WRITE;
	c->sent = 0;
	c->resp_len = c->resp ? n + body_len : 0;
	if (c->resp) {
		memcpy(c->resp, hdr, n);
		memcpy(c->resp + n, body, body_len);
	}
}

static void respond_text(struct client *c, const char *status, const char *msg)
{
	respond(c, status, "text/plain; charset=utf-8", msg, strlen(msg), false);
}

/* The request line: METHOD SP TARGET SP VERSION. Only GET and HEAD of
 * /metrics (a query string is ignored) are served. */
static void handle_request(struct http *h, struct client *c)
{
	char method[8], target[256], version[16];
	bool head;
	char *q;

	c->req[c->req_len] = 0;
	if (sscanf(c->req, "%7s %255s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		respond_text(c, "400 Bad Request", "bad request\n");
		return;
	}
	head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		respond_text(c, "405 Method Not Allowed", "only GET and HEAD\n");
		return;
	}
	if ((q = strchr(target, '?')))
		*q = 0;
	if (strcmp(target, "/metrics")) {
		respond_text(c, "404 Not Found", "404 page not found: try /metrics\n");
		return;
	}
	if (!h->text) {
		respond_text(c, "503 Service Unavailable", "dmawatch has not collected yet\n");
		return;
	}
	respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", h->text, h->text_len,
		head);
}

static void client_write(struct http *h, struct client *c)
{
	while (c->sent < c->resp_len) {
		ssize_t n = send(c->fd, c->resp + c->sent, c->resp_len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			client_watch(h, c, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			client_close(h, c);
			return;
		}
		c->sent += n;
	}
	/* Done. Closing with unread request bytes would reset the connection
	 * and could destroy the response in flight: half-close, then read
	 * until the client closes (or briefly). */
	free(c->resp);
	c->resp = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = C_DRAIN;
	if (c->deadline > mono_s() + HTTP_DRAIN_S)
		c->deadline = mono_s() + HTTP_DRAIN_S;
	client_watch(h, c, EPOLLIN);
}

static void client_read(struct http *h, struct client *c)
{
	for (;;) {
		char drain[512];
		char *buf = c->state == C_DRAIN ? drain : c->req + c->req_len;
		size_t room = c->state == C_DRAIN ? sizeof(drain) : HTTP_REQ_MAX - 1 - c->req_len;
		ssize_t n = recv(c->fd, buf, room, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_close(h, c);
			return;
		}
		if (c->state == C_DRAIN)
			continue;
		c->req_len += n;
		c->req[c->req_len] = 0;
		/* The headers end with an empty line; nothing after it matters. */
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
			handle_request(h, c);
			break;
		}
		if (c->req_len == HTTP_REQ_MAX - 1) {
			respond_text(c, "400 Bad Request", "request too large\n");
			break;
		}
	}
	client_write(h, c);
}

static void http_expire(struct http *h)
{
	double now = mono_s();

	for (int i = 0; i < HTTP_CLIENTS; i++)
		if (h->clients[i].state != C_FREE && h->clients[i].deadline < now)
			client_close(h, &h->clients[i]);
}

static void http_accept(struct http *h)
{
	for (;;) {
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct client *c = NULL;

		if (fd < 0)
			return; /* EAGAIN, or a connection reset before we got to it */
		http_expire(h);
		for (int i = 0; i < HTTP_CLIENTS && !c; i++)
			if (h->clients[i].state == C_FREE)
				c = &h->clients[i];
		if (!c) {
			close(fd); /* every slot busy: the scraper retries */
			continue;
		}
		c->fd = fd;
		c->state = C_READ;
		c->req_len = 0;
		c->deadline = mono_s() + HTTP_TIMEOUT_S;
		ev.data.u32 = (c - h->clients) + 1;
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			c->state = C_FREE;
			continue;
		}
		/* The request usually came with the connection. */
		client_read(h, c);
	}
}

static void http_close(struct http *h)
{
	for (int i = 0; i < HTTP_CLIENTS; i++)
		if (h->clients[i].state != C_FREE)
			client_close(h, &h->clients[i]);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->lfd >= 0)
		close(h->lfd);
	h->epfd = h->lfd = -1;
}

/* ---- the exporter ---------------------------------------------------------- */

struct export_ctx {
	struct engine *e;
	struct textfile tf;
	bool have_tf;
	struct http http;
	bool have_http;
	struct snapshot *last, *work; /* the last rendered (monotonic) one, scratch */
	bool have_last;
	char *text;
	size_t text_len;
	double started_at;
	bool once, failed;
};

static double real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The loop's input callback: whatever the epoll set has ready. */
static int http_on_input(void *ctx)
{
	struct export_ctx *x = ctx;
	struct http *h = &x->http;
	struct epoll_event evs[HTTP_CLIENTS + 1];
	int n = epoll_wait(h->epfd, evs, HTTP_CLIENTS + 1, 0);

	for (int i = 0; i < n; i++) {
		uint32_t id = evs[i].data.u32;
		struct client *c;

		if (!id) {
			http_accept(h);
			continue;
		}
		c = &h->clients[id - 1];
		if (c->state == C_WRITE)
			client_write(h, c);
		else if (c->state != C_FREE)
			client_read(h, c);
	}
	http_expire(h);
	return 0;
}

static void fill_health(struct export_ctx *x, struct prom_health *h, const struct snapshot *cur,
			bool up)
{
	memset(h, 0, sizeof(*h));
	h->up = up;
	/* The snapshot's read time, on the wall clock. */
	h->collected_at = real_s() - (mono_s() - cur->time_s);
	h->started_at = x->started_at;
	h->version = DMAWATCH_VERSION;
	for (size_t i = 0; engine_family_name(i) && i < PROM_MAX_FAMILIES; i++) {
		h->families[i].name = engine_family_name(i);
		h->families[i].attached = x->e->families_ok[i];
		h->nfamilies++;
	}
	h->notes = x->e->notes;
	h->nnotes = x->e->nnotes;
}

static int export_tick(void *ctx, const struct snapshot *prev, const struct snapshot *cur,
		       bool final)
{
	struct export_ctx *x = ctx;
	struct prom_health h;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	(void)prev;
	*x->work = *cur;
	if (x->have_last)
		prom_keep_monotonic(x->work, x->last);
	/* Stopped by a signal: the file left behind says so. */
	fill_health(x, &h, cur, !(final && loop_stopping()));
	f = open_memstream(&text, &len);
	if (!f || prom_render(f, x->work, &h) || fclose(f)) {
		warnx_("export: cannot render the metrics: %s", strerror(errno));
		if (!f)
			free(text);
		x->failed = true;
		return x->once;
	}
	if (x->have_tf) {
		err = textfile_write(&x->tf, text, len);
		if (err && err != -x->tf.last_err)
			warnx_("cannot write %s/" PROM_FILE ": %s%s", x->tf.path, strerror(-err),
			       x->once ? "" : " (keeps trying every interval)");
		else if (!err && x->tf.last_err)
			warnx_("writing %s/" PROM_FILE " works again", x->tf.path);
		x->tf.last_err = -err;
		if (err)
			x->failed = true;
	}
	free(x->text);
	x->text = text;
	x->text_len = len;
	x->http.text = text;
	x->http.text_len = len;
	if (x->have_http)
		http_expire(&x->http);
	*x->last = *x->work;
	x->have_last = true;
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "textfile-dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct export_ctx x = { .tf.dirfd = -1, .http.lfd = -1, .http.epfd = -1 };
	struct loop_opts o = { .interval_s = 15, .input_fd = -1, .ctx = &x };
	const char *dir = NULL, *listen_spec = NULL, *interval = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct engine e;
	int c, err, rc = 1;

	while ((c = getopt_long(argc, argv, "d:l:i:1h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'l': listen_spec = optarg; break;
		case 'i': interval = optarg; break;
		case '1': x.once = true; break;
		case 'h': export_help(stdout); return 0;
		default: export_help(stderr); return 2;
		}
	}
	if (parse_interval_args(argc, argv, optind, &o))
		return 2;
	if (interval) {
		if (optind < argc) {
			warnx_("interval given twice ('--interval %s' and '%s')", interval,
			       argv[optind]);
			return 2;
		}
		if (!parse_seconds(interval, 86400, &o.interval_s)) {
			warnx_("bad interval '%s': seconds, e.g. 15 or 0.5", interval);
			return 2;
		}
	}
	if (x.once) {
		if (o.count > 1) {
			warnx_("--once and a COUNT of %llu contradict each other",
			       (unsigned long long)o.count);
			return 2;
		}
		o.count = 1;
	}
	if (!dir && !listen_spec) {
		warnx_("export: say where to: --textfile-dir DIR and/or --listen [ADDR:]PORT");
		export_help(stderr);
		return 2;
	}
	if (listen_spec && parse_listen(listen_spec, &ss, &sslen)) {
		warnx_("bad --listen address '%s': PORT, ADDR:PORT or [ADDR6]:PORT with a "
		       "numeric address, e.g. 9435 or 127.0.0.1:9435", listen_spec);
		return 2;
	}

	/* Everything that can fail for the user's reasons fails before the
	 * probes are loaded, which takes seconds. */
	x.e = &e;
	x.started_at = real_s();
	memset(&e, 0, sizeof(e));
	x.last = calloc(1, sizeof(*x.last));
	x.work = calloc(1, sizeof(*x.work));
	if (!x.last || !x.work) {
		warnx_("export: out of memory");
		goto out_nostop;
	}
	if (dir) {
		if (textfile_open(&x.tf, dir))
			goto out_nostop;
		x.have_tf = true;
	}
	if (listen_spec) {
		if (http_open(&x.http, &ss, sslen, listen_spec))
			goto out_nostop;
		x.have_http = true;
		o.input_fd = x.http.epfd;
		o.on_input = http_on_input;
	}
	/* A client that hangs up mid-response must not kill the exporter. */
	signal(SIGPIPE, SIG_IGN);
	loop_install_signals();
	/* Continuous: a first file right after attaching (it also tells
	 * whoever waits that the probes are in). --once: only after one
	 * interval, so the counters cover a real window. */
	o.tick_at_start = !x.once;
	err = engine_start(&e, NULL, NULL);
	if (!err)
		err = run_loop(&e, &o, export_tick);
	rc = err ? 1 : x.once && x.failed ? 1 : 0;
	engine_stop(&e);
out_nostop:
	http_close(&x.http);
	if (x.tf.dirfd >= 0) {
		unlinkat(x.tf.dirfd, x.tf.tmp, 0);
		close(x.tf.dirfd);
	}
	free(x.text);
	free(x.last);
	free(x.work);
	return rc;
}
