/* create and remove family.
 *   mkdir PATH [MODE]                  mkdirat DIR NAME [MODE]
 *   mknod|__xmknod PATH [TYPE]         mknodat|__xmknodat DIR NAME [TYPE]
 *       TYPE p (fifo, default) or f (regular file)
 *   mkfifo PATH                        mkfifoat DIR NAME
 *   unlink|rmdir|remove PATH           unlinkat DIR NAME [ATFLAGS]
 *   rename OLD NEW                     renameat DIR1 OLD DIR2 NEW
 *   renameat2 DIR1 OLD DIR2 NEW [FLAGS]  (n: NOREPLACE, x: EXCHANGE)
 *   link OLD NEW                       linkat DIR1 OLD DIR2 NEW [ATFLAGS]
 *   symlink TARGET PATH                symlinkat TARGET DIR NAME
 *   truncate|truncate64 PATH LEN
 * MODE is octal (default 0755 for directories, 0644 for nodes).
 */
#include "skel.h"
#include <sys/sysmacros.h>

/* Compat symbols of glibc < 2.33, still exported (not declared any more). */
extern int __xmknod(int, const char *, mode_t, dev_t *);
extern int __xmknodat(int, int, const char *, mode_t, dev_t *);
#define MKNOD_VER 0 /* _MKNOD_VER_LINUX */

static mode_t node_mode(const char *t) {
    if (!t || strcmp(t, "p") == 0)
        return S_IFIFO | 0644;
    if (strcmp(t, "f") == 0)
        return S_IFREG | 0644;
    fprintf(stderr, "probe: bad node type '%s'\n", t);
    exit(2);
}

static unsigned rn_flags(const char *s) {
    unsigned f = 0;
    for (; s && *s; s++) {
        if (*s == 'n') f |= RENAME_NOREPLACE;
        else if (*s == 'x') f |= RENAME_EXCHANGE;
        else if (*s != '0' && *s != '-') { fprintf(stderr, "probe: bad renameat2 flag '%c'\n", *s); exit(2); }
    }
    return f;
}

/* One call, integer result, no payload. */
#define CALL(call)                   \
    do {                             \
        errno = 0;                   \
        long long r = call;          \
        int e = errno;               \
        return out_int(fn, r, e);    \
    } while (0)

int probe(const char *fn, int argc, char **argv) {
    CASE("mkdir") { NEED(1); mode_t m = strtol(ARG(1, "0755"), NULL, 8); const char *p = P(argv[0]); CALL(mkdir(p, m)); }
    CASE("mkdirat") { NEED(2); int d = D(argv[0]); mode_t m = strtol(ARG(2, "0755"), NULL, 8); const char *p = P(argv[1]); CALL(mkdirat(d, p, m)); }
    CASE("mknod") { NEED(1); mode_t m = node_mode(ARG(1, "p")); const char *p = P(argv[0]); CALL(mknod(p, m, 0)); }
    CASE("mknodat") { NEED(2); int d = D(argv[0]); mode_t m = node_mode(ARG(2, "p")); const char *p = P(argv[1]); CALL(mknodat(d, p, m, 0)); }
    CASE("__xmknod") { NEED(1); dev_t dev = 0; mode_t m = node_mode(ARG(1, "p")); const char *p = P(argv[0]); CALL(__xmknod(MKNOD_VER, p, m, &dev)); }
    CASE("__xmknodat") { NEED(2); dev_t dev = 0; int d = D(argv[0]); mode_t m = node_mode(ARG(2, "p")); const char *p = P(argv[1]); CALL(__xmknodat(MKNOD_VER, d, p, m, &dev)); }
    CASE("mkfifo") { NEED(1); const char *p = P(argv[0]); CALL(mkfifo(p, 0644)); }
    CASE("mkfifoat") { NEED(2); int d = D(argv[0]); const char *p = P(argv[1]); CALL(mkfifoat(d, p, 0644)); }
    CASE("unlink") { NEED(1); const char *p = P(argv[0]); CALL(unlink(p)); }
    CASE("unlinkat") { NEED(2); int d = D(argv[0]); int fl = ATF(ARG(2, "0")); const char *p = P(argv[1]); CALL(unlinkat(d, p, fl)); }
    CASE("rmdir") { NEED(1); const char *p = P(argv[0]); CALL(rmdir(p)); }
    CASE("remove") { NEED(1); const char *p = P(argv[0]); CALL(remove(p)); }
    CASE("rename") { NEED(2); const char *a = P(argv[0]), *b = P(argv[1]); CALL(rename(a, b)); }
    CASE("renameat") {
        NEED(4);
        int da = D(argv[0]), db = D(argv[2]);
        const char *a = P(argv[1]), *b = P(argv[3]);
        CALL(renameat(da, a, db, b));
    }
    CASE("renameat2") {
        NEED(4);
        int da = D(argv[0]), db = D(argv[2]);
        unsigned fl = rn_flags(ARG(4, "0"));
        const char *a = P(argv[1]), *b = P(argv[3]);
        CALL(renameat2(da, a, db, b, fl));
    }
    CASE("link") { NEED(2); const char *a = P(argv[0]), *b = P(argv[1]); CALL(link(a, b)); }
    CASE("linkat") {
        NEED(4);
        int da = D(argv[0]), db = D(argv[2]);
        int fl = ATF(ARG(4, "0"));
        const char *a = P(argv[1]), *b = P(argv[3]);
        CALL(linkat(da, a, db, b, fl));
    }
    CASE("symlink") { NEED(2); const char *t = P(argv[0]), *p = P(argv[1]); CALL(symlink(t, p)); }
    CASE("symlinkat") { NEED(3); int d = D(argv[1]); const char *t = P(argv[0]), *p = P(argv[2]); CALL(symlinkat(t, d, p)); }
    CASE("truncate") { NEED(2); off_t l = NUM(argv[1]); const char *p = P(argv[0]); CALL(truncate(p, l)); }
    CASE("truncate64") { NEED(2); off64_t l = NUM(argv[1]); const char *p = P(argv[0]); CALL(truncate64(p, l)); }
    return 2;
}
