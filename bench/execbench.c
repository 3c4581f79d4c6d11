/* execbench MODE N [PROG]: starts PROG (default /bin/true) N times and
 * prints the microseconds per start. MODE "spawn" uses posix_spawn (make,
 * Python, Rust's Command); "fork" uses fork + execve in the child (shells,
 * older make), where every page the child touches before its exec is a
 * page fault. The parent makes one hooked call first (as every real
 * program does), so that it is attached to a session before it forks. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: execbench spawn|fork N [PROG]\n");
		return 2;
	}
	int fork_mode = strcmp(argv[1], "fork") == 0;
	int n = atoi(argv[2]);
	char *prog = argc > 3 ? argv[3] : "/bin/true";
	char *args[] = {prog, 0};
	struct timespec t0, t1;
	access("/", F_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		pid_t pid;
		if (fork_mode) {
			pid = fork();
			if (pid == 0) {
				execve(prog, args, environ);
				_exit(127);
			}
		} else if (posix_spawn(&pid, prog, 0, 0, args, environ) != 0) {
			perror("posix_spawn");
			return 1;
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "execbench: %s failed\n", prog);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n);
	return 0;
}
