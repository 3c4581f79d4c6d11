/* misc family.
 *   dlopen|dlmopen PATH SYMBOL        (payload: sym=yes|no, or the dlerror())
 *   inotify_add_watch PATH
 *   name_to_handle_at DIR NAME [ATFLAGS]   (payload: the handle, in hex)
 *   bind SOCKPATH                     (AF_UNIX stream socket; payload "bound")
 *   getsockname SOCKPATH SIZE         (binds SOCKPATH; payload the name
 *                                      getsockname gives in SIZE bytes of
 *                                      sun_path, and len=the size reported)
 *   getpeername SOCKPATH              (a client connected to a listener at
 *                                      SOCKPATH; payload the peer's name)
 *   connect SOCKPATH [BINDPATH]       (first binds and listens a second
 *                                      socket at BINDPATH, default SOCKPATH,
 *                                      then connects to SOCKPATH; payload
 *                                      "connected" once accept() got it)
 */
#include "skel.h"
#include <sys/utsname.h>
#include <dlfcn.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>

static socklen_t unix_addr(struct sockaddr_un *a, const char *p) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t l = strlen(p);
    if (l >= sizeof a->sun_path) {
        fprintf(stderr, "probe: socket path too long: %s\n", p);
        exit(2);
    }
    memcpy(a->sun_path, p, l);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l + 1);
}

static int dl_result(const char *fn, void *h, int e, const char *sym) {
    if (h) {
        add("sym=%s", dlsym(h, sym) ? "yes" : "no");
    } else {
        const char *m = dlerror();
        if (m)
            add_bytes(m, strlen(m));
    }
    return out_ptr(fn, h, e);
}

int probe(const char *fn, int argc, char **argv) {
    CASE("dlopen") {
        NEED(2);
        const char *p = P(argv[0]);
        errno = 0;
        void *h = dlopen(p, RTLD_NOW | RTLD_LOCAL);
        int e = errno;
        return dl_result(fn, h, e, argv[1]);
    }
    CASE("dlmopen") {
        NEED(2);
        const char *p = P(argv[0]);
        errno = 0;
        void *h = dlmopen(LM_ID_NEWLM, p, RTLD_NOW | RTLD_LOCAL);
        int e = errno;
        return dl_result(fn, h, e, argv[1]);
    }
    CASE("inotify_add_watch") {
        NEED(1);
        int fd = inotify_init1(IN_CLOEXEC);
        if (fd < 0)
            setup_failed("inotify_init1", "");
        const char *p = P(argv[0]);
        errno = 0;
        int r = inotify_add_watch(fd, p, IN_ALL_EVENTS);
        int e = errno;
        return out_int(fn, r, e);
    }
    CASE("name_to_handle_at") {
        NEED(2);
        int d = D(argv[0]);
        int fl = ATF(ARG(2, "0"));
        struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
        h->handle_bytes = MAX_HANDLE_SZ;
        int mnt = -1;
        const char *p = P(argv[1]);
        errno = 0;
        int r = name_to_handle_at(d, p, h, &mnt, fl);
        int e = errno;
        if (r == 0) {
            char hex[2 * MAX_HANDLE_SZ + 16];
            int k = snprintf(hex, sizeof hex, "%d:", h->handle_type);
            for (unsigned i = 0; i < h->handle_bytes && i < MAX_HANDLE_SZ; i++)
                k += snprintf(hex + k, sizeof hex - k, "%02x", h->f_handle[i]);
            add("%s", hex);
        }
        return out_int(fn, r, e);
    }
    CASE("bind") {
        NEED(1);
        struct sockaddr_un a;
        socklen_t l = unix_addr(&a, argv[0]);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
            setup_failed("socket", "");
        errno = 0;
        int r = bind(s, (struct sockaddr *)&a, l);
        int e = errno;
        if (r == 0)
            add("bound");
        return out_int(fn, r, e);
    }
    CASE("getsockname") {
        NEED(2);
        struct sockaddr_un a, got;
        socklen_t l = unix_addr(&a, argv[0]);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || bind(s, (struct sockaddr *)&a, l) != 0)
            setup_failed("bind", argv[0]);
        memset(&got, 'X', sizeof got);
        socklen_t gl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)NUM(argv[1]));
        if (gl > sizeof got)
            gl = sizeof got;
        errno = 0;
        int r = getsockname(s, (struct sockaddr *)&got, &gl);
        int e = errno;
        if (r == 0) {
            size_t n = (size_t)NUM(argv[1]);
            if (n > sizeof got.sun_path)
                n = sizeof got.sun_path;
            add_bytes(got.sun_path, strnlen(got.sun_path, n));
            add("len=%u", (unsigned)gl);
        }
        return out_int(fn, r, e);
    }
    CASE("getpeername") {
        NEED(1);
        struct sockaddr_un a, got;
        socklen_t l = unix_addr(&a, argv[0]);
        int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (srv < 0 || bind(srv, (struct sockaddr *)&a, l) != 0 || listen(srv, 1) != 0)
            setup_failed("bind", argv[0]);
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, l) != 0)
            setup_failed("connect", argv[0]);
        socklen_t gl = sizeof got;
        errno = 0;
        int r = getpeername(c, (struct sockaddr *)&got, &gl);
        int e = errno;
        if (r == 0)
            add_bytes(got.sun_path, strnlen(got.sun_path, sizeof got.sun_path));
        return out_int(fn, r, e);
    }
    CASE("uname") {
        /* Prints the machine field (the target's in a session). */
        struct utsname u;
        errno = 0;
        int r = uname(&u);
        int e = errno;
        if (r == 0)
            add(u.machine);
        return out_int(fn, r, e);
    }
    CASE("sendto") {
        /* A datagram to an AF_UNIX path: sendto names the peer by path. */
        NEED(1);
        struct sockaddr_un b, a;
        socklen_t lb = unix_addr(&b, ARG(1, argv[0]));
        socklen_t la = unix_addr(&a, argv[0]);
        int srv = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (srv < 0 || bind(srv, (struct sockaddr *)&b, lb) != 0)
            setup_failed("bind", ARG(1, argv[0]));
        int c = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (c < 0)
            setup_failed("socket", "");
        errno = 0;
        ssize_t r = sendto(c, "ping", 4, 0, (struct sockaddr *)&a, la);
        int e = errno;
        if (r == 4) {
            char buf[8] = {0};
            ssize_t got = recv(srv, buf, sizeof buf - 1, 0);
            add(got == 4 && strcmp(buf, "ping") == 0 ? "received" : "<recv-failed>");
        }
        return out_int(fn, (int)r, e);
    }
    CASE("connect") {
        NEED(1);
        struct sockaddr_un b, a;
        socklen_t lb = unix_addr(&b, ARG(1, argv[0]));
        socklen_t la = unix_addr(&a, argv[0]);
        int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (srv < 0 || bind(srv, (struct sockaddr *)&b, lb) != 0 || listen(srv, 1) != 0)
            setup_failed("bind/listen", ARG(1, argv[0]));
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0)
            setup_failed("socket", "");
        errno = 0;
        int r = connect(c, (struct sockaddr *)&a, la);
        int e = errno;
        if (r == 0) {
            int x = accept(srv, NULL, NULL);
            add(x >= 0 ? "connected" : "<accept-failed>");
        }
        return out_int(fn, r, e);
    }
    return 2;
}
