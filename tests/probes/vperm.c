/* virtual permissions family (sb2 -R, -U): the fd-based owner, mode, stat
 * and xattr calls, the stats fts hands out, and the process ids.
 * FILE arguments are opened first (setup: O_RDONLY|O_NONBLOCK, so a fifo
 * does not block; `BADFD` is an fd that is not open) and the call is made
 * on the fd.
 *   fstat|fstat64|__fxstat|__fxstat64 FILE     (__fxstat*: version 1)
 *       payload of stat-like calls: uid=U gid=G mode=OCTAL (the whole
 *       st_mode), and rdev=MAJ:MIN for a device node
 *   fchmod FILE MODE                 fchown FILE UID GID (-1: no change)
 *   futimens|futimes FILE [MTIME]    (atime = mtime = MTIME seconds; none:
 *                                      now)
 *   fgetxattr FILE NAME              (payload: value=V)
 *   fsetxattr FILE NAME VALUE        fremovexattr FILE NAME
 *   flistxattr FILE                  (payload: names=<sorted, comma list>)
 *   fts_read|fts64_read DIR          (fts_open FTS_PHYSICAL; ret: the number
 *                                      of entries, -1 when fts_read failed;
 *                                      payload: sorted NAME:UID:GID:MODE of
 *                                      every entry, postorder visits of
 *                                      directories left out, NAME:! for an
 *                                      entry without a stat)
 *   fts_children|fts64_children DIR  (after one fts_read of DIR; ret and
 *                                      payload as fts_read, for the list)
 *   getuid|geteuid|getgid|getegid    (ret and payload id=N)
 *   getresuid|getresgid              (payload: ids=R,E,S)
 *   getgroups                        (payload: n=N groups=A,B... in order)
 *   setgroups G1[,G2...]|-           initgroups USER GID
 *                                    (payload: groups=... by getgroups after)
 *   setuid|setgid|seteuid|setegid ID  setreuid|setregid R E
 *   setresuid|setresgid R E S        (-1: unchanged; payload: ids=R,E,S of
 *                                      the same kind by getres*id after)
 *   setfsuid|setfsgid ID             (ret: the previous fs id; payload
 *                                      now=N by a second call with -1)
 *   capset [CAP]                     (version 3 header, pid 0; effective and
 *                                      permitted = {CAP}, default
 *                                      CAP_SETFCAP)
 *   unshare FLAGS                    setns NSFILE TYPE  (NSFILE opened
 *                                      read-only first)
 */
#include "skel.h"
#include <fts.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>

/* Compat symbols of glibc < 2.33, still exported (not declared any more). */
extern int __fxstat(int, int, struct stat *);
extern int __fxstat64(int, int, struct stat64 *);
#define STAT_VER 1 /* _STAT_VER_LINUX on x86_64 */

/* glibc exports capset but no header of it declares it (libcap's does). */
extern int capset(void *hdr, void *data);

static long ID(const char *s) { return strtol(s, NULL, 0); }

/* The fd a FILE argument names. */
static int FD(const char *s) {
    if (strcmp(s, "BADFD") == 0)
        return 9999;
    int fd = open(s, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        setup_failed("open", s);
    return fd;
}

static void add_owner_mode(uid_t uid, gid_t gid, mode_t mode, dev_t rdev) {
    add("uid=%u gid=%u mode=%o", (unsigned)uid, (unsigned)gid, (unsigned)mode);
    if (S_ISCHR(mode) || S_ISBLK(mode))
        add("rdev=%u:%u", major(rdev), minor(rdev));
}

#define FSTAT(type, call)                                                 \
    do {                                                                  \
        NEED(1);                                                          \
        type st;                                                          \
        int fd = FD(argv[0]);                                             \
        errno = 0;                                                        \
        int r = call;                                                     \
        int e = errno;                                                    \
        if (r == 0)                                                       \
            add_owner_mode(st.st_uid, st.st_gid, st.st_mode, st.st_rdev); \
        return out_int(fn, r, e);                                         \
    } while (0)

#define CALL(call)                   \
    do {                             \
        errno = 0;                   \
        long long r = call;          \
        int e = errno;               \
        return out_int(fn, r, e);    \
    } while (0)

/* ---- fts ------------------------------------------------------------------- */

static char *ents[4096];
static size_t nents;

static void note_ent(const char *name, int has_stat, const struct stat *st) {
    if (nents >= 4096)
        return;
    char b[PATH_MAX + 64];
    if (has_stat)
        snprintf(b, sizeof b, "%s:%u:%u:%o", name, (unsigned)st->st_uid, (unsigned)st->st_gid,
                 (unsigned)st->st_mode);
    else
        snprintf(b, sizeof b, "%s:!", name);
    ents[nents++] = strdup(b);
}

static int has_stat(int info) {
    return info != FTS_NS && info != FTS_NSOK && info != FTS_ERR && info != FTS_DOT;
}

/* struct stat64 and struct stat are one layout on 64-bit targets. */
#define FTS_OPEN(type, open_)                                   \
    NEED(1);                                                    \
    char *paths[2] = {(char *)P(argv[0]), NULL};                \
    type *t = open_(paths, FTS_PHYSICAL, NULL);                 \
    if (!t)                                                     \
        setup_failed("fts_open", argv[0])

#define FTS_RESULT(ok)                                          \
    int e = errno;                                              \
    long long r = (ok) ? (long long)nents : -1;                 \
    if (ok)                                                     \
        add_list(ents, nents);                                  \
    return out_int(fn, r, e)

#define FTS_READ(type, entry, open_, read_)                                        \
    do {                                                                           \
        FTS_OPEN(type, open_);                                                     \
        entry *ent;                                                                \
        errno = 0;                                                                 \
        while ((ent = read_(t)) != NULL)                                           \
            if (ent->fts_info != FTS_DP)                                           \
                note_ent(ent->fts_name, has_stat(ent->fts_info),                   \
                         (const struct stat *)ent->fts_statp);                     \
        /* fts_read sets errno to 0 at the normal end of the walk. */              \
        FTS_RESULT(errno == 0);                                                    \
    } while (0)

#define FTS_CHILDREN(type, entry, open_, read_, children_)                         \
    do {                                                                           \
        FTS_OPEN(type, open_);                                                     \
        if (!read_(t))                                                             \
            setup_failed("fts_read", argv[0]);                                     \
        errno = 0;                                                                 \
        entry *list = children_(t, 0);                                             \
        for (entry *ent = list; ent; ent = ent->fts_link)                          \
            note_ent(ent->fts_name, has_stat(ent->fts_info),                       \
                     (const struct stat *)ent->fts_statp);                         \
        /* NULL with errno 0: an empty directory. */                               \
        FTS_RESULT(list != NULL || errno == 0);                                    \
    } while (0)

/* ---- ids ------------------------------------------------------------------- */

static gid_t groups_buf[NGROUPS_MAX];

static void add_groups(int n, const gid_t *g) {
    char b[4096];
    size_t k = 0;
    b[0] = 0;
    for (int i = 0; i < n && k < sizeof b - 16; i++)
        k += (size_t)snprintf(b + k, sizeof b - k, "%s%u", i ? "," : "", (unsigned)g[i]);
    add("groups=%s", b);
}

/* The process's groups after a call that set them. */
static void add_groups_now(void) {
    int n = getgroups(NGROUPS_MAX, groups_buf);
    if (n < 0)
        add("groups=!%s", errname(errno));
    else
        add_groups(n, groups_buf);
}

/* The real, effective and saved ids (uid or gid) after a call. */
static void add_ids_now(int gid) {
    unsigned r, e, s;
    int ok = gid ? getresgid(&r, &e, &s) : getresuid(&r, &e, &s);
    if (ok != 0)
        add("ids=!%s", errname(errno));
    else
        add("ids=%u,%u,%u", r, e, s);
}

#define GETID(call)                                   \
    do {                                              \
        errno = 0;                                    \
        unsigned id = call;                           \
        add("id=%u", id);                             \
        return out_int(fn, id, errno);                \
    } while (0)

#define GETRES(call)                                  \
    do {                                              \
        unsigned r_, e_, s_;                          \
        errno = 0;                                    \
        int r = call(&r_, &e_, &s_);                  \
        int e = errno;                                \
        if (r == 0)                                   \
            add("ids=%u,%u,%u", r_, e_, s_);          \
        return out_int(fn, r, e);                     \
    } while (0)

/* A set*id call, then the resulting ids of its kind. */
#define SETID(gid, call)                              \
    do {                                              \
        errno = 0;                                    \
        int r = call;                                 \
        int e = errno;                                \
        add_ids_now(gid);                             \
        return out_int(fn, r, e);                     \
    } while (0)

#define SETFS(call, again)                            \
    do {                                              \
        errno = 0;                                    \
        int r = call;                                 \
        int e = errno;                                \
        add("now=%d", again);                         \
        return out_int(fn, r, e);                     \
    } while (0)

int probe(const char *fn, int argc, char **argv) {
    CASE("fstat") FSTAT(struct stat, fstat(fd, &st));
    CASE("fstat64") FSTAT(struct stat64, fstat64(fd, &st));
    CASE("__fxstat") FSTAT(struct stat, __fxstat(STAT_VER, fd, &st));
    CASE("__fxstat64") FSTAT(struct stat64, __fxstat64(STAT_VER, fd, &st));
    CASE("fchmod") {
        NEED(2);
        mode_t m = (mode_t)strtol(argv[1], NULL, 8);
        int fd = FD(argv[0]);
        CALL(fchmod(fd, m));
    }
    CASE("fchown") {
        NEED(3);
        uid_t u = (uid_t)ID(argv[1]);
        gid_t g = (gid_t)ID(argv[2]);
        int fd = FD(argv[0]);
        CALL(fchown(fd, u, g));
    }
    CASE("futimens") {
        NEED(1);
        struct timespec ts[2] = {{0, 0}, {0, 0}};
        if (argc > 1)
            ts[0].tv_sec = ts[1].tv_sec = (time_t)strtoll(argv[1], NULL, 0);
        int fd = FD(argv[0]);
        CALL(futimens(fd, argc > 1 ? ts : NULL));
    }
    CASE("futimes") {
        NEED(1);
        struct timeval tv[2] = {{0, 0}, {0, 0}};
        if (argc > 1)
            tv[0].tv_sec = tv[1].tv_sec = (time_t)strtoll(argv[1], NULL, 0);
        int fd = FD(argv[0]);
        CALL(futimes(fd, argc > 1 ? tv : NULL));
    }
    CASE("fgetxattr") {
        NEED(2);
        char v[4096 + 6] = "value=";
        int fd = FD(argv[0]);
        errno = 0;
        ssize_t r = fgetxattr(fd, argv[1], v + 6, sizeof v - 6);
        int e = errno;
        if (r >= 0)
            add_bytes(v, 6 + (size_t)r);
        return out_int(fn, r, e);
    }
    CASE("fsetxattr") {
        NEED(3);
        int fd = FD(argv[0]);
        CALL(fsetxattr(fd, argv[1], argv[2], strlen(argv[2]), 0));
    }
    CASE("flistxattr") {
        NEED(1);
        char l[8192];
        int fd = FD(argv[0]);
        errno = 0;
        ssize_t r = flistxattr(fd, l, sizeof l);
        int e = errno;
        if (r >= 0) {
            char *names[256];
            size_t n = 0;
            for (char *s = l; s < l + r && n < 256; s += strlen(s) + 1)
                names[n++] = s;
            add_labelled_list("names=", names, n);
        }
        return out_int(fn, r, e);
    }
    CASE("fremovexattr") {
        NEED(2);
        int fd = FD(argv[0]);
        CALL(fremovexattr(fd, argv[1]));
    }
    CASE("fts_read") FTS_READ(FTS, FTSENT, fts_open, fts_read);
    CASE("fts64_read") FTS_READ(FTS64, FTSENT64, fts64_open, fts64_read);
    CASE("fts_children") FTS_CHILDREN(FTS, FTSENT, fts_open, fts_read, fts_children);
    CASE("fts64_children") FTS_CHILDREN(FTS64, FTSENT64, fts64_open, fts64_read, fts64_children);
    CASE("getuid") GETID(getuid());
    CASE("geteuid") GETID(geteuid());
    CASE("getgid") GETID(getgid());
    CASE("getegid") GETID(getegid());
    CASE("getresuid") GETRES(getresuid);
    CASE("getresgid") GETRES(getresgid);
    CASE("getgroups") {
        errno = 0;
        int r = getgroups(NGROUPS_MAX, groups_buf);
        int e = errno;
        if (r >= 0) {
            add("n=%d", r);
            add_groups(r, groups_buf);
        }
        return out_int(fn, r, e);
    }
    CASE("setgroups") {
        NEED(1);
        gid_t list[256];
        size_t n = 0;
        if (strcmp(argv[0], "-") != 0)
            for (char *s = argv[0]; *s && n < 256; s += *s == ',') {
                list[n++] = (gid_t)strtoul(s, &s, 0);
                if (*s && *s != ',') {
                    fprintf(stderr, "probe: bad group list '%s'\n", argv[0]);
                    exit(2);
                }
            }
        errno = 0;
        int r = setgroups(n, list);
        int e = errno;
        add_groups_now();
        return out_int(fn, r, e);
    }
    CASE("initgroups") {
        NEED(2);
        gid_t g = (gid_t)ID(argv[1]);
        errno = 0;
        int r = initgroups(argv[0], g);
        int e = errno;
        add_groups_now();
        return out_int(fn, r, e);
    }
    CASE("setuid") { NEED(1); SETID(0, setuid((uid_t)ID(argv[0]))); }
    CASE("setgid") { NEED(1); SETID(1, setgid((gid_t)ID(argv[0]))); }
    CASE("seteuid") { NEED(1); SETID(0, seteuid((uid_t)ID(argv[0]))); }
    CASE("setegid") { NEED(1); SETID(1, setegid((gid_t)ID(argv[0]))); }
    CASE("setreuid") { NEED(2); SETID(0, setreuid((uid_t)ID(argv[0]), (uid_t)ID(argv[1]))); }
    CASE("setregid") { NEED(2); SETID(1, setregid((gid_t)ID(argv[0]), (gid_t)ID(argv[1]))); }
    CASE("setresuid") {
        NEED(3);
        SETID(0, setresuid((uid_t)ID(argv[0]), (uid_t)ID(argv[1]), (uid_t)ID(argv[2])));
    }
    CASE("setresgid") {
        NEED(3);
        SETID(1, setresgid((gid_t)ID(argv[0]), (gid_t)ID(argv[1]), (gid_t)ID(argv[2])));
    }
    /* setfsuid(-1) changes nothing and returns the current fs id. */
    CASE("setfsuid") { NEED(1); SETFS(setfsuid((uid_t)ID(argv[0])), setfsuid((uid_t)-1)); }
    CASE("setfsgid") { NEED(1); SETFS(setfsgid((gid_t)ID(argv[0])), setfsgid((gid_t)-1)); }
    CASE("capset") {
        int cap = (int)ID(ARG(0, "31")); /* CAP_SETFCAP */
        struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct data[2];
        memset(data, 0, sizeof data);
        if (cap < 0 || cap >= 64) {
            fprintf(stderr, "probe: capability %d out of range\n", cap);
            exit(2);
        }
        data[cap / 32].effective = data[cap / 32].permitted = 1u << (cap % 32);
        CALL(capset(&hdr, data));
    }
    CASE("unshare") { NEED(1); CALL(unshare((int)ID(argv[0]))); }
    CASE("setns") {
        NEED(2);
        int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "probe: open %s: %s\n", argv[0], strerror(errno));
            exit(2);
        }
        CALL(setns(fd, (int)ID(argv[1])));
    }
    return 2;
}
