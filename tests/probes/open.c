/* open family.
 *   open|open64|__open|__open64 PATH [FLAGS] [MODE]
 *   __open_2|__open64_2 PATH [FLAGS]        (no O_CREAT: fortify aborts)
 *   openat|openat64 DIR NAME [FLAGS] [MODE]
 *   __openat_2|__openat64_2 DIR NAME [FLAGS]
 *   creat|creat64 PATH [MODE]
 *   fopen|fopen64 PATH [MODE]
 *   freopen|freopen64 PATH [MODE]           (reopens a stream of /dev/null)
 * FLAGS are letters (see OF() in skel.h). Payload: the first line of the file
 * when opened for reading, "written" after writing "probe\n" when opened for
 * writing, "dir" for O_DIRECTORY.
 */
#include "skel.h"

extern int __open(const char *, int, ...);
extern int __open64(const char *, int, ...);
extern int __open_2(const char *, int);
extern int __open64_2(const char *, int);
extern int __openat_2(int, const char *, int);
extern int __openat64_2(int, const char *, int);

static int fd_result(const char *fn, int fd, int err, int flags) {
    if (fd >= 0) {
        if (flags & O_DIRECTORY)
            add("dir");
        else if ((flags & O_ACCMODE) != O_RDONLY)
            add(write(fd, "probe\n", 6) == 6 ? "written" : "<write-error>");
        else
            add_first_line_fd(fd);
        close(fd);
    }
    return out_int(fn, fd, err);
}

static int file_result(const char *fn, FILE *f, int err, const char *mode) {
    if (f) {
        if (strchr(mode, 'w') || strchr(mode, 'a'))
            add(fputs("probe\n", f) >= 0 && fflush(f) == 0 ? "written" : "<write-error>");
        else
            add_first_line_file(f);
        fclose(f);
    }
    return out_ptr(fn, f, err);
}

#define OPEN_PATH(call)                                          \
    do {                                                         \
        NEED(1);                                                 \
        int fl = OF(ARG(1, "r"));                                \
        mode_t md = (mode_t)strtol(ARG(2, "0644"), NULL, 8);     \
        (void)md;                                                \
        const char *p = P(argv[0]);                              \
        errno = 0;                                               \
        int fd = call;                                           \
        int e = errno;                                           \
        return fd_result(fn, fd, e, fl);                         \
    } while (0)

#define OPEN_AT(call)                                            \
    do {                                                         \
        NEED(2);                                                 \
        int d = D(argv[0]);                                      \
        int fl = OF(ARG(2, "r"));                                \
        mode_t md = (mode_t)strtol(ARG(3, "0644"), NULL, 8);     \
        (void)md;                                                \
        const char *p = P(argv[1]);                              \
        errno = 0;                                               \
        int fd = call;                                           \
        int e = errno;                                           \
        return fd_result(fn, fd, e, fl);                         \
    } while (0)

#define FOPEN(call)                                              \
    do {                                                         \
        NEED(1);                                                 \
        const char *m = ARG(1, "r");                             \
        const char *p = P(argv[0]);                              \
        errno = 0;                                               \
        FILE *f = call;                                          \
        int e = errno;                                           \
        return file_result(fn, f, e, m);                         \
    } while (0)

int probe(const char *fn, int argc, char **argv) {
    CASE("open") OPEN_PATH(open(p, fl, md));
    CASE("open64") OPEN_PATH(open64(p, fl, md));
    CASE("__open") OPEN_PATH(__open(p, fl, md));
    CASE("__open64") OPEN_PATH(__open64(p, fl, md));
    CASE("__open_2") OPEN_PATH(__open_2(p, fl));
    CASE("__open64_2") OPEN_PATH(__open64_2(p, fl));
    CASE("openat") OPEN_AT(openat(d, p, fl, md));
    CASE("openat64") OPEN_AT(openat64(d, p, fl, md));
    CASE("__openat_2") OPEN_AT(__openat_2(d, p, fl));
    CASE("__openat64_2") OPEN_AT(__openat64_2(d, p, fl));
    CASE("creat") {
        NEED(1);
        mode_t md = (mode_t)strtol(ARG(1, "0644"), NULL, 8);
        const char *p = P(argv[0]);
        errno = 0;
        int fd = creat(p, md);
        int e = errno;
        return fd_result(fn, fd, e, O_WRONLY);
    }
    CASE("creat64") {
        NEED(1);
        mode_t md = (mode_t)strtol(ARG(1, "0644"), NULL, 8);
        const char *p = P(argv[0]);
        errno = 0;
        int fd = creat64(p, md);
        int e = errno;
        return fd_result(fn, fd, e, O_WRONLY);
    }
    CASE("fopen") FOPEN(fopen(p, m));
    CASE("fopen64") FOPEN(fopen64(p, m));
    CASE("freopen") {
        FILE *old = fopen("/dev/null", "r");
        if (!old)
            setup_failed("fopen", "/dev/null");
        FOPEN(freopen(p, m, old));
    }
    CASE("freopen64") {
        FILE *old = fopen("/dev/null", "r");
        if (!old)
            setup_failed("fopen", "/dev/null");
        FOPEN(freopen64(p, m, old));
    }
    return 2;
}
