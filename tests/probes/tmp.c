/* temporary files family.
 *   mkstemp|mkstemp64 TEMPLATE               mkostemp|mkostemp64 TEMPLATE [OFLAGS]
 *   mkstemps|mkstemps64 TEMPLATE SUFFIXLEN   mkostemps|mkostemps64 TEMPLATE SUFFIXLEN [OFLAGS]
 *   mkdtemp TEMPLATE    mktemp TEMPLATE
 *   tmpnam [BUF]        (BUF: a caller buffer; default tmpnam(NULL))
 *   tempnam DIR PFX     (DIR may be NULL; TMPDIR is unset first)
 * Payload: the template after the call (the file descriptors write "probe"),
 * or the returned name.
 */
#include "skel.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static int fd_tmpl(const char *fn, int fd, int e, const char *t) {
    if (fd >= 0) {
        if (write(fd, "probe\n", 6) != 6)
            add("<write-error>");
        close(fd);
    }
    if (t)
        add_bytes(t, strlen(t));
    return out_int(fn, fd, e);
}

#define MKS(call)                           \
    do {                                    \
        NEED(1);                            \
        char *t = PW(argv[0]);              \
        errno = 0;                          \
        int fd = call;                      \
        int e = errno;                      \
        return fd_tmpl(fn, fd, e, t);       \
    } while (0)

static int OFL(const char *s) {
    int f = 0;
    for (; s && *s; s++) {
        if (*s == 'e') f |= O_CLOEXEC;
        else if (*s == 'a') f |= O_APPEND;
        else if (*s != '0' && *s != '-') { fprintf(stderr, "probe: bad flag '%c'\n", *s); exit(2); }
    }
    return f;
}

static int str_result(const char *fn, const char *s, int e) {
    if (s)
        add_bytes(s, strlen(s));
    return out_ptr(fn, s, e);
}

int probe(const char *fn, int argc, char **argv) {
    CASE("mkstemp") MKS(mkstemp(t));
    CASE("mkstemp64") MKS(mkstemp64(t));
    CASE("mkostemp") MKS(mkostemp(t, OFL(ARG(1, "0"))));
    CASE("mkostemp64") MKS(mkostemp64(t, OFL(ARG(1, "0"))));
    CASE("mkstemps") MKS(mkstemps(t, (int)NUM(ARG(1, "0"))));
    CASE("mkstemps64") MKS(mkstemps64(t, (int)NUM(ARG(1, "0"))));
    CASE("mkostemps") MKS(mkostemps(t, (int)NUM(ARG(1, "0")), OFL(ARG(2, "0"))));
    CASE("mkostemps64") MKS(mkostemps64(t, (int)NUM(ARG(1, "0")), OFL(ARG(2, "0"))));
    CASE("mkdtemp") {
        NEED(1);
        char *t = PW(argv[0]);
        errno = 0;
        char *r = mkdtemp(t);
        int e = errno;
        if (r)
            add_bytes(r, strlen(r));
        if (r != t && r)
            add("<not-the-template>");
        return out_ptr(fn, r, e);
    }
    CASE("mktemp") {
        NEED(1);
        char *t = PW(argv[0]);
        errno = 0;
        char *r = mktemp(t);
        int e = errno;
        /* mktemp "fails" by making the template empty. */
        if (r && *r)
            add_bytes(r, strlen(r));
        else if (r)
            add("<empty>");
        return out_ptr(fn, r && *r ? r : NULL, e);
    }
    CASE("tmpnam") {
        static char b[L_tmpnam];
        char *arg = argc > 0 && strcmp(argv[0], "BUF") == 0 ? b : NULL;
        errno = 0;
        char *r = tmpnam(arg);
        int e = errno;
        return str_result(fn, r, e);
    }
    CASE("tempnam") {
        NEED(2);
        unsetenv("TMPDIR");
        const char *d = P(argv[0]);
        errno = 0;
        char *r = tempnam(d, argv[1]);
        int e = errno;
        return str_result(fn, r, e);
    }
    return 2;
}
