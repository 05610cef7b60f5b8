// SPDX-License-Identifier: GPL-2.0
/* /metrics over HTTP: see http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "out/http.h"
#include "util.h"

#define DEFAULT_PORT_ADDR "127.0.0.1"
/* epoll ids: 0 the listening socket, 1..HTTP_CLIENTS the clients. */
#define ID_TIMER (HTTP_CLIENTS + 1)

int http_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen)
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

int http_open(struct http *h, const struct sockaddr_storage *ss, socklen_t sslen, const char *spec)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };
	int one = 1;

	memset(h, 0, sizeof(*h));
	h->lfd = h->epfd = h->tfd = -1;
	h->timeout_s = HTTP_TIMEOUT_S;
	snprintf(h->where, sizeof(h->where), "%s", spec);
	h->lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->lfd < 0 || setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(h->lfd, (const struct sockaddr *)ss, sslen) || listen(h->lfd, 64)) {
		int err = errno;

		dmaw_warn("cannot listen on %s: %s", spec, strerror(err));
		return -err;
	}
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->epfd < 0 || h->tfd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &ev)) {
		int err = errno;

		dmaw_warn("cannot listen on %s: epoll: %s", spec, strerror(err));
		return -err;
	}
	/* Deadlines wake the loop themselves: a silent client is closed on
	 * time, not at the next interval. */
	ev.data.u32 = ID_TIMER;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->tfd, &ev)) {
		int err = errno;

		dmaw_warn("cannot listen on %s: timerfd: %s", spec, strerror(err));
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
			 "Connection: close\r\n\r\n",
			 status, type, body_len);

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

enum http_verdict http_parse_request(const char *req, size_t len)
{
	char method[8], target[256], version[16];
	char *q;

	/* A NUL inside, a malformed line, or another protocol: 400. */
	if (strnlen(req, len) < len ||
	    sscanf(req, "%7s %255s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7))
		return HTTP_BAD_REQUEST;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return HTTP_BAD_METHOD;
	/* A query string is ignored. */
	if ((q = strchr(target, '?')))
		*q = 0;
	if (strcmp(target, "/metrics"))
		return HTTP_NOT_FOUND;
	return strcmp(method, "HEAD") ? HTTP_GET_METRICS : HTTP_HEAD_METRICS;
}

static void handle_request(struct http *h, struct client *c)
{
	enum http_verdict v;

	c->req[c->req_len] = 0;
	v = http_parse_request(c->req, c->req_len);
	switch (v) {
	case HTTP_BAD_REQUEST: respond_text(c, "400 Bad Request", "bad request\n"); return;
	case HTTP_BAD_METHOD:
		respond_text(c, "405 Method Not Allowed", "only GET and HEAD\n");
		return;
	case HTTP_NOT_FOUND:
		respond_text(c, "404 Not Found", "404 page not found: try /metrics\n");
		return;
	default: break;
	}
	if (!h->text) {
		respond_text(c, "503 Service Unavailable", "dmawatch has not collected yet\n");
		return;
	}
	respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", h->text, h->text_len,
		v == HTTP_HEAD_METRICS);
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
		/* memmem, not strstr: a NUL byte must not hide the end. */
		if (memmem(c->req, c->req_len, "\r\n\r\n", 4) ||
		    memmem(c->req, c->req_len, "\n\n", 2)) {
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
		c->deadline = mono_s() + h->timeout_s;
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

void http_close(struct http *h)
{
	for (int i = 0; i < HTTP_CLIENTS; i++)
		if (h->clients[i].state != C_FREE)
			client_close(h, &h->clients[i]);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->tfd >= 0)
		close(h->tfd);
	h->epfd = h->lfd = h->tfd = -1;
}

/* Arms the timer at the earliest deadline of a client (or disarms it). */
static void http_arm(struct http *h)
{
	struct itimerspec its = {};
	double first = 0;

	for (int i = 0; i < HTTP_CLIENTS; i++)
		if (h->clients[i].state != C_FREE && (!first || h->clients[i].deadline < first))
			first = h->clients[i].deadline;
	if (first) {
		/* Absolute CLOCK_MONOTONIC, as mono_s() reads it; never 0
		 * (which would disarm). */
		its.it_value.tv_sec = (time_t)first;
		its.it_value.tv_nsec = (long)((first - (time_t)first) * 1e9) + 1;
		if (its.it_value.tv_nsec >= 1000000000L) {
			its.it_value.tv_sec++;
			its.it_value.tv_nsec -= 1000000000L;
		}
	}
	timerfd_settime(h->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void http_serve(struct http *h)
{
	struct epoll_event evs[HTTP_CLIENTS + 2];
	int n = epoll_wait(h->epfd, evs, HTTP_CLIENTS + 2, 0);

	for (int i = 0; i < n; i++) {
		uint32_t id = evs[i].data.u32;
		struct client *c;

		if (!id) {
			http_accept(h);
			continue;
		}
		if (id == ID_TIMER) {
			uint64_t ticks;

			if (read(h->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				dmaw_warn("metrics server timer: %s", strerror(errno));
			continue;
		}
		c = &h->clients[id - 1];
		if (c->state == C_WRITE)
			client_write(h, c);
		else if (c->state != C_FREE)
			client_read(h, c);
	}
	http_expire(h);
	http_arm(h);
}

void http_set_text(struct http *h, const char *text, size_t len)
{
	h->text = text;
	h->text_len = len;
}
