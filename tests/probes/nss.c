/* nss family: the passwd, group and shadow databases.
 *   getpwnam NAME | getpwuid UID | getgrnam NAME | getgrgid GID | getspnam NAME
 *       (payload: the entry as its file line, or nothing)
 *   getpwnam_r NAME BUFLEN | getpwuid_r UID BUFLEN | getgrnam_r NAME BUFLEN |
 *   getgrgid_r GID BUFLEN | getspnam_r NAME BUFLEN
 *       (ret: the returned error number's name or 0; payload: the entry,
 *        or "NULL" when *result is NULL)
 *   getpwent | getgrent   (every entry: ret the count, payload the names)
 *   getpwent_r BUFLEN | getgrent_r BUFLEN   (the first call with BUFLEN,
 *       the rest with 64 KiB: payload "first=RC A,B,... end=RC")
 *   setpwent | endpwent | setgrent | endgrent   (two entries read, then
 *       the call, then one: payload "A,B|A")
 *   getgrouplist USER GID N   (room for N groups: payload "n=NGROUPS G1,...")
 * errno is set to 0 before each call and printed as it is after it.
 */
#include "skel.h"
#include <grp.h>
#include <pwd.h>
#include <shadow.h>

static char big[1 << 16];

/* Appends without a separator. */
static void append(const char *s) {
    size_t n = strlen(s);
    if (n > sizeof payload - plen - 1)
        n = sizeof payload - plen - 1;
    memcpy(payload + plen, s, n);
    plen += n;
    payload[plen] = 0;
}

static void add_pw(const struct passwd *p) {
    if (p)
        add("%s:%s:%u:%u:%s:%s:%s", p->pw_name, p->pw_passwd, (unsigned)p->pw_uid, (unsigned)p->pw_gid,
            p->pw_gecos, p->pw_dir, p->pw_shell);
    else
        add("NULL");
}

static void add_gr(const struct group *g) {
    if (!g) {
        add("NULL");
        return;
    }
    add("%s:%s:%u:", g->gr_name, g->gr_passwd, (unsigned)g->gr_gid);
    for (char **m = g->gr_mem; *m; m++) {
        if (m != g->gr_mem)
            append(",");
        append(*m);
    }
}

static void add_sp(const struct spwd *s) {
    if (s)
        add("%s:%s:%ld:%ld:%ld:%ld:%ld:%ld:%ld", s->sp_namp, s->sp_pwdp, s->sp_lstchg, s->sp_min, s->sp_max,
            s->sp_warn, s->sp_inact, s->sp_expire, (long)s->sp_flag);
    else
        add("NULL");
}

/* A `_r` result: the error number it returned, errno as it is after. */
static int out_r(const char *fn, int rc, int e) {
    emit(fn, rc ? errname(rc) : "0", e != 0, e);
    return 0;
}

/* A list of names, comma-separated, as one payload part. */
static void add_name(int first, const char *name) {
    if (first)
        add("%s", name);
    else {
        append(",");
        append(name);
    }
}

#define ENUM(getent, T, NAME)                                     \
    do {                                                          \
        int n = 0;                                                \
        T *p;                                                     \
        errno = 0;                                                \
        while ((p = getent()) != NULL)                            \
            add_name(n++ == 0, p->NAME);                          \
        int e = errno;                                            \
        return out_int(fn, n, e);                                 \
    } while (0)

#define ENUM_R(getent_r, T, NAME)                                          \
    do {                                                                   \
        NEED(1);                                                           \
        T ent, *res;                                                       \
        char *b = big;                                                     \
        errno = 0;                                                         \
        int rc = getent_r(&ent, b, (size_t)NUM(argv[0]), &res);            \
        int e = errno;                                                     \
        add("first=%s", rc ? errname(rc) : "0");                       \
        int n = 0;                                                         \
        if (rc == 0)                                                       \
            add_name(1, res->NAME), n++;                                   \
        for (;;) {                                                         \
            rc = getent_r(&ent, b, sizeof big, &res);                      \
            if (rc != 0)                                                   \
                break;                                                     \
            if (n++ == 0)                                                  \
                add_name(1, res->NAME);                                    \
            else                                                           \
                add_name(0, res->NAME);                                    \
        }                                                                  \
        add("end=%s", rc ? errname(rc) : "0");                             \
        return out_r(fn, 0, e);                                            \
    } while (0)

/* getent twice, the call, getent once: "A,B|A". */
#define REWIND(call, getent, T, NAME)                             \
    do {                                                          \
        T *a = getent();                                          \
        add("%s", a ? a->NAME : "NULL");                          \
        T *b = getent();                                          \
        add_name(0, b ? b->NAME : "NULL");                        \
        errno = 0;                                                \
        call();                                                   \
        int e = errno;                                            \
        T *c = getent();                                          \
        append("|");                                              \
        append(c ? c->NAME : "NULL");                             \
        emit(fn, "void", e != 0, e);                              \
        return 0;                                                 \
    } while (0)

#define LOOKUP(call, ADD)                                         \
    do {                                                          \
        NEED(1);                                                  \
        errno = 0;                                                \
        void *p = (void *)(call);                                 \
        int e = errno;                                            \
        if (p)                                                    \
            ADD(p);                                               \
        emit(fn, p ? "ptr" : "NULL", e != 0, e);                  \
        return 0;                                                 \
    } while (0)

#define LOOKUP_R(call, T, ADD)                                    \
    do {                                                          \
        NEED(2);                                                  \
        T ent, *res = (T *)1;                                     \
        errno = 0;                                                \
        int rc = call(&ent, big, (size_t)NUM(argv[1]), &res);     \
        int e = errno;                                            \
        ADD(res);                                                 \
        return out_r(fn, rc, e);                                  \
    } while (0)

#define ID(s) ((unsigned)strtoul((s), NULL, 0))

int probe(const char *fn, int argc, char **argv) {
    CASE("getpwnam") LOOKUP(getpwnam(argv[0]), add_pw);
    CASE("getpwuid") LOOKUP(getpwuid(ID(argv[0])), add_pw);
    CASE("getgrnam") LOOKUP(getgrnam(argv[0]), add_gr);
    CASE("getgrgid") LOOKUP(getgrgid(ID(argv[0])), add_gr);
    CASE("getspnam") LOOKUP(getspnam(argv[0]), add_sp);
#define PWNAM(e, b, n, r) getpwnam_r(argv[0], e, b, n, r)
#define PWUID(e, b, n, r) getpwuid_r(ID(argv[0]), e, b, n, r)
#define GRNAM(e, b, n, r) getgrnam_r(argv[0], e, b, n, r)
#define GRGID(e, b, n, r) getgrgid_r(ID(argv[0]), e, b, n, r)
#define SPNAM(e, b, n, r) getspnam_r(argv[0], e, b, n, r)
    CASE("getpwnam_r") LOOKUP_R(PWNAM, struct passwd, add_pw);
    CASE("getpwuid_r") LOOKUP_R(PWUID, struct passwd, add_pw);
    CASE("getgrnam_r") LOOKUP_R(GRNAM, struct group, add_gr);
    CASE("getgrgid_r") LOOKUP_R(GRGID, struct group, add_gr);
    CASE("getspnam_r") LOOKUP_R(SPNAM, struct spwd, add_sp);
    CASE("lckpwdf") {
        errno = 0;
        int r = lckpwdf();
        int e = errno;
        add("again=%d", lckpwdf());
        char b[16];
        snprintf(b, sizeof b, "%d", r);
        emit(fn, b, r < 0, e);
        ulckpwdf();
        return 0;
    }
    CASE("ulckpwdf") {
        if (lckpwdf() != 0)
            add("lock=failed");
        errno = 0;
        int r = ulckpwdf();
        int e = errno;
        add("again=%d", ulckpwdf());
        char b[16];
        snprintf(b, sizeof b, "%d", r);
        emit(fn, b, r < 0, e);
        return 0;
    }
    CASE("getpwent") ENUM(getpwent, struct passwd, pw_name);
    CASE("getgrent") ENUM(getgrent, struct group, gr_name);
    CASE("getpwent_r") ENUM_R(getpwent_r, struct passwd, pw_name);
    CASE("getgrent_r") ENUM_R(getgrent_r, struct group, gr_name);
    CASE("setpwent") REWIND(setpwent, getpwent, struct passwd, pw_name);
    CASE("endpwent") REWIND(endpwent, getpwent, struct passwd, pw_name);
    CASE("setgrent") REWIND(setgrent, getgrent, struct group, gr_name);
    CASE("endgrent") REWIND(endgrent, getgrent, struct group, gr_name);
    CASE("getgrouplist") {
        NEED(3);
        gid_t list[256];
        int n = (int)NUM(argv[2]);
        if (n < 0 || n > 256)
            usage_of(fn, 3);
        errno = 0;
        int r = getgrouplist(argv[0], ID(argv[1]), list, &n);
        int e = errno;
        add("n=%d", n);
        for (int i = 0; i < n && i < 256 && r >= 0; i++) {
            char g[16];
            snprintf(g, sizeof g, "%s%u", i ? "," : "", (unsigned)list[i]);
            if (i == 0)
                add("%s", g);
            else
                append(g);
        }
        char b[32];
        snprintf(b, sizeof b, "%d", r);
        emit(fn, b, e != 0, e);
        return 0;
    }
    return 2;
}
