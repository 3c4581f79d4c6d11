/* Exec with an emptied environment: `probe-exec FUNC PROG` runs PROG (which
 * prints its environment) through FUNC with no variables at all (or with
 * only SB2_PROBE=1, USER_PRELOAD in LD_PRELOAD when asked). In a session the
 * child must still be in it: SB2_SESSION_DIR and libsb2 in LD_PRELOAD. */
#include "skel.h"
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static int waited(pid_t pid) {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int probe(const char *fn, int argc, char **argv) {
    NEED(1);
    const char *prog = argv[0];
    char *args[] = {(char *)prog, NULL};
    char *keep[] = {"SB2_PROBE=1", "LD_PRELOAD=/nonexistent/user-preload.so", NULL};
    char *none[] = {NULL};
    char **env = argc > 1 ? keep : none;
    fflush(stdout);
    CASE("execve") { execve(prog, args, env); return out_int(fn, -1, errno); }
    CASE("execve-big") {
        /* One argument longer than the kernel's MAX_ARG_STRLEN (128 KiB). */
        static char big[200 * 1024];
        memset(big, 'x', sizeof big - 1);
        char *bargs[] = {(char *)prog, big, NULL};
        execve(prog, bargs, env);
        return out_int("execve", -1, errno);
    }
    CASE("execvpe") { execvpe(prog, args, env); return out_int(fn, -1, errno); }
    CASE("fexecve") {
        int fd = open(prog, O_RDONLY | O_CLOEXEC);
        fexecve(fd, args, env);
        return out_int(fn, -1, errno);
    }
    CASE("execv") { environ = env; execv(prog, args); return out_int(fn, -1, errno); }
    CASE("execvp") { environ = env; execvp(prog, args); return out_int(fn, -1, errno); }
    CASE("execl") { environ = env; execl(prog, prog, (char *)NULL); return out_int(fn, -1, errno); }
    CASE("execle") { execle(prog, prog, (char *)NULL, env); return out_int(fn, -1, errno); }
    CASE("execlp") { environ = env; execlp(prog, prog, (char *)NULL); return out_int(fn, -1, errno); }
    CASE("execveat") { execveat(AT_FDCWD, prog, args, env, 0); return out_int(fn, -1, errno); }
    CASE("system") {
        environ = env;
        int r = system(prog);
        return out_int(fn, WIFEXITED(r) ? WEXITSTATUS(r) : 128, 0);
    }
    CASE("pclose") fn = "popen";
    CASE("popen") {
        environ = env;
        FILE *f = popen(prog, "r");
        if (!f)
            return out_int(fn, -1, errno);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, stdout);
        int r = pclose(f);
        return out_int(fn, WIFEXITED(r) ? WEXITSTATUS(r) : 128, 0);
    }
    CASE("posix_spawn") {
        pid_t pid;
        int r = posix_spawn(&pid, prog, NULL, NULL, args, env);
        if (r == 0)
            r = waited(pid);
        return out_int(fn, r, 0);
    }
    CASE("posix_spawnp") {
        pid_t pid;
        int r = posix_spawnp(&pid, prog, NULL, NULL, args, env);
        if (r == 0)
            r = waited(pid);
        return out_int(fn, r, 0);
    }
    return 2;
}
