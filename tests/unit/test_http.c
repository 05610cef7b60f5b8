// SPDX-License-Identifier: GPL-2.0
/*
 * The /metrics server against clients: well-formed scrapes, and hostile
 * ones (bad methods and paths, garbage, headers past the buffer, requests
 * that stall half-way, more connections than slots, resets). It runs as
 * root and parses network input, so: every answer correct, memory fixed
 * (no allocation grows with the input: the request buffer is per slot),
 * time bounded (a stalled client is closed at its deadline, not at the
 * next interval), no fd left behind. The server runs in a thread the way
 * the exporter runs it: epoll_wait on its fd, then http_serve().
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "out/http.h"

static const char metrics[] = "# HELP dmawatch_up 1 while running.\ndmawatch_up 1\n";

static struct http h;
static struct sockaddr_storage ss;
static socklen_t sslen;
static pthread_t server;
static volatile int stop;

static void *serve(void *arg)
{
	(void)arg;
	while (!stop) {
		struct pollfd p = { .fd = h.epfd, .events = POLLIN };

		if (poll(&p, 1, 50) > 0)
			http_serve(&h);
	}
	return NULL;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static int fds_before;

static int setup(void **state)
{
	(void)state;
	fds_before = open_fds();
	/* Port 0: the kernel picks a free one; read it back. */
	if (http_parse_listen("127.0.0.1:1", &ss, &sslen))
		return -1;
	((struct sockaddr_in *)&ss)->sin_port = 0;
	if (http_open(&h, &ss, sslen, "test"))
		return -1;
	if (getsockname(h.lfd, (struct sockaddr *)&ss, &sslen))
		return -1;
	h.timeout_s = 0.5;
	http_set_text(&h, metrics, strlen(metrics));
	stop = 0;
	return pthread_create(&server, NULL, serve, NULL);
}

static int teardown(void **state)
{
	(void)state;
	stop = 1;
	pthread_join(server, NULL);
	http_close(&h);
	/* Everything the server opened is closed again. */
	return open_fds() == fds_before ? 0 : -1;
}

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, sslen), 0);
	return fd;
}

/* Everything until the server closes (or 5 s); returns the length. */
static size_t read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			break;
		n = recv(fd, buf + got, len - 1 - got, 0);
		if (n <= 0)
			break;
		got += n;
		if (got == len - 1)
			break;
	}
	buf[got] = 0;
	return got;
}

static void exchange_n(const char *req, size_t n, char *resp, size_t len)
{
	int fd = dial();

	assert_int_equal(send(fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
	read_all(fd, resp, len);
	close(fd);
}

static void exchange(const char *req, char *resp, size_t len)
{
	exchange_n(req, strlen(req), resp, len);
}

static void test_scrape(void **state)
{
	char resp[1024];

	(void)state;
	exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp));
	assert_non_null(strstr(resp, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(resp, "text/plain; version=0.0.4"));
	assert_non_null(strstr(resp, "\r\n\r\n# HELP dmawatch_up"));
	exchange("GET /metrics?x=1 HTTP/1.0\n\n", resp, sizeof(resp));
	assert_non_null(strstr(resp, "200 OK"));
	exchange("HEAD /metrics HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	assert_non_null(strstr(resp, "200 OK"));
	assert_null(strstr(resp, "dmawatch_up"));
}

static void test_bad_requests(void **state)
{
	static const struct {
		const char *req, *status;
		size_t len; /* for requests with NUL bytes */
	} cases[] = {
		{ "POST /metrics HTTP/1.1\r\n\r\n", "405 ", 0 },
		{ "DELETE / HTTP/1.1\r\n\r\n", "405 ", 0 },
		{ "GET /etc/passwd HTTP/1.1\r\n\r\n", "404 ", 0 },
		{ "GET ../../metrics HTTP/1.1\r\n\r\n", "404 ", 0 },
		{ "GET /metrics SPDY/9\r\n\r\n", "400 ", 0 },
		/* A TLS ClientHello's first bytes, NULs included. */
		{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "400 ", 15 },
		{ "GET /metrics\0 HTTP/1.1\r\n\r\n", "400 ", 27 },
		{ "GET\r\n\r\n", "400 ", 0 },
		{ "\r\n\r\n", "400 ", 0 },
		{ "GETTTTTTTTTTTTTTTTTTTTTTTTTT /metrics HTTP/1.1\r\n\r\n", "40", 0 },
	};
	char resp[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		exchange_n(cases[i].req, cases[i].len ? cases[i].len : strlen(cases[i].req), resp,
			   sizeof(resp));
		if (!strstr(resp, cases[i].status))
			fail_msg("case %zu: got '%.40s', want %s", i, resp, cases[i].status);
		assert_null(strstr(resp, "dmawatch_up"));
	}
}

/* Headers past the request buffer: refused, the connection closed. */
static void test_huge_headers(void **state)
{
	size_t len = 1 << 20;
	char *req = malloc(len), resp[1024];
	int fd = dial();
	size_t sent = 0;

	(void)state;
	assert_non_null(req);
	memset(req, 'a', len);
	memcpy(req, "GET /metrics HTTP/1.1\r\nX: ", 26);
	/* The server answers and stops reading long before 1 MiB. */
	while (sent < len) {
		ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break;
		sent += n;
	}
	read_all(fd, resp, sizeof(resp));
	assert_non_null(strstr(resp, "400 Bad Request"));
	assert_non_null(strstr(resp, "request too large"));
	close(fd);
	free(req);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A request that stops half-way is closed at its deadline (0.5 s here),
 * by the server's own timer. */
static void test_stalled_request_is_closed_on_time(void **state)
{
	char resp[64];
	int fd = dial();
	double t0 = now();

	(void)state;
	assert_int_equal(send(fd, "GET /met", 8, MSG_NOSIGNAL), 8);
	assert_int_equal(read_all(fd, resp, sizeof(resp)), 0);
	assert_true(now() - t0 >= 0.4);
	assert_true(now() - t0 < 2.0);
	close(fd);
}

/* More silent connections than slots: the extra ones are closed at once,
 * the others at their deadline, and a scrape works afterwards. */
static void test_many_connections(void **state)
{
	int fds[4 * HTTP_CLIENTS];
	char resp[1024];
	int closed_at_once = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fds[i] = dial();
	usleep(200000);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };

		closed_at_once += poll(&p, 1, 0) > 0;
	}
	assert_true(closed_at_once >= (int)(sizeof(fds) / sizeof(fds[0])) - HTTP_CLIENTS);
	usleep(700000);
	exchange("GET /metrics HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	assert_non_null(strstr(resp, "200 OK"));
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
}

/* Clients that reset mid-request or mid-response: no crash, slot freed. */
static void test_resets(void **state)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char resp[1024];

	(void)state;
	for (int i = 0; i < 3 * HTTP_CLIENTS; i++) {
		int fd = dial();

		if (i % 2)
			send(fd, "GET /metrics HTTP/1.1\r\n\r\n", 25, MSG_NOSIGNAL);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	usleep(100000);
	exchange("GET /metrics HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	assert_non_null(strstr(resp, "200 OK"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scrape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_request_is_closed_on_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resets, setup, teardown),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
