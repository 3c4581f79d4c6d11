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

/* Declares `argv` (a VLA) holding `first` and the variadic arguments up
 * to their NULL, and leaves `ap` just after that NULL. Returns E2BIG from
 * the enclosing function if there are too many. */
#define PACK_ARGV(first, ap, argv)                                             \
	size_t n_ = 1;                                                         \
	{                                                                      \
		va_list c_;                                                    \
		va_copy(c_, ap);                                               \
		if (first)                                                     \
			while (va_arg(c_, const char *) && n_ < SB2_MAX_ARGS) \
				n_++;                                          \
		va_end(c_);                                                    \
	}                                                                      \
	if (n_ >= SB2_MAX_ARGS) {                                              \
		va_end(ap);                                                    \
		errno = E2BIG;                                                 \
		return -1;                                                     \
	}                                                                      \
	const char *argv[n_ + 1];                                              \
	argv[0] = first;                                                       \
	for (size_t i_ = 1; first && i_ <= n_; i_++)                           \
		argv[i_] = va_arg(ap, const char *); /* the last is the NULL */ \
	argv[first ? n_ : 1] = NULL

__attribute__((visibility("default"))) int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	PACK_ARGV(arg, ap, argv);
	va_end(ap);
	return execv(path, (char *const *)argv);
}

__attribute__((visibility("default"))) int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	PACK_ARGV(arg, ap, argv);
	va_end(ap);
	return execvp(file, (char *const *)argv);
}

__attribute__((visibility("default"))) int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	PACK_ARGV(arg, ap, argv);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, (char *const *)argv, envp);
}
