/* Shared main() of the probe programs (tests/probes/<family>.c).
 *
 * Usage: probe-<family> [-C DIR] FUNCTION ARG...
 *
 * Each family file defines `int probe(const char *fn, int argc, char **argv)`
 * that calls exactly ONE libc function, selected by name with CASE("name"),
 * and prints exactly one line on stdout:
 *
 *     FUNCTION ret=<value> errno=<NAME or 0>[ <payload>]
 *
 * errno is the symbolic name of errno when the call failed, else 0. Pointer
 * results print as ret=ptr or ret=NULL. Setup calls (opening a dirfd with -C
 * or for `*at` functions) may themselves be hooked: that is intended (a
 * virtual directory as dirfd proves dirfd-relative mapping).
 *
 * Path arguments go through P(): `NULL` is a NULL pointer, `DANGLING` a
 * pointer into an unmapped page, `LONG` a 5000-byte path; anything else is
 * passed as is. Directory-fd arguments go through D(): `AT_FDCWD`, `BADFD`,
 * else the directory is opened (O_RDONLY|O_DIRECTORY) and its fd used.
 * Flag arguments of `*at` functions go through ATF(): letters n (NOFOLLOW),
 * f (FOLLOW), e (EMPTY_PATH), r (REMOVEDIR), a (EACCESS); "0" or "-" is 0.
 *
 * Exit status: 0 when the function was called (whatever its result), 2 on a
 * usage error or an unknown function, 3 when setup failed.
 *
 * Every case that runs is recorded (record.h) for the coverage test.
 */
#ifndef SB2_PROBE_SKEL_H
#define SB2_PROBE_SKEL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "record.h"

#define CASE(name) if (strcmp(fn, name) == 0 && probe_record(name))
#define ARG(i, def) ((i) < argc ? argv[(i)] : (def))
#define NEED(n)                   \
    do {                          \
        if (argc < (n))           \
            usage_of(fn, (n));    \
    } while (0)

int probe(const char *fn, int argc, char **argv);

static __attribute__((unused)) void usage_of(const char *fn, int n) {
    fprintf(stderr, "probe: %s needs %d argument(s)\n", fn, n);
    exit(2);
}

static __attribute__((unused)) void setup_failed(const char *what, const char *arg) {
    fprintf(stderr, "probe: setup failed: %s %s: %s\n", what, arg ? arg : "(null)", strerror(errno));
    exit(3);
}

/* ---- errno names --------------------------------------------------------- */

static const struct {
    int e;
    const char *name;
} errno_names[] = {
#define E(x) {x, #x}
    E(EPERM),     E(ENOENT),       E(ESRCH),      E(EINTR),        E(EIO),        E(ENXIO),
    E(E2BIG),     E(ENOEXEC),      E(EBADF),      E(ECHILD),       E(EAGAIN),     E(ENOMEM),
    E(EACCES),    E(EFAULT),       E(EBUSY),      E(EEXIST),       E(EXDEV),      E(ENODEV),
    E(ENOTDIR),   E(EISDIR),       E(EINVAL),     E(ENFILE),       E(EMFILE),     E(ENOTTY),
    E(ETXTBSY),   E(EFBIG),        E(ENOSPC),     E(ESPIPE),       E(EROFS),      E(EMLINK),
    E(EPIPE),     E(ERANGE),       E(ENAMETOOLONG), E(ENOSYS),     E(ENOTEMPTY),  E(ELOOP),
    E(ENODATA),   E(EOPNOTSUPP),   E(ENOTSOCK),   E(EADDRINUSE),   E(EADDRNOTAVAIL),
    E(ECONNREFUSED), E(EOVERFLOW), E(EDQUOT),     E(ESTALE),       E(EAFNOSUPPORT),
#undef E
};

static __attribute__((unused)) const char *errname(int e) {
    static char buf[32];
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].e == e)
            return errno_names[i].name;
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

/* ---- payload ------------------------------------------------------------- */

static char payload[1 << 16];
static size_t plen;

/* Appends to the payload (separated from earlier parts by a space). */
__attribute__((format(printf, 1, 2), unused)) static void add(const char *fmt, ...) {
    if (plen && plen < sizeof payload - 1)
        payload[plen++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(payload + plen, sizeof payload - plen, fmt, ap);
    va_end(ap);
    if (n > 0)
        plen += (size_t)n < sizeof payload - plen ? (size_t)n : sizeof payload - plen - 1;
}

/* Appends raw bytes (file names may not be UTF-8). */
static __attribute__((unused)) void add_bytes(const char *s, size_t n) {
    if (plen && plen < sizeof payload - 1)
        payload[plen++] = ' ';
    if (n > sizeof payload - plen - 1)
        n = sizeof payload - plen - 1;
    memcpy(payload + plen, s, n);
    plen += n;
    payload[plen] = 0;
}

static __attribute__((unused)) char type_letter(mode_t m) {
    if (S_ISREG(m)) return 'f';
    if (S_ISDIR(m)) return 'd';
    if (S_ISLNK(m)) return 'l';
    if (S_ISCHR(m)) return 'c';
    if (S_ISBLK(m)) return 'b';
    if (S_ISFIFO(m)) return 'p';
    if (S_ISSOCK(m)) return 's';
    return '?';
}

static __attribute__((unused)) void add_stat(long long size, mode_t mode) {
    add("size=%lld type=%c", size, type_letter(mode));
}

/* A sorted, comma-separated list of names, after `label` (may be ""). */
static __attribute__((unused)) int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}
static __attribute__((unused)) void add_labelled_list(const char *label, char **names, size_t n) {
    qsort(names, n, sizeof *names, cmp_str);
    char *buf = malloc(1 << 16);
    size_t k = strlen(label);
    memcpy(buf, label, k + 1);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        if (k + l + 2 >= (1 << 16))
            break;
        if (i)
            buf[k++] = ',';
        memcpy(buf + k, names[i], l);
        k += l;
        buf[k] = 0;
    }
    if (k == 0)
        add("<empty>");
    else
        add_bytes(buf, k);
    free(buf);
}
static __attribute__((unused)) void add_list(char **names, size_t n) {
    add_labelled_list("", names, n);
}

/* The first line of an fd / a stream, or <eof>. */
static __attribute__((unused)) void add_first_line_fd(int fd) {
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0) {
        add(n == 0 ? "<eof>" : "<read-error>");
        return;
    }
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    add_bytes(buf, nl ? (size_t)(nl - buf) : (size_t)n);
}
static __attribute__((unused)) void add_first_line_file(FILE *f) {
    char buf[4096];
    if (!fgets(buf, sizeof buf, f)) {
        add("<eof>");
        return;
    }
    buf[strcspn(buf, "\n")] = 0;
    add_bytes(buf, strlen(buf));
}

/* ---- result lines --------------------------------------------------------- */

static int printed;

static __attribute__((unused)) void emit(const char *fn, const char *ret, int failed, int err) {
    fputs(fn, stdout);
    fputs(" ret=", stdout);
    fputs(ret, stdout);
    fputs(" errno=", stdout);
    fputs(failed ? errname(err) : "0", stdout);
    if (plen) {
        fputc(' ', stdout);
        fwrite(payload, 1, plen, stdout);
    }
    fputc('\n', stdout);
    fflush(stdout);
    plen = 0;
    payload[0] = 0;
    printed = 1;
}

/* An integer result; failure is a negative value. */
static __attribute__((unused)) int out_int(const char *fn, long long r, int err) {
    char b[32];
    snprintf(b, sizeof b, "%lld", r);
    emit(fn, b, r < 0, err);
    return 0;
}

/* A pointer result; failure is NULL. */
static __attribute__((unused)) int out_ptr(const char *fn, const void *p, int err) {
    emit(fn, p ? "ptr" : "NULL", p == NULL, err);
    return 0;
}

/* ---- argument decoding ----------------------------------------------------- */

static __attribute__((unused)) const char *P(const char *s) {
    static char *dangling;
    static char long_path[5001];
    if (!s || strcmp(s, "NULL") == 0)
        return NULL;
    if (strcmp(s, "DANGLING") == 0) {
        if (!dangling) {
            /* 16 pages mapped then unmapped; the pointer is in the middle of
             * the hole so a later small mmap (placed at the hole's top) does
             * not make it readable again. */
            size_t pg = (size_t)sysconf(_SC_PAGESIZE);
            char *m = mmap(NULL, 16 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED)
                setup_failed("mmap", "DANGLING");
            memcpy(m + 8 * pg, "/sb2v/file", 11);
            munmap(m, 16 * pg);
            dangling = m + 8 * pg;
        }
        return dangling;
    }
    if (strcmp(s, "LONG") == 0) {
        if (!long_path[0]) {
            /* "/aaaa" x 1000: 5000 bytes, many plausible components. */
            for (int i = 0; i < 1000; i++)
                memcpy(long_path + 5 * i, "/aaaa", 5);
            long_path[5000] = 0;
        }
        return long_path;
    }
    return s;
}

/* A writable copy of a path argument (templates); NULL stays NULL. */
static __attribute__((unused)) char *PW(const char *s) {
    const char *p = P(s);
    if (!p || strcmp(s, "DANGLING") == 0)
        return (char *)p;
    return strdup(p);
}

static __attribute__((unused)) int D(const char *s) {
    if (!s || strcmp(s, "AT_FDCWD") == 0)
        return AT_FDCWD;
    if (strcmp(s, "BADFD") == 0)
        return 9999;
    int fd = open(s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        setup_failed("open dirfd", s);
    return fd;
}

static __attribute__((unused)) int ATF(const char *s) {
    int f = 0;
    if (!s)
        return 0;
    for (; *s; s++) {
        switch (*s) {
        case 'n': f |= AT_SYMLINK_NOFOLLOW; break;
        case 'f': f |= AT_SYMLINK_FOLLOW; break;
        case 'e': f |= AT_EMPTY_PATH; break;
        case 'r': f |= AT_REMOVEDIR; break;
        case 'a': f |= AT_EACCESS; break;
        case '0': case '-': break;
        default: fprintf(stderr, "probe: bad *at flag letter '%c'\n", *s); exit(2);
        }
    }
    return f;
}

/* open(2) flags from letters: r (RDONLY, default), w (WRONLY), W (RDWR),
 * c (CREAT), t (TRUNC), x (EXCL), a (APPEND), n (NOFOLLOW), d (DIRECTORY),
 * e (CLOEXEC). */
static __attribute__((unused)) int OF(const char *s) {
    int f = O_RDONLY;
    if (!s)
        return f;
    for (; *s; s++) {
        switch (*s) {
        case 'r': break;
        case 'w': f = (f & ~O_ACCMODE) | O_WRONLY; break;
        case 'W': f = (f & ~O_ACCMODE) | O_RDWR; break;
        case 'c': f |= O_CREAT; break;
        case 't': f |= O_TRUNC; break;
        case 'x': f |= O_EXCL; break;
        case 'a': f |= O_APPEND; break;
        case 'n': f |= O_NOFOLLOW; break;
        case 'd': f |= O_DIRECTORY; break;
        case 'e': f |= O_CLOEXEC; break;
        default: fprintf(stderr, "probe: bad open flag letter '%c'\n", *s); exit(2);
        }
    }
    return f;
}

static __attribute__((unused)) long long NUM(const char *s) {
    return s ? strtoll(s, NULL, 0) : 0;
}

int main(int argc, char **argv) {
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "-C") == 0) {
        if (chdir(argv[i + 1]) != 0)
            setup_failed("chdir", argv[i + 1]);
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: %s [-C DIR] FUNCTION ARG...\n", argv[0]);
        return 2;
    }
    const char *fn = argv[i];
    int r = probe(fn, argc - i - 1, argv + i + 1);
    if (!printed) {
        fprintf(stderr, "probe: unknown function '%s'\n", fn);
        return 2;
    }
    return r;
}

#endif
