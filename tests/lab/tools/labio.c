// SPDX-License-Identifier: GPL-2.0
/*
 * labio: the lab's O_DIRECT workload generator.
 *
 * busybox dd reads into malloc()ed memory, whose pages are rarely physically
 * contiguous, so the block layer never builds a DMA segment larger than a
 * page from it. labio can back its buffer with a hugetlb page instead: a
 * 2 MiB physically contiguous buffer lets a driver that ignores
 * dma_max_mapping_size() build one segment larger than SWIOTLB can map,
 * the mapping that can never be bounced.
 *
 *   labio write|read DEVICE TOTAL_BYTES BLOCK_BYTES [hugetlb]
 *   labio peak FILE PID
 *
 * Prints "bytes N" (bytes moved) and "ns N" (the time the IO took,
 * CLOCK_MONOTONIC: the bench's throughput figure) and exits 0 when
 * everything moved, 1 on an I/O error (after printing "error ERRNO-NAME").
 *
 * peak: reads the number in FILE (debugfs io_tlb_used) over and over, with
 * no fork between reads, while process PID runs, and prints the largest:
 * a shell loop of cat misses mappings that live for microseconds. A read
 * that fails is an error, never a peak of 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static unsigned long long parse_size(const char *arg)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || !v) {
		fprintf(stderr, "labio: bad size '%s'\n", arg);
		exit(2);
	}
	return v;
}

static int running(const char *pid)
{
	char path[64], buf[256], *paren;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "pid (comm) S ...": the state after the last ')'. */
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z';
}

static int peak(const char *file, const char *pid)
{
	unsigned long long max = 0, v;
	char buf[32];
	int fd, n;

	/* Opened for each read: debugfs attribute files are not seekable
	 * (simple_attr_open: nonseekable_open), so pread fails with ESPIPE. */
	do {
		fd = open(file, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "labio: %s: %s\n", file, strerror(errno));
			return 1;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0) {
			fprintf(stderr, "labio: reading %s: %s\n", file,
				n ? strerror(errno) : "empty");
			return 1;
		}
		buf[n] = 0;
		v = strtoull(buf, NULL, 10);
		if (v > max)
			max = v;
	} while (running(pid));
	printf("%llu\n", max);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long total, block, done = 0;
	struct timespec t0, t1;
	int writing, hugetlb, fd;
	void *buf;

	if (argc == 4 && !strcmp(argv[1], "peak"))
		return peak(argv[2], argv[3]);
	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: labio write|read DEVICE TOTAL BLOCK [hugetlb] | "
				"labio peak FILE PID\n");
		return 2;
	}
	writing = !strcmp(argv[1], "write");
	if (!writing && strcmp(argv[1], "read")) {
		fprintf(stderr, "labio: '%s' is neither write nor read\n", argv[1]);
		return 2;
	}
	total = parse_size(argv[3]);
	block = parse_size(argv[4]);
	hugetlb = argc == 6 && !strcmp(argv[5], "hugetlb");

	buf = mmap(NULL, block, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | (hugetlb ? MAP_HUGETLB : 0), -1, 0);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "labio: mmap %llu bytes%s: %s\n", block,
			hugetlb ? " (hugetlb: set /proc/sys/vm/nr_hugepages)" : "",
			strerror(errno));
		return 2;
	}
	memset(buf, 0xa5, block);

	fd = open(argv[2], (writing ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "labio: open %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < total) {
		size_t len = total - done < block ? total - done : block;
		ssize_t n = writing ? pwrite(fd, buf, len, done) : pread(fd, buf, len, done);

		if (n <= 0) {
			printf("bytes %llu\nerror %s\n", done,
			       n < 0 ? strerrorname_np(errno) : "short");
			return 1;
		}
		done += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("bytes %llu\nns %lld\n", done,
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	close(fd);
	return 0;
}
