/* stat family.
 *   stat|stat64|lstat|lstat64 PATH
 *   __xstat|__xstat64|__lxstat|__lxstat64 PATH        (version 1)
 *   fstatat|fstatat64|__fxstatat|__fxstatat64 DIR NAME [ATFLAGS]
 *   statx DIR NAME [ATFLAGS]
 *   statfs|statfs64|statvfs|statvfs64 PATH             payload: fs id
 *   pathconf PATH                                      (_PC_NAME_MAX)
 * Payload of stat-like calls: size=N type=X.
 */
#include "skel.h"
#include <sys/statfs.h>
#include <sys/statvfs.h>

/* Compat symbols of glibc < 2.33, still exported (not declared any more). */
extern int __xstat(int, const char *, struct stat *);
extern int __xstat64(int, const char *, struct stat64 *);
extern int __lxstat(int, const char *, struct stat *);
extern int __lxstat64(int, const char *, struct stat64 *);
extern int __fxstatat(int, int, const char *, struct stat *, int);
extern int __fxstatat64(int, int, const char *, struct stat64 *, int);
#define STAT_VER 1 /* _STAT_VER_LINUX on x86_64 */

#define STAT_PATH(type, call)                    \
    do {                                         \
        NEED(1);                                 \
        type st;                                 \
        const char *p = P(argv[0]);              \
        errno = 0;                               \
        int r = call;                            \
        int e = errno;                           \
        if (r == 0)                              \
            add_stat(st.st_size, st.st_mode);    \
        return out_int(fn, r, e);                \
    } while (0)

#define STAT_AT(type, call)                      \
    do {                                         \
        NEED(2);                                 \
        type st;                                 \
        int d = D(argv[0]);                      \
        int fl = ATF(ARG(2, "0"));               \
        const char *p = P(argv[1]);              \
        errno = 0;                               \
        int r = call;                            \
        int e = errno;                           \
        if (r == 0)                              \
            add_stat(st.st_size, st.st_mode);    \
        return out_int(fn, r, e);                \
    } while (0)

#define STAT_FS(type, call)                                                 \
    do {                                                                    \
        NEED(1);                                                            \
        type sf;                                                            \
        const char *p = P(argv[0]);                                         \
        errno = 0;                                                          \
        int r = call;                                                       \
        int e = errno;                                                      \
        if (r == 0)                                                         \
            add("blocks=%llu", (unsigned long long)sf.f_blocks);            \
        return out_int(fn, r, e);                                           \
    } while (0)

int probe(const char *fn, int argc, char **argv) {
    CASE("stat") STAT_PATH(struct stat, stat(p, &st));
    CASE("stat64") STAT_PATH(struct stat64, stat64(p, &st));
    CASE("lstat") STAT_PATH(struct stat, lstat(p, &st));
    CASE("lstat64") STAT_PATH(struct stat64, lstat64(p, &st));
    CASE("__xstat") STAT_PATH(struct stat, __xstat(STAT_VER, p, &st));
    CASE("__xstat64") STAT_PATH(struct stat64, __xstat64(STAT_VER, p, &st));
    CASE("__lxstat") STAT_PATH(struct stat, __lxstat(STAT_VER, p, &st));
    CASE("__lxstat64") STAT_PATH(struct stat64, __lxstat64(STAT_VER, p, &st));
    CASE("fstatat") STAT_AT(struct stat, fstatat(d, p, &st, fl));
    CASE("fstatat64") STAT_AT(struct stat64, fstatat64(d, p, &st, fl));
    CASE("__fxstatat") STAT_AT(struct stat, __fxstatat(STAT_VER, d, p, &st, fl));
    CASE("__fxstatat64") STAT_AT(struct stat64, __fxstatat64(STAT_VER, d, p, &st, fl));
    CASE("statx") {
        NEED(2);
        struct statx stx;
        int d = D(argv[0]);
        int fl = ATF(ARG(2, "0"));
        const char *p = P(argv[1]);
        errno = 0;
        int r = statx(d, p, fl, STATX_BASIC_STATS, &stx);
        int e = errno;
        if (r == 0)
            add_stat((long long)stx.stx_size, stx.stx_mode);
        return out_int(fn, r, e);
    }
    CASE("statfs") STAT_FS(struct statfs, statfs(p, &sf));
    CASE("statfs64") STAT_FS(struct statfs64, statfs64(p, &sf));
    CASE("statvfs") STAT_FS(struct statvfs, statvfs(p, &sf));
    CASE("statvfs64") STAT_FS(struct statvfs64, statvfs64(p, &sf));
    CASE("pathconf") {
        NEED(1);
        const char *p = P(argv[0]);
        errno = 0;
        long r = pathconf(p, _PC_NAME_MAX);
        int e = errno;
        return out_int(fn, r, e);
    }
    return 2;
}
