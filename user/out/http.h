/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /metrics over HTTP/1.0, one request per connection, everything non-blocking from the
 * interval loop: the loop watches one fd (http.epfd), so the listening socket and the
 * clients sit in an epoll set and the epoll fd is the loop's input. A client
 * gets HTTP_TIMEOUT_S for the whole exchange and a slot among HTTP_CLIENTS;
 * past either it is closed, so a slow or silent client costs one slot for
 * a few seconds and never stalls the exporter. */

#ifndef DMAWATCH_HTTP_H
#define DMAWATCH_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

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
	int tfd;          /* timerfd at the earliest client deadline */
	double timeout_s; /* per client, HTTP_TIMEOUT_S (tests shorten it) */
	char where[80];   /* ADDR:PORT, for messages */
	struct client clients[HTTP_CLIENTS];
	const char *text; /* the latest metrics, owned by export_ctx */
	size_t text_len;
};

enum http_verdict {
	HTTP_GET_METRICS,
	HTTP_HEAD_METRICS,
	HTTP_BAD_REQUEST, /* 400: not an HTTP/1.x request line, or a NUL in it */
	HTTP_BAD_METHOD,  /* 405: only GET and HEAD */
	HTTP_NOT_FOUND,   /* 404: only /metrics (a query string is ignored) */
};

/* What to answer to a request: its first len bytes (req[len] is NUL). The
 * request line only, METHOD SP TARGET SP VERSION; the headers after it are
 * not read. Pure: the fuzz target calls it. */
enum http_verdict http_parse_request(const char *req, size_t len);

/* "PORT", ":PORT", "ADDR:PORT" or "[ADDR6]:PORT" (numeric; a bare port
 * is 127.0.0.1). 0 or -EINVAL. */
int http_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen);
/* Listens; prints why not. 0 or a negative errno. */
int http_open(struct http *h, const struct sockaddr_storage *ss, socklen_t sslen, const char *spec);
/* Serves whatever h->epfd has ready, without blocking, then closes the
 * clients past their deadline. */
void http_serve(struct http *h);
/* What /metrics serves from now on (h keeps the pointer, not a copy). */
void http_set_text(struct http *h, const char *text, size_t len);
/* Closes every client and the socket; safe twice and after a failed open. */
void http_close(struct http *h);

#endif
