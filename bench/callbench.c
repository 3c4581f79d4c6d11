/* Times N calls of stat() or open()+close() on one path and prints the
 * mean nanoseconds per call. Used by bench/run, natively and in sessions. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: callbench stat|open PATH N\n");
		return 2;
	}
	const char *op = argv[1], *path = argv[2];
	long n = atol(argv[3]);
	struct stat st;
	struct timespec a, b;
	int is_stat = strcmp(op, "stat") == 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		if (is_stat) {
			if (stat(path, &st) != 0) { perror(path); return 1; }
		} else {
			int fd = open(path, O_RDONLY);
			if (fd < 0) { perror(path); return 1; }
			close(fd);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
	printf("%.1f\n", ns);
	return 0;
}
