/* links and names family.
 *   readlink|__readlink_chk PATH       readlinkat|__readlinkat_chk DIR NAME
 *   realpath|__realpath_chk PATH [NULLBUF]   canonicalize_file_name PATH
 *   chdir PATH                  (payload: getcwd() afterwards, then the
 *                                first line of the relative file REL if given)
 *   fchdir DIR [REL]            (DIR opened as a directory fd: the same)
 *       Both call getcwd() first too, so a cached cwd must be invalidated.
 *   getcwd [SIZE|NULL]          (NULL: getcwd(NULL, 0))
 *   __getcwd_chk [SIZE]         getwd     get_current_dir_name
 * Payload: the returned string.
 */
#include "skel.h"

/* Fortify entry points (declared only with _FORTIFY_SOURCE). */
extern ssize_t __readlink_chk(const char *, char *, size_t, size_t);
extern ssize_t __readlinkat_chk(int, const char *, char *, size_t, size_t);
extern char *__realpath_chk(const char *, char *, size_t);
extern char *__getcwd_chk(char *, size_t, size_t);

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static char buf[PATH_MAX + 1];

#define READLINK(call)                          \
    do {                                        \
        errno = 0;                              \
        ssize_t r = call;                       \
        int e = errno;                          \
        if (r >= 0)                             \
            add_bytes(buf, (size_t)r);          \
        return out_int(fn, r, e);               \
    } while (0)

static int str_result(const char *fn, const char *s, int e) {
    if (s)
        add_bytes(s, strlen(s));
    return out_ptr(fn, s, e);
}

/* After a successful chdir: the new cwd, and a relative file's first line. */
static void after_chdir(const char *rel) {
    char cwd[PATH_MAX];
    const char *c = getcwd(cwd, sizeof cwd);
    add("%s", c ? c : "<getcwd-failed>");
    if (rel) {
        int fd = open(rel, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            add("<open %s: %s>", rel, errname(errno));
        } else {
            add_first_line_fd(fd);
            close(fd);
        }
    }
}

int probe(const char *fn, int argc, char **argv) {
    CASE("readlink") { NEED(1); const char *p = P(argv[0]); READLINK(readlink(p, buf, PATH_MAX)); }
    CASE("__readlink_chk") { NEED(1); const char *p = P(argv[0]); READLINK(__readlink_chk(p, buf, PATH_MAX, sizeof buf)); }
    CASE("readlinkat") { NEED(2); int d = D(argv[0]); const char *p = P(argv[1]); READLINK(readlinkat(d, p, buf, PATH_MAX)); }
    CASE("__readlinkat_chk") { NEED(2); int d = D(argv[0]); const char *p = P(argv[1]); READLINK(__readlinkat_chk(d, p, buf, PATH_MAX, sizeof buf)); }
    CASE("realpath") {
        NEED(1);
        char *out = strcmp(ARG(1, ""), "NULLBUF") == 0 ? NULL : buf;
        const char *p = P(argv[0]);
        errno = 0;
        char *r = realpath(p, out);
        int e = errno;
        return str_result(fn, r, e);
    }
    CASE("__realpath_chk") {
        NEED(1);
        char *out = strcmp(ARG(1, ""), "NULLBUF") == 0 ? NULL : buf;
        const char *p = P(argv[0]);
        errno = 0;
        char *r = __realpath_chk(p, out, sizeof buf);
        int e = errno;
        return str_result(fn, r, e);
    }
    CASE("canonicalize_file_name") {
        NEED(1);
        const char *p = P(argv[0]);
        errno = 0;
        char *r = canonicalize_file_name(p);
        int e = errno;
        return str_result(fn, r, e);
    }
    CASE("chdir") {
        NEED(1);
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            setup_failed("getcwd", "");
        const char *p = P(argv[0]);
        errno = 0;
        int r = chdir(p);
        int e = errno;
        if (r == 0)
            after_chdir(ARG(1, NULL));
        return out_int(fn, r, e);
    }
    CASE("fchdir") {
        NEED(1);
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            setup_failed("getcwd", "");
        int d = D(argv[0]);
        errno = 0;
        int r = fchdir(d);
        int e = errno;
        if (r == 0)
            after_chdir(ARG(1, NULL));
        return out_int(fn, r, e);
    }
    CASE("getcwd") {
        const char *a = ARG(0, "");
        errno = 0;
        char *r;
        if (strcmp(a, "NULL") == 0)
            r = getcwd(NULL, 0);
        else
            r = getcwd(buf, *a ? (size_t)NUM(a) : sizeof buf);
        int e = errno;
        return str_result(fn, r, e);
    }
    CASE("__getcwd_chk") {
        size_t n = argc > 0 ? (size_t)NUM(argv[0]) : sizeof buf;
        errno = 0;
        char *r = __getcwd_chk(buf, n, sizeof buf);
        int e = errno;
        return str_result(fn, r, e);
    }
    CASE("getwd") {
        errno = 0;
        char *r = getwd(buf);
        int e = errno;
        return str_result(fn, r, e);
    }
    CASE("get_current_dir_name") {
        errno = 0;
        char *r = get_current_dir_name();
        int e = errno;
        return str_result(fn, r, e);
    }
    return 2;
}
