/* access family.
 *   access|euidaccess|eaccess PATH [MODE]
 *   faccessat DIR NAME [MODE] [ATFLAGS]
 * MODE is letters f (F_OK, default), r, w, x.
 */
#include "skel.h"

static int amode(const char *s) {
    int m = F_OK;
    for (; s && *s; s++) {
        switch (*s) {
        case 'f': break;
        case 'r': m |= R_OK; break;
        case 'w': m |= W_OK; break;
        case 'x': m |= X_OK; break;
        default: fprintf(stderr, "probe: bad access mode letter '%c'\n", *s); exit(2);
        }
    }
    return m;
}

#define ACCESS(call)                      \
    do {                                  \
        NEED(1);                          \
        int m = amode(ARG(1, "f"));       \
        const char *p = P(argv[0]);       \
        errno = 0;                        \
        int r = call;                     \
        int e = errno;                    \
        return out_int(fn, r, e);         \
    } while (0)

int probe(const char *fn, int argc, char **argv) {
    CASE("access") ACCESS(access(p, m));
    CASE("euidaccess") ACCESS(euidaccess(p, m));
    CASE("eaccess") ACCESS(eaccess(p, m));
    CASE("faccessat") {
        NEED(2);
        int d = D(argv[0]);
        int m = amode(ARG(2, "f"));
        int fl = ATF(ARG(3, "0"));
        const char *p = P(argv[1]);
        errno = 0;
        int r = faccessat(d, p, m, fl);
        int e = errno;
        return out_int(fn, r, e);
    }
    return 2;
}
