/* chroot(2) as the kernel does it, case by case.
 *
 * Usage: probe-chroot OUTER GROUP...
 *
 * OUTER is the absolute path of a tree (tests/tests/chroot/mod.rs makes it):
 *
 *     OUTER/MARK            "outer"
 *     OUTER/new/            the root the cases chroot into (NEW)
 *     NEW/MARK              "inside"
 *     NEW/abslink -> /      NEW/rellink -> ../../..   NEW/absout -> /MARK
 *     NEW/sub/MARK "sub"    NEW/sublink -> /sub       NEW/afile
 *     NEW/loop -> loop      NEW/proc/ (the session's /proc shows there)
 *     NEW/bin/cat, NEW/bin/sh (for the exec cases)
 *
 * Each GROUP runs in a child of its own (fork), starting outside any
 * chroot with the cwd OUTER, and prints one line per step:
 *
 *     GROUP.STEP: RESULT
 *
 * RESULT is the first line of a file read, a path (getcwd, readlink,
 * realpath), `ok`, `same`/`different` (inode equality) or the errno's
 * name. Nothing printed depends on where the tree is, so a run under a
 * real chroot (the oracle: `unshare -r`) and one in an sb2 session must
 * print the same lines.
 *
 * Every run in a session records the case "chroot" (record.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record.h"

static const char *outer;
static char new_root[PATH_MAX];
static const char *group;

static const char *ename(int e) {
    static char buf[32];
    switch (e) {
#define E(x) case x: return #x;
        E(EPERM) E(ENOENT) E(EIO) E(EBADF) E(EACCES) E(EFAULT) E(EEXIST) E(ENOTDIR) E(EISDIR)
        E(EINVAL) E(EROFS) E(ENAMETOOLONG) E(ELOOP) E(ENOSYS) E(ERANGE) E(ENOTEMPTY) E(EXDEV)
#undef E
    }
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

__attribute__((format(printf, 2, 3))) static void say(const char *step, const char *fmt, ...) {
    printf("%s.%s: ", group, step);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void say_err(const char *step, int e) { say(step, "%s", ename(e)); }

/* The result of a call returning 0 or -1. */
static int call(const char *step, int r) {
    int e = errno;
    if (r == 0)
        say(step, "ok");
    else
        say_err(step, e);
    errno = e;
    return r;
}

static int do_chroot(const char *step, const char *path) {
    probe_record("chroot");
    return call(step, chroot(path));
}

/* The first line of the file at dirfd/path, or the errno of open/read. */
static void show_at(const char *step, int dirfd, const char *path) {
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say_err(step, errno);
        return;
    }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    close(fd);
    if (n < 0) {
        say_err(step, e);
        return;
    }
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    say(step, "%s", buf);
}
static void show(const char *step, const char *path) { show_at(step, AT_FDCWD, path); }

static void show_cwd(const char *step) {
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof buf))
        say(step, "%s", buf);
    else
        say_err(step, errno);
}

static void show_link(const char *step, const char *path) {
    char buf[PATH_MAX];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0) {
        say_err(step, errno);
        return;
    }
    buf[n] = 0;
    say(step, "%s", buf);
}

static void show_realpath(const char *step, const char *path) {
    char buf[PATH_MAX];
    if (realpath(path, buf))
        say(step, "%s", buf);
    else
        say_err(step, errno);
}

/* Whether a and b are the same inode. */
static void show_same(const char *step, const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) != 0) {
        say(step, "%s: %s", a, ename(errno));
        return;
    }
    if (stat(b, &sb) != 0) {
        say(step, "%s: %s", b, ename(errno));
        return;
    }
    say(step, "%s", sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino ? "same" : "different");
}

/* The sorted names in a directory (no . and ..). */
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void show_dir(const char *step, const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        say_err(step, errno);
        return;
    }
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    char buf[8192] = "";
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(buf, ",", sizeof buf - strlen(buf) - 1);
        strncat(buf, names[i], sizeof buf - strlen(buf) - 1);
        free(names[i]);
    }
    say(step, "%s", n ? buf : "<empty>");
}

static int open_dir(const char *path, int flags) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
    if (fd < 0) {
        fprintf(stderr, "probe-chroot: setup: open %s: %s\n", path, strerror(errno));
        exit(3);
    }
    return fd;
}

/* ---- the groups ------------------------------------------------------------ */

/* Absolute, cwd-relative and dirfd-relative walks in the root; `..` at the
 * root by every route; symlinks; what /proc tells. */
static void g_walk(void) {
    int outfd = open_dir(".", 0);
    if (do_chroot("chroot", new_root) != 0)
        return;
    show_cwd("getcwd-cwd-outside");
    show("abs", "/MARK");
    show("rel-from-outside", "MARK");
    show("dotdot3", "/../../../MARK");
    show("dotdot1", "/../MARK");
    show("dot-dotdot", "/./sub/../../MARK");
    show_same("root-is-rootdotdot", "/", "/..");
    show_link("proc-root", "/proc/self/root");
    show_dir("proc-root-list", "/proc/self/root/");
    show("proc-root-mark", "/proc/self/root/MARK");
    show("proc-root-dotdot", "/proc/self/root/../MARK");
    call("chdir-root", chdir("/"));
    show_cwd("getcwd");
    show_link("proc-cwd", "/proc/self/cwd");
    show("rel-dotdot", "../../MARK");
    show("abslink", "/abslink/MARK");
    show("abslink-dotdot", "/abslink/../abslink/../MARK");
    show("rellink", "/rellink/MARK");
    show("rellink-twice", "rellink/rellink/sub/MARK");
    show("absout", "/absout");
    show("sublink", "/sublink/MARK");
    show("sublink-dotdot", "/sublink/../../../MARK");
    show_realpath("realpath-rellink", "/rellink/sub/../sublink");
    show_realpath("realpath-dotdot", "/abslink/../..");
    show_realpath("realpath-absout", "absout");
    show_link("readlink-rellink", "/rellink");
    call("chdir-sub", chdir("/sub"));
    show_cwd("getcwd-sub");
    show_link("proc-cwd-sub", "/proc/self/cwd");
    show("sub-dotdot", "../../../../MARK");
    show("sub-dotdot-sub", "../../sub/MARK");
    call("chdir-sub-up", chdir("../../../.."));
    show_cwd("getcwd-sub-up");
    int fd = open("/sub/MARK", O_RDONLY);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    show_link("proc-fd", p);
    show("proc-fd-read", p);
    int rootp = open("/", O_PATH | O_CLOEXEC);
    show_at("dirfd-root-dotdot", rootp, "../MARK");
    show_at("dirfd-root-dotdot-sub", rootp, "../../sub/../MARK");
    int subfd = open_dir("/sub", 0);
    show_at("dirfd-sub-dotdot", subfd, "../../../MARK");
    /* A dirfd from before the chroot, outside the root: a walk from it is
     * free until it meets the root. */
    show_at("dirfd-outside", outfd, "MARK");
    show_at("dirfd-outside-into-root-dotdot", outfd, "new/../../MARK");
    show_at("dirfd-outside-into-root", outfd, "new/sub/../MARK");
    /* The walk counts links over the whole path: 40 are allowed. */
    char many[8192] = "";
    for (int i = 0; i < 40; i++)
        strcat(many, "/abslink");
    strcat(many, "/MARK");
    show("links40", many);
    char more[8192] = "/abslink";
    strcat(more, many);
    show("links41", more);
    char longname[400] = "/";
    memset(longname + 1, 'n', 300);
    show("name-too-long", longname);
}

/* A cwd left outside the root stays outside: getcwd fails, relative walks
 * move freely until they meet the root. */
static void g_outside(void) {
    int outfd = open_dir(".", 0);
    if (do_chroot("chroot", new_root) != 0)
        return;
    call("fchdir-out", fchdir(outfd));
    show_cwd("getcwd");
    show("mark", "MARK");
    show("new-mark", "new/MARK");
    show_realpath("realpath-rel", "MARK");
    show_realpath("realpath-abs", "/sub/../MARK");
    /* A program found by a relative path from outside: the root's own. */
    printf("%s.exec-rel: ", group);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("new/bin/cat", "cat", "/MARK", (char *)NULL);
        printf("%s\n", ename(errno));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    call("chdir-up", chdir(".."));
    show_cwd("getcwd-up");
    const char *base = strrchr(outer, '/') + 1;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/MARK", base);
    show("up-mark", p);
    snprintf(p, sizeof p, "%s/new", base);
    call("chdir-into-root", chdir(p));
    show_cwd("getcwd-root");
    call("chdir-dotdot-at-root", chdir(".."));
    show_cwd("getcwd-still-root");
    show("mark-at-root", "MARK");
}

/* chroot(".") with the cwd on an fd held from outside moves the root out
 * (rpm's way back). */
static void g_escape(void) {
    int outfd = open_dir(".", 0);
    if (do_chroot("chroot", new_root) != 0)
        return;
    call("fchdir-out", fchdir(outfd));
    do_chroot("chroot-dot", ".");
    show_cwd("getcwd");
    show("abs", "/MARK");
    show("abs-new", "/new/MARK");
    show("dotdot", "/../../MARK");
}

/* chroot("/") changes nothing; neither does chroot of the root itself. */
static void g_self(void) {
    do_chroot("chroot-slash-outside", "/");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/MARK", outer);
    show("outer-by-path", p);
    if (do_chroot("chroot", new_root) != 0)
        return;
    do_chroot("chroot-slash", "/");
    show("abs", "/MARK");
    do_chroot("chroot-slash-dotdot", "/..");
    show("abs-again", "/MARK");
    call("chdir-root", chdir("/"));
    do_chroot("chroot-dot", ".");
    show("abs-after-dot", "/MARK");
}

/* symlink() stores its target as given. */
static void g_symlink(void) {
    if (do_chroot("chroot", new_root) != 0)
        return;
    call("chdir-root", chdir("/"));
    unlink("/made-abs");
    unlink("/made-rel");
    call("symlink-abs", symlink("/MARK", "/made-abs"));
    call("symlink-rel", symlink("../../sub/MARK", "made-rel"));
    show_link("readlink-abs", "/made-abs");
    show_link("readlink-rel", "made-rel");
    show("read-abs", "/made-abs");
    show("read-rel", "/made-rel");
}

/* Nested chroot: relative to the current root, cwd-relative from the cwd
 * (which chroot does not move). */
static void nested(const char *name, const char *arg, int chdir_first) {
    pid_t pid = fork();
    if (pid == 0) {
        char step[64];
        if (chroot(new_root) != 0) {
            say_err(name, errno);
            _exit(0);
        }
        if (chdir_first && chdir("/") != 0) {
            say_err(name, errno);
            _exit(0);
        }
        snprintf(step, sizeof step, "%s.chroot", name);
        if (do_chroot(step, arg) == 0) {
            snprintf(step, sizeof step, "%s.abs", name);
            show(step, "/MARK");
            snprintf(step, sizeof step, "%s.dotdot", name);
            show(step, "/../../MARK");
        }
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}
static void g_nested(void) {
    nested("abs", "/sub", 0);
    nested("rel-cwd-outside", "sub", 0);
    nested("rel", "sub", 1);
    nested("link", "/sublink", 0);
    nested("dotdot", "/../sub", 0);
    nested("slash", "/", 0);
    nested("rel-dotdot", "../sub", 1);
}

/* The classic escape from a nested chroot: with the cwd left above the
 * inner root, `..` climbs out of both, and chroot(".") takes the top: the
 * session's root, not the host's (they are the same in these tests' plain
 * sessions). With the cwd inside, nothing climbs out. */
static void g_nested_escape(void) {
    if (do_chroot("chroot", new_root) != 0)
        return;
    call("chdir-root", chdir("/"));
    do_chroot("chroot-sub", "sub");
    for (int i = 0; i < 10; i++)
        if (chdir("..") != 0)
            say_err("chdir-up", errno);
    do_chroot("chroot-dot", ".");
    show_cwd("getcwd");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/MARK", outer);
    show("outer-by-path", p);
    show("abs-after-escape", "/MARK");
}
static void g_nested_stay(void) {
    if (do_chroot("chroot", new_root) != 0)
        return;
    call("chdir-sub", chdir("/sub"));
    do_chroot("chroot-sub", "/sub");
    for (int i = 0; i < 10; i++)
        if (chdir("..") != 0)
            say_err("chdir-up", errno);
    show_cwd("getcwd");
    do_chroot("chroot-dot", ".");
    show("abs", "/MARK");
}

/* A chroot in a vfork child is the child's: the parent keeps its root. */
static void g_vfork(void) {
    struct stat before, after;
    stat("/", &before);
    pid_t pid = vfork();
    if (pid == 0) {
        if (chroot(new_root) != 0)
            _exit(100 + errno);
        execl("/bin/cat", "cat", "/MARK", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    say("child", "exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    stat("/", &after);
    say("parent-root", "%s", before.st_ino == after.st_ino && before.st_dev == after.st_dev ? "same" : "different");
    show("parent-rel", "MARK");
    show("parent-new", "new/MARK");
}

/* The root survives exec whatever the environment: cleared (clearenv),
 * NULL, empty, or one that sets LD_PRELOAD and PATH to nothing. Each line
 * is STEP: and then what cat printed. */
static void exec_cat(const char *step, int how) {
    printf("%s.%s: ", group, step);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"cat", "/MARK", NULL};
        char *empty[] = {NULL};
        char *custom[] = {"PATH=/nowhere", "LD_PRELOAD=", "LD_LIBRARY_PATH=/nowhere", NULL};
        switch (how) {
        case 0: clearenv(); execv("/bin/cat", argv); break;
        case 1: execve("/bin/cat", argv, NULL); break;
        case 2: execve("/bin/cat", argv, empty); break;
        case 3: execve("/bin/cat", argv, custom); break;
        case 4: clearenv(); execl("/bin/sh", "sh", "-c", "exec /bin/cat /MARK", (char *)NULL); break;
        }
        printf("%s\n", ename(errno));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
}
static void g_execenv(void) {
    if (do_chroot("chroot", new_root) != 0)
        return;
    call("chdir-root", chdir("/"));
    exec_cat("clearenv", 0);
    exec_cat("envp-null", 1);
    exec_cat("envp-empty", 2);
    exec_cat("envp-custom", 3);
    exec_cat("clearenv-sh", 4);
}

/* Threads share the root: while the main thread moves it between OUTER and
 * NEW, every read of /MARK gives one of the two; after, all see NEW. */
#define NTHREADS 4
static volatile int phase;
static int other[NTHREADS];
static char final_[NTHREADS][32];
static void *reader(void *arg) {
    int me = (int)(long)arg;
    while (phase == 0) {
        char buf[32] = "";
        int fd = open("/MARK", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = 0;
            close(fd);
        }
        if (strcmp(buf, "outer\n") && strcmp(buf, "inside\n"))
            other[me]++;
    }
    while (phase == 1)
        ;
    int fd = open("/MARK", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, final_[me], sizeof final_[me] - 1);
        final_[me][n > 0 ? n - 1 : 0] = 0;
        close(fd);
    } else {
        snprintf(final_[me], sizeof final_[me], "%s", ename(errno));
    }
    return NULL;
}
static void g_threads(void) {
    int outfd = open_dir(outer, 0);
    int newfd = open_dir(new_root, 0);
    if (do_chroot("chroot-outer", outer) != 0)
        return;
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, reader, (void *)i);
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        bad |= fchdir(newfd) | chroot(".");
        bad |= fchdir(outfd) | chroot(".");
    }
    bad |= fchdir(newfd) | chroot(".");
    phase = 1;
    usleep(10000);
    phase = 2;
    int others = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        others += other[i];
    }
    say("main", "%s", bad ? "failed" : "ok");
    say("other-reads", "%d", others);
    for (int i = 0; i < NTHREADS; i++)
        say("final", "%s", final_[i]);
}

/* Bad arguments fail as the kernel fails them. */
static void g_bad(void) {
    char p[PATH_MAX + 100];
    snprintf(p, sizeof p, "%s/afile", new_root);
    do_chroot("file", p);
    snprintf(p, sizeof p, "%s/afile/x", new_root);
    do_chroot("file-dir", p);
    snprintf(p, sizeof p, "%s/missing", new_root);
    do_chroot("missing", p);
    do_chroot("empty", "");
    do_chroot("null", NULL);
    snprintf(p, sizeof p, "%s/loop", new_root);
    do_chroot("loop", p);
    static char long_path[5001];
    for (int i = 0; i < 1000; i++)
        memcpy(long_path + 5 * i, "/aaaa", 5);
    do_chroot("long", long_path);
    char name[300] = "";
    memset(name, 'n', 299);
    do_chroot("long-name", name);
    if (do_chroot("chroot", new_root) != 0)
        return;
    do_chroot("in-file", "/afile");
    do_chroot("in-loop", "/loop");
    do_chroot("in-missing", "/missing");
    do_chroot("in-absout", "/absout");
    show("still", "/MARK");
}

static const struct {
    const char *name;
    void (*fn)(void);
} groups[] = {
    {"walk", g_walk},       {"outside", g_outside}, {"escape", g_escape},
    {"self", g_self},       {"symlink", g_symlink}, {"nested", g_nested},
    {"nested-escape", g_nested_escape}, {"nested-stay", g_nested_stay},
    {"vfork", g_vfork},     {"threads", g_threads}, {"bad", g_bad},
    {"execenv", g_execenv},
};

int main(int argc, char **argv) {
    if (argc < 3 || argv[1][0] != '/') {
        fprintf(stderr, "usage: %s OUTER GROUP...\n", argv[0]);
        return 2;
    }
    outer = argv[1];
    snprintf(new_root, sizeof new_root, "%s/new", outer);
    if (chdir(outer) != 0) {
        fprintf(stderr, "probe-chroot: chdir %s: %s\n", outer, strerror(errno));
        return 3;
    }
    for (int i = 2; i < argc; i++) {
        size_t g = 0;
        while (g < sizeof groups / sizeof groups[0] && strcmp(groups[g].name, argv[i]))
            g++;
        if (g == sizeof groups / sizeof groups[0]) {
            fprintf(stderr, "probe-chroot: unknown group %s\n", argv[i]);
            return 2;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 3;
        if (pid == 0) {
            group = groups[g].name;
            groups[g].fn();
            fflush(stdout);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            printf("%s: child died (status %d)\n", argv[i], st);
    }
    return 0;
}
