/* The record of the probe cases that ran (read by tests/tests/coverage.rs).
 *
 * When the environment names a file in SB2_PROBE_RECORD and the process runs
 * in an sb2 session (libsb2.so is loaded: its SB2_PRELOAD_INFO is found),
 * probe_record(NAME) appends "NAME\n" to that file in one write. A probe run
 * outside sb2 records nothing: it did not go through a hook.
 *
 * The record file is opened, written and closed with raw system calls,
 * which libsb2 does not intercept: the name is the host's whatever the
 * session maps, and neither --allow-write, a read-only rule, -R nor --trace
 * sees or refuses the write. No fd stays open (the probes' own fd numbers
 * and fd-counting tests are unaffected) and errno is kept.
 */
#ifndef SB2_PROBE_RECORD_H
#define SB2_PROBE_RECORD_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Always 1, so that it can sit in a case's condition. */
static __attribute__((unused)) int probe_record(const char *name) {
    int saved = errno;
    const char *file = getenv("SB2_PROBE_RECORD");
    if (file && *file && dlsym(RTLD_DEFAULT, "SB2_PRELOAD_INFO")) {
        char line[256];
        size_t n = strlen(name);
        if (n < sizeof line - 1) {
            memcpy(line, name, n);
            line[n++] = '\n';
            long fd = syscall(SYS_openat, AT_FDCWD, file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
            if (fd >= 0) {
                syscall(SYS_write, fd, line, n);
                syscall(SYS_close, fd);
            }
        }
    }
    errno = saved;
    return 1;
}

#endif
