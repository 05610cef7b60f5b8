// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: any request bytes get one of the five verdicts, and only a
 * GET or HEAD of /metrics (a query string aside) is served. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *req;
	enum http_verdict v;

	if (size >= HTTP_REQ_MAX)
		return 0;
	req = malloc(size + 1);
	if (!req)
		return 0;
	memcpy(req, data, size);
	req[size] = 0;
	v = http_parse_request(req, size);
	if (v != HTTP_GET_METRICS && v != HTTP_HEAD_METRICS && v != HTTP_BAD_REQUEST &&
	    v != HTTP_BAD_METHOD && v != HTTP_NOT_FOUND)
		abort();
	/* Served only for a request line that names /metrics. */
	if ((v == HTTP_GET_METRICS || v == HTTP_HEAD_METRICS) &&
	    (memchr(data, 0, size) || !strstr(req, "/metrics") || !strstr(req, "HTTP/1.")))
		abort();
	free(req);
	return 0;
}
