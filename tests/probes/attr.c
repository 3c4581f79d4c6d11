/* owner, mode, times and extended attributes family.
 *   chmod|lchmod PATH MODE            fchmodat DIR NAME MODE [ATFLAGS]
 *   chown|lchown PATH [UID GID]       fchownat DIR NAME [UID GID [ATFLAGS]]
 *       (UID/GID default -1: no change, but the path must exist)
 *   utime|utimes|lutimes PATH [MTIME] futimesat DIR NAME [MTIME]
 *   utimensat DIR NAME [MTIME [ATFLAGS]]
 *       (atime = mtime = MTIME seconds; none: now)
 *   getxattr|lgetxattr PATH NAME      (payload: the value)
 *   listxattr|llistxattr PATH         (payload: sorted names)
 *   setxattr|lsetxattr PATH NAME VALUE
 *   removexattr|lremovexattr PATH NAME
 */
#include "skel.h"
#include <sys/time.h>
#include <sys/xattr.h>
#include <utime.h>

#define CALL(call)                   \
    do {                             \
        errno = 0;                   \
        long long r = call;          \
        int e = errno;               \
        return out_int(fn, r, e);    \
    } while (0)

static mode_t M(const char *s) { return (mode_t)strtol(s, NULL, 8); }
static long ID(const char *s) { return s ? strtol(s, NULL, 0) : -1; }

/* utime/utimes arguments from an optional MTIME (NULL: now). */
static struct utimbuf ub;
static struct timeval tv[2];
static struct timespec ts[2];
static int have_time(const char *s) {
    if (!s)
        return 0;
    long long t = NUM(s);
    ub.actime = ub.modtime = (time_t)t;
    tv[0].tv_sec = tv[1].tv_sec = (time_t)t;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    ts[0].tv_sec = ts[1].tv_sec = (time_t)t;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    return 1;
}

static int xattr_value(const char *fn, ssize_t r, int e, const char *v) {
    if (r >= 0)
        add_bytes(v, (size_t)r);
    return out_int(fn, r, e);
}

static int xattr_list(const char *fn, ssize_t r, int e, char *l) {
    if (r >= 0) {
        char *names[256];
        size_t n = 0;
        for (char *s = l; s < l + r && n < 256; s += strlen(s) + 1)
            names[n++] = s;
        add_list(names, n);
    }
    return out_int(fn, r, e);
}

int probe(const char *fn, int argc, char **argv) {
    CASE("chmod") { NEED(2); mode_t m = M(argv[1]); const char *p = P(argv[0]); CALL(chmod(p, m)); }
    CASE("lchmod") { NEED(2); mode_t m = M(argv[1]); const char *p = P(argv[0]); CALL(lchmod(p, m)); }
    CASE("fchmodat") { NEED(3); int d = D(argv[0]); mode_t m = M(argv[2]); int fl = ATF(ARG(3, "0")); const char *p = P(argv[1]); CALL(fchmodat(d, p, m, fl)); }
    CASE("chown") { NEED(1); uid_t u = ID(ARG(1, NULL)); gid_t g = ID(ARG(2, NULL)); const char *p = P(argv[0]); CALL(chown(p, u, g)); }
    CASE("lchown") { NEED(1); uid_t u = ID(ARG(1, NULL)); gid_t g = ID(ARG(2, NULL)); const char *p = P(argv[0]); CALL(lchown(p, u, g)); }
    CASE("fchownat") {
        NEED(2);
        int d = D(argv[0]);
        uid_t u = ID(ARG(2, NULL));
        gid_t g = ID(ARG(3, NULL));
        int fl = ATF(ARG(4, "0"));
        const char *p = P(argv[1]);
        CALL(fchownat(d, p, u, g, fl));
    }
    CASE("utime") { NEED(1); int t = have_time(ARG(1, NULL)); const char *p = P(argv[0]); CALL(utime(p, t ? &ub : NULL)); }
    CASE("utimes") { NEED(1); int t = have_time(ARG(1, NULL)); const char *p = P(argv[0]); CALL(utimes(p, t ? tv : NULL)); }
    CASE("lutimes") { NEED(1); int t = have_time(ARG(1, NULL)); const char *p = P(argv[0]); CALL(lutimes(p, t ? tv : NULL)); }
    CASE("futimesat") { NEED(2); int d = D(argv[0]); int t = have_time(ARG(2, NULL)); const char *p = P(argv[1]); CALL(futimesat(d, p, t ? tv : NULL)); }
    CASE("utimensat") {
        NEED(2);
        int d = D(argv[0]);
        int t = have_time(ARG(2, NULL));
        int fl = ATF(ARG(3, "0"));
        const char *p = P(argv[1]);
        CALL(utimensat(d, p, t ? ts : NULL, fl));
    }
    CASE("getxattr") {
        NEED(2);
        char v[4096];
        const char *p = P(argv[0]);
        errno = 0;
        ssize_t r = getxattr(p, argv[1], v, sizeof v);
        int e = errno;
        return xattr_value(fn, r, e, v);
    }
    CASE("lgetxattr") {
        NEED(2);
        char v[4096];
        const char *p = P(argv[0]);
        errno = 0;
        ssize_t r = lgetxattr(p, argv[1], v, sizeof v);
        int e = errno;
        return xattr_value(fn, r, e, v);
    }
    CASE("listxattr") {
        NEED(1);
        char l[8192];
        const char *p = P(argv[0]);
        errno = 0;
        ssize_t r = listxattr(p, l, sizeof l);
        int e = errno;
        return xattr_list(fn, r, e, l);
    }
    CASE("llistxattr") {
        NEED(1);
        char l[8192];
        const char *p = P(argv[0]);
        errno = 0;
        ssize_t r = llistxattr(p, l, sizeof l);
        int e = errno;
        return xattr_list(fn, r, e, l);
    }
    CASE("setxattr") { NEED(3); const char *p = P(argv[0]); CALL(setxattr(p, argv[1], argv[2], strlen(argv[2]), 0)); }
    CASE("lsetxattr") { NEED(3); const char *p = P(argv[0]); CALL(lsetxattr(p, argv[1], argv[2], strlen(argv[2]), 0)); }
    CASE("removexattr") { NEED(2); const char *p = P(argv[0]); CALL(removexattr(p, argv[1])); }
    CASE("lremovexattr") { NEED(2); const char *p = P(argv[0]); CALL(lremovexattr(p, argv[1])); }
    return 2;
}
