/* A valid path with an invalid result buffer: stat, statx and fstatat must
 * fail with EFAULT, as the kernel does, not crash (the preload reads the
 * buffer after its own system call). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	const char *p = argc > 1 ? argv[1] : "/etc/hostname";
	int a = stat(p, (struct stat *)8);
	int ea = errno;
	int b = statx(AT_FDCWD, p, 0, STATX_ALL, (struct statx *)8);
	int eb = errno;
	int c = fstatat(AT_FDCWD, p, (struct stat *)8, 0);
	int ec = errno;
	printf("stat=%d %s statx=%d %s fstatat=%d %s\n", a, strerrorname_np(ea), b, strerrorname_np(eb), c,
	       strerrorname_np(ec));
	return 0;
}
