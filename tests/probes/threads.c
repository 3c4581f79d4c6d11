/* Concurrency of the hooks.
 *   threads FILE SIZE LINK TARGET
 *       8 threads x 2000 rounds of stat(FILE) (size must be SIZE),
 *       open(FILE)+close, readlink(LINK) (must be TARGET); ret=0 when every
 *       call was right; payload calls=N bad=N.
 *   fork FILE SIZE
 *       4 threads loop on stat(FILE) while the main thread forks; the child
 *       (under a 20 s alarm) does 500 stat/open calls on FILE and exits 0 if
 *       all were right; ret=the child's exit status (or 128+signal).
 *   vfork FILE SIZE
 *       a vfork child does one stat(FILE) and _exit()s 0 if right (line
 *       "vfork"), then a vfork child execve()s /bin/true (line "vfork_execve").
 */
#include "skel.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

static const char *file, *link_, *target;
static long long size;
static atomic_long calls, bad;
static atomic_int stop;

static int stat_ok(void) {
    struct stat st;
    return stat(file, &st) == 0 && st.st_size == size && S_ISREG(st.st_mode);
}
static int open_ok(void) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    return close(fd) == 0;
}
static int readlink_ok(void) {
    char b[PATH_MAX];
    ssize_t n = readlink(link_, b, sizeof b);
    return n == (ssize_t)strlen(target) && memcmp(b, target, n) == 0;
}

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        int ok = stat_ok();
        ok &= open_ok();
        ok &= readlink_ok();
        atomic_fetch_add(&calls, 4);
        if (!ok)
            atomic_fetch_add(&bad, 1);
    }
    return NULL;
}

static void *spinner(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        if (!stat_ok())
            atomic_fetch_add(&bad, 1);
        atomic_fetch_add(&calls, 1);
    }
    return NULL;
}

static int status_code(int st) {
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 255;
}

int probe(const char *fn, int argc, char **argv) {
    CASE("threads") {
        NEED(4);
        file = argv[0], size = NUM(argv[1]), link_ = argv[2], target = argv[3];
        pthread_t t[8];
        for (int i = 0; i < 8; i++)
            if (pthread_create(&t[i], NULL, worker, NULL) != 0)
                setup_failed("pthread_create", "");
        for (int i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
        add("calls=%ld bad=%ld", atomic_load(&calls), atomic_load(&bad));
        return out_int(fn, atomic_load(&bad) == 0 ? 0 : -1, EIO);
    }
    CASE("fork") {
        NEED(2);
        file = argv[0], size = NUM(argv[1]);
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            if (pthread_create(&t[i], NULL, spinner, NULL) != 0)
                setup_failed("pthread_create", "");
        while (atomic_load(&calls) < 200) /* the threads are inside the hooks now */
            ;
        errno = 0;
        pid_t pid = fork();
        int e = errno;
        if (pid == 0) {
            alarm(20);
            int ok = 1;
            for (int i = 0; i < 500; i++)
                ok &= stat_ok() & open_ok();
            _exit(ok ? 0 : 1);
        }
        int st = 0, code = -1;
        if (pid > 0 && waitpid(pid, &st, 0) == pid)
            code = status_code(st);
        atomic_store(&stop, 1);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        add("child=%d parent_bad=%ld", code, atomic_load(&bad));
        if (pid < 0)
            return out_int(fn, -1, e);
        return out_int(fn, code == 0 && atomic_load(&bad) == 0 ? 0 : -1, EIO);
    }
    CASE("vfork") {
        NEED(2);
        file = argv[0], size = NUM(argv[1]);
        errno = 0;
        pid_t pid = vfork();
        int e = errno;
        if (pid == 0) {
            struct stat st;
            _exit(stat(file, &st) == 0 && st.st_size == size ? 0 : 1);
        }
        int st = 0, code = -1;
        if (pid > 0 && waitpid(pid, &st, 0) == pid)
            code = status_code(st);
        add("child=%d", code);
        if (pid < 0)
            out_int(fn, -1, e);
        else
            out_int(fn, code == 0 ? 0 : -1, EIO);

        static char *const args[] = {"true", NULL};
        extern char **environ;
        errno = 0;
        pid = vfork();
        e = errno;
        if (pid == 0) {
            execve("/bin/true", args, environ);
            _exit(127);
        }
        code = -1;
        if (pid > 0 && waitpid(pid, &st, 0) == pid)
            code = status_code(st);
        add("child=%d", code);
        if (pid < 0)
            return out_int("vfork_execve", -1, e);
        return out_int("vfork_execve", code == 0 ? 0 : -1, EIO);
    }
    return 2;
}
