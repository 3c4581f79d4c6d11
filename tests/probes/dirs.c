/* directories and tree walks family.
 *   opendir PATH                      (payload: sorted entry names, no . ..)
 *   scandir|scandir64 PATH            (payload: names; the filter callback
 *                                      lstat()s PATH/NAME, "!" marks a failure)
 *   ftw|ftw64 PATH                    (payload: sorted callback paths; the
 *   nftw|nftw64 PATH [FLAGS]           callback lstat()s each path, "!" marks
 *                                      a failure, "!base" a wrong FTW.base;
 *                                      with FTW_CHDIR the base name is
 *                                      lstat()ed and "!cwd" marks a getcwd()
 *                                      that is not the entry's directory)
 *       FLAGS letters: p FTW_PHYS, d FTW_DEPTH, c FTW_CHDIR, m FTW_MOUNT
 *   fts_open|fts64_open [CHDIR] PATH...  (payload: sorted fts_path of every
 *                                      entry read, "!" marks an entry whose
 *                                      fts_accpath cannot be lstat()ed;
 *                                      "names=" sorted fts_name. FTS_PHYSICAL,
 *                                      and FTS_NOCHDIR unless CHDIR is given:
 *                                      then fts changes directory internally
 *                                      and fts_accpath is relative to it;
 *                                      "!cwd" marks a getcwd() whose last
 *                                      component is not the real cwd's)
 *   glob|glob64 PATTERN               (payload: sorted gl_pathv)
 */
#include "skel.h"
#include <dirent.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <sys/syscall.h>

static char *seen[4096];
static size_t nseen;
static int cb_stat_failed;

static void note(const char *s, const char *mark) {
    if (nseen < 4096) {
        size_t l = strlen(s), m = strlen(mark);
        char *c = malloc(l + m + 1);
        memcpy(c, s, l);
        memcpy(c + l, mark, m + 1);
        seen[nseen++] = c;
    }
}

static int lstat_ok(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

static const char *scandir_dir;
static int scan_filter(const struct dirent *d) {
    if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
        return 0;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", scandir_dir, d->d_name);
    if (!lstat_ok(p))
        cb_stat_failed = 1;
    return 1;
}
static int scan_filter64(const struct dirent64 *d) {
    return scan_filter((const struct dirent *)d);
}

static int ftw_cb(const char *p, const struct stat *sb, int flag) {
    (void)sb;
    (void)flag;
    note(p, lstat_ok(p) ? "" : "!");
    return 0;
}
static int ftw64_cb(const char *p, const struct stat64 *sb, int flag) {
    return ftw_cb(p, (const struct stat *)sb, flag);
}
static int nftw_chdir;
static int nftw_cb(const char *p, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb;
    (void)flag;
    const char *slash = strrchr(p, '/');
    const char *base = slash && slash[1] ? slash + 1 : p;
    int base_ok = f && (size_t)f->base <= strlen(p) && strcmp(p + f->base, base) == 0;
    const char *mark = "";
    if (nftw_chdir) {
        /* The walker is in the entry's directory: use the base name. */
        char cwd[PATH_MAX], dir[PATH_MAX];
        size_t dl = slash ? (size_t)(slash - p) : 0;
        snprintf(dir, sizeof dir, "%.*s", (int)(dl ? dl : 1), slash ? p : ".");
        if (!lstat_ok(base))
            mark = "!";
        else if (slash && (!getcwd(cwd, sizeof cwd) || strcmp(cwd, dir) != 0))
            mark = "!cwd";
    } else if (!lstat_ok(p)) {
        mark = "!";
    }
    note(p, *mark ? mark : !base_ok ? "!base" : "");
    return 0;
}
static int nftw64_cb(const char *p, const struct stat64 *sb, int flag, struct FTW *f) {
    return nftw_cb(p, (const struct stat *)sb, flag, f);
}

static int nftw_flags(const char *s) {
    int f = 0;
    for (; s && *s; s++) {
        switch (*s) {
        case 'p': f |= FTW_PHYS; break;
        case 'd': f |= FTW_DEPTH; break;
        case 'c': f |= FTW_CHDIR; nftw_chdir = 1; break;
        case 'm': f |= FTW_MOUNT; break;
        case '0': case '-': break;
        default: fprintf(stderr, "probe: bad nftw flag '%c'\n", *s); exit(2);
        }
    }
    return f;
}

static int walk_result(const char *fn, int r, int e) {
    if (r == 0)
        add_list(seen, nseen);
    return out_int(fn, r, e);
}

/* Calls `call` (which fills `list`), the filter lstats DIR/entry; prints
 * the sorted names. */
#define SCANDIR_BODY(dir, call)                              \
    scandir_dir = (dir);                                     \
    errno = 0;                                               \
    int r = call;                                            \
    int e = errno;                                           \
    if (r >= 0) {                                            \
        char *names[4096];                                   \
        size_t n = 0;                                        \
        for (int i = 0; i < r && n < 4096; i++)              \
            names[n++] = list[i]->d_name;                    \
        add_list(names, n);                                  \
        if (cb_stat_failed)                                  \
            add("!filter-lstat");                            \
    }                                                        \
    return out_int(fn, r, e)

#define SCANDIR(type, call)                                  \
    do {                                                     \
        NEED(1);                                             \
        type **list = NULL;                                  \
        const char *p = P(argv[0]);                          \
        SCANDIR_BODY(argv[0], call);                         \
    } while (0)

/* scandirat DIR NAME: the dirfd is DIR opened, NAME relative to it (or
 * absolute). */
#define SCANDIRAT(type, call)                                \
    do {                                                     \
        NEED(2);                                             \
        type **list = NULL;                                  \
        int dfd = D(argv[0]);                                \
        const char *p = P(argv[1]);                          \
        static char joined[PATH_MAX];                        \
        if (argv[1][0] == '/')                               \
            snprintf(joined, sizeof joined, "%s", argv[1]);  \
        else                                                 \
            snprintf(joined, sizeof joined, "%s/%s", argv[0], argv[1]); \
        SCANDIR_BODY(joined, call);                          \
    } while (0)

/* Does getcwd() (hooked: virtual) end with the same component as the
 * kernel's cwd? A stale cached cwd would not. */
static int cwd_matches_real(void) {
    char v[PATH_MAX], h[PATH_MAX];
    if (!getcwd(v, sizeof v) || syscall(SYS_getcwd, h, sizeof h) < 0)
        return 0;
    const char *bv = strrchr(v, '/'), *bh = strrchr(h, '/');
    return bv && bh && strcmp(bv, bh) == 0;
}

#define FTS(type, entry, open_, read_)                                 \
    do {                                                               \
        NEED(1);                                                       \
        int opts = FTS_PHYSICAL | FTS_NOCHDIR;                         \
        if (strcmp(argv[0], "CHDIR") == 0) {                           \
            opts &= ~FTS_NOCHDIR;                                      \
            argv++, argc--;                                            \
            char cwd_[PATH_MAX]; /* a cached cwd must not survive */   \
            if (!getcwd(cwd_, sizeof cwd_))                            \
                setup_failed("getcwd", "");                            \
            NEED(1);                                                   \
        }                                                              \
        char *paths[64];                                               \
        int n = argc < 63 ? argc : 63;                                 \
        for (int i = 0; i < n; i++)                                    \
            paths[i] = (char *)P(argv[i]);                             \
        paths[n] = NULL;                                               \
        errno = 0;                                                     \
        type *t = open_(paths, opts, NULL);                            \
        int e = errno;                                                 \
        if (t) {                                                       \
            char *names[4096];                                         \
            size_t k = 0;                                              \
            entry *ent;                                                \
            while ((ent = read_(t)) != NULL) {                         \
                if (ent->fts_info == FTS_DP)                           \
                    continue;                                          \
                int bad = ent->fts_info == FTS_NS || ent->fts_info == FTS_ERR || !lstat_ok(ent->fts_accpath); \
                int cwd_bad = !(opts & FTS_NOCHDIR) && ent->fts_level > 0 && !cwd_matches_real(); \
                note(ent->fts_path, bad ? "!" : cwd_bad ? "!cwd" : ""); \
                if (k < 4096)                                          \
                    names[k++] = strdup(ent->fts_name);                \
            }                                                          \
            add_list(seen, nseen);                                     \
            add_labelled_list("names=", names, k);                     \
        }                                                              \
        return out_ptr(fn, t, e);                                      \
    } while (0)

#define GLOB(type, call, free_)                                 \
    do {                                                        \
        NEED(1);                                                \
        type g;                                                 \
        memset(&g, 0, sizeof g);                                \
        const char *p = P(argv[0]);                             \
        errno = 0;                                              \
        int r = call;                                           \
        int e = errno;                                          \
        if (r == 0)                                             \
            add_list(g.gl_pathv, g.gl_pathc);                   \
        else                                                    \
            add("%s", r == GLOB_NOMATCH ? "GLOB_NOMATCH" : r == GLOB_ABORTED ? "GLOB_ABORTED" : "GLOB_ERROR"); \
        free_(&g);                                              \
        return out_int(fn, r == 0 ? 0 : -r, e);                 \
    } while (0)

int probe(const char *fn, int argc, char **argv) {
    CASE("opendir") {
        NEED(1);
        const char *p = P(argv[0]);
        errno = 0;
        DIR *d = opendir(p);
        int e = errno;
        if (d) {
            struct dirent *ent;
            while ((ent = readdir(d)) != NULL)
                if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, ".."))
                    note(ent->d_name, "");
            closedir(d);
            add_list(seen, nseen);
        }
        return out_ptr(fn, d, e);
    }
    CASE("scandir") SCANDIR(struct dirent, scandir(p, &list, scan_filter, alphasort));
    CASE("scandir64") SCANDIR(struct dirent64, scandir64(p, &list, scan_filter64, alphasort64));
    CASE("scandirat") SCANDIRAT(struct dirent, scandirat(dfd, p, &list, scan_filter, alphasort));
    CASE("scandirat64") SCANDIRAT(struct dirent64, scandirat64(dfd, p, &list, scan_filter64, alphasort64));
    CASE("ftw") {
        NEED(1);
        const char *p = P(argv[0]);
        errno = 0;
        int r = ftw(p, ftw_cb, 16);
        int e = errno;
        return walk_result(fn, r, e);
    }
    CASE("ftw64") {
        NEED(1);
        const char *p = P(argv[0]);
        errno = 0;
        int r = ftw64(p, ftw64_cb, 16);
        int e = errno;
        return walk_result(fn, r, e);
    }
    CASE("nftw") {
        NEED(1);
        int fl = nftw_flags(ARG(1, "p"));
        const char *p = P(argv[0]);
        errno = 0;
        int r = nftw(p, nftw_cb, 16, fl);
        int e = errno;
        return walk_result(fn, r, e);
    }
    CASE("nftw64") {
        NEED(1);
        int fl = nftw_flags(ARG(1, "p"));
        const char *p = P(argv[0]);
        errno = 0;
        int r = nftw64(p, nftw64_cb, 16, fl);
        int e = errno;
        return walk_result(fn, r, e);
    }
    CASE("fts_open") FTS(FTS, FTSENT, fts_open, fts_read);
    CASE("fts64_open") FTS(FTS64, FTSENT64, fts64_open, fts64_read);
    CASE("glob") GLOB(glob_t, glob(p, 0, NULL, &g), globfree);
    CASE("glob64") GLOB(glob64_t, glob64(p, 0, NULL, &g), globfree64);
    return 2;
}
