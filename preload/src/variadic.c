/* execl, execle, execlp: C-variadic, which stable Rust cannot define.
 * Each packs its arguments into an argv array on the stack (no malloc: it
 * may run in a vfork child) and calls the execv, execve or execvp hook of
 * libsb2 (preload/src/table.rs), so they go through the same pipeline. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

/* Declared here, not from <unistd.h>: glibc marks `arg` nonnull there, and
 * the compiler would then drop our NULL check (execl(path, NULL) exists). */
int execv(const char *path, char *const argv[]);
int execvp(const char *file, char *const argv[]);
int execve(const char *path, char *const argv[], char *const envp[]);

/* Linux's ARG_MAX bounds the count; beyond this, E2BIG like the kernel. */
#define SB2_MAX_ARGS 65536

#define COUNT_ARGS(first, ap, n)                                               \
	do {                                                                   \
		va_list c;                                                     \
		va_copy(c, ap);                                                \
		n = 1;                                                         \
		if (first)                                                     \
			while (va_arg(c, const char *) && n < SB2_MAX_ARGS)   \
				n++;                                           \
		va_end(c);                                                     \
	} while (0)

static void fill(const char **argv, const char *first, va_list ap, size_t n)
{
	size_t i = 0;
	argv[i++] = first;
	if (first)
		for (; i < n; i++)
			argv[i] = va_arg(ap, const char *);
	argv[i] = NULL;
}

__attribute__((visibility("default"))) int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n;
	va_start(ap, arg);
	COUNT_ARGS(arg, ap, n);
	if (n >= SB2_MAX_ARGS) {
		va_end(ap);
		errno = E2BIG;
		return -1;
	}
	const char *argv[n + 1];
	fill(argv, arg, ap, n);
	va_end(ap);
	return execv(path, (char *const *)argv);
}

__attribute__((visibility("default"))) int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	size_t n;
	va_start(ap, arg);
	COUNT_ARGS(arg, ap, n);
	if (n >= SB2_MAX_ARGS) {
		va_end(ap);
		errno = E2BIG;
		return -1;
	}
	const char *argv[n + 1];
	fill(argv, arg, ap, n);
	va_end(ap);
	return execvp(file, (char *const *)argv);
}

__attribute__((visibility("default"))) int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n;
	va_start(ap, arg);
	COUNT_ARGS(arg, ap, n);
	if (n >= SB2_MAX_ARGS) {
		va_end(ap);
		errno = E2BIG;
		return -1;
	}
	const char *argv[n + 1];
	fill(argv, arg, ap, n);
	/* fill() stopped before the NULL that ends the list; envp follows it. */
	if (arg)
		(void)va_arg(ap, const char *);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, (char *const *)argv, envp);
}
