/* Network probe: one socket or name-lookup call per run, one line of output.
 * (Its own format, not skel.h's: tests/tests/net/ reads it.)
 *
 *   net connect|sendto|sendmsg|sendmmsg|bind|bindname FAMILY ADDR PORT
 *   net connect24 ipv6 ADDR PORT      (address length 24: no scope id)
 *   net bindunspec ipv4 0.0.0.0 PORT  (family AF_UNSPEC, as the kernel allows)
 *   net listen FAMILY ADDR PORT     bind (unless ADDR is "-"), then listen
 *   net accept|accept4 FAMILY ADDR PORT
 *                                   listen on ADDR:PORT, connect to it, accept
 *   net recvfrom|recvmsg FAMILY ADDR PORT
 *                                   UDP on ADDR:PORT, send to it, receive
 *   net gai|getaddrinfo NAME        net ghbn|gethostbyname NAME
 *   net gethostbyname2|gethostbyname_r|gethostbyname2_r NAME [ipv4|ipv6]
 *   net res_query|res_search|res_querydomain NAME
 *   net res_nquery|res_nsearch|res_nquerydomain NAME
 *   net __res_query|__res_search NAME   (old ABI symbols: found with dlvsym)
 *
 * FAMILY is ipv4 or ipv6, ADDR a numeric address, PORT a number. Sockets
 * are TCP for connect, bind, bindname, listen, accept; UDP for the send and
 * receive calls.
 *
 * Output: "ok", or "errno NAME" when the call failed; "setup errno NAME"
 * when a preparatory call failed (listen: "bind errno NAME"). bindname
 * prints the bound address (getsockname): "A.B.C.D:PORT" or "[X::Y]:PORT".
 * Lookups print the first address ("127.0.0.1", "::1"), or
 * "gai EAI_NONAME" (getaddrinfo), "h_errno N" (gethostbyname*: N numeric,
 * HOST_NOT_FOUND is 1). res_*: "ok LEN" or "h_errno N".
 *
 * Exit status 0 whenever the call was made, 2 on a usage error.
 * Every case that runs is recorded (record.h) for the coverage test.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "record.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define CASE(name) if (strcmp(op, name) == 0 && probe_record(name))

static char x1[] = "x";
static struct sockaddr_storage ss;
static socklen_t sslen;
static int fam;

static int usage(const char *why) {
    fprintf(stderr, "net probe: %s\n", why);
    exit(2);
}

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* "ok" or "errno NAME" for a call that returned r (negative: failed). */
static int result(long r) {
    if (r < 0)
        printf("errno %s\n", ename(errno));
    else
        printf("ok\n");
    return 0;
}

static int setup_failed(void) {
    printf("setup errno %s\n", ename(errno));
    return 0;
}

static void parse(const char *f, const char *a, const char *p) {
    memset(&ss, 0, sizeof ss);
    int port = atoi(p);
    int any = strcmp(a, "-") == 0;
    if (strcmp(f, "ipv4") == 0) {
        struct sockaddr_in *s = (struct sockaddr_in *)&ss;
        s->sin_family = AF_INET;
        s->sin_port = htons((unsigned short)port);
        if (!any && inet_pton(AF_INET, a, &s->sin_addr) != 1)
            usage("bad IPv4 address");
        sslen = sizeof *s;
    } else if (strcmp(f, "ipv6") == 0) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons((unsigned short)port);
        if (!any && inet_pton(AF_INET6, a, &s->sin6_addr) != 1)
            usage("bad IPv6 address");
        sslen = sizeof *s;
    } else {
        usage("FAMILY is ipv4 or ipv6");
    }
    fam = ss.ss_family;
}

/* "A.B.C.D:PORT" or "[X::Y]:PORT". */
static const char *fmt(const struct sockaddr_storage *sa) {
    static char b[INET6_ADDRSTRLEN + 16];
    char a[INET6_ADDRSTRLEN];
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s->sin_addr, a, sizeof a);
        snprintf(b, sizeof b, "%s:%u", a, ntohs(s->sin_port));
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof a);
        snprintf(b, sizeof b, "[%s]:%u", a, ntohs(s->sin6_port));
    } else {
        snprintf(b, sizeof b, "family %d", sa->ss_family);
    }
    return b;
}

static int print_addr(int family, const void *addr) {
    char a[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, addr, a, sizeof a))
        return setup_failed();
    printf("%s\n", a);
    return 0;
}

static int sock(int type) {
    int s = socket(fam, type, 0);
    if (s < 0) {
        setup_failed();
        exit(0);
    }
    return s;
}

/* A bound and listening TCP socket (non-blocking) and a client connected
 * to it; 0 on success, else setup error printed. */
static int pair_tcp(int *l, int *c) {
    struct sockaddr_storage me;
    socklen_t ml = sizeof me;
    *l = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (*l < 0 || bind(*l, (struct sockaddr *)&ss, sslen) < 0 || listen(*l, 8) < 0 ||
        getsockname(*l, (struct sockaddr *)&me, &ml) < 0)
        return setup_failed(), -1;
    *c = sock(SOCK_STREAM);
    if (connect(*c, (struct sockaddr *)&me, ml) < 0)
        return setup_failed(), -1;
    struct pollfd p = {.fd = *l, .events = POLLIN};
    poll(&p, 1, 2000);
    return 0;
}

/* A bound UDP socket with one datagram waiting (or 2 s passed). */
static int pair_udp(int *r) {
    struct sockaddr_storage me;
    socklen_t ml = sizeof me;
    *r = sock(SOCK_DGRAM);
    if (bind(*r, (struct sockaddr *)&ss, sslen) < 0 || getsockname(*r, (struct sockaddr *)&me, &ml) < 0)
        return setup_failed(), -1;
    int s = sock(SOCK_DGRAM);
    if (sendto(s, "x", 1, 0, (struct sockaddr *)&me, ml) < 0)
        return setup_failed(), -1;
    struct pollfd p = {.fd = *r, .events = POLLIN};
    poll(&p, 1, 2000);
    return 0;
}

static int family_arg(int argc, char **argv) {
    return argc > 3 && strcmp(argv[3], "ipv6") == 0 ? AF_INET6 : AF_INET;
}

static int hostent_result(const struct hostent *h, int herr) {
    if (!h || !h->h_addr_list || !h->h_addr_list[0]) {
        printf("h_errno %d\n", herr);
        return 0;
    }
    return print_addr(h->h_addrtype, h->h_addr_list[0]);
}

static int res_result(int n) {
    if (n < 0)
        printf("h_errno %d\n", h_errno);
    else
        printf("ok %d\n", n);
    return 0;
}

/* An old-ABI (non-default version) symbol of libc, e.g. __res_query, as a
 * program linked against it gets it. Its versioned reference binds to an
 * unversioned definition of a preloaded library (libsb2's hook), as
 * dlsym's unversioned lookup does; dlvsym wants that exact version and
 * would skip the hook, so it only finds libc's own symbol outside sb2
 * (where dlsym does not see a non-default version). */
typedef int (*res_fn)(const char *, int, int, unsigned char *, int);
static res_fn compat(const char *sym) {
    static const char *const vers[] = {"GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.0", "GLIBC_2.2", "GLIBC_2.27", NULL};
    void *f = dlsym(RTLD_DEFAULT, sym);
    for (int i = 0; !f && vers[i]; i++)
        f = dlvsym(RTLD_DEFAULT, sym, vers[i]);
    return (res_fn)f;
}

static int names(const char *op, int argc, char **argv) {
    const char *name = argv[2];
    static unsigned char ans[4096];
    static char buf[8192];
    CASE("getaddrinfo") {
        struct addrinfo h = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
        int r = getaddrinfo(name, NULL, &h, &res);
        const char *e = NULL;
        switch (r) {
        case 0: break;
        case EAI_NONAME: e = "EAI_NONAME"; break;
        case EAI_AGAIN: e = "EAI_AGAIN"; break;
        case EAI_FAIL: e = "EAI_FAIL"; break;
        case EAI_FAMILY: e = "EAI_FAMILY"; break;
        case EAI_SOCKTYPE: e = "EAI_SOCKTYPE"; break;
        case EAI_SERVICE: e = "EAI_SERVICE"; break;
        case EAI_MEMORY: e = "EAI_MEMORY"; break;
        case EAI_SYSTEM: e = "EAI_SYSTEM"; break;
        case EAI_BADFLAGS: e = "EAI_BADFLAGS"; break;
        case EAI_NODATA: e = "EAI_NODATA"; break;
        case EAI_ADDRFAMILY: e = "EAI_ADDRFAMILY"; break;
        default: e = NULL; printf("gai EAI_%d\n", r); return 0;
        }
        if (e) {
            printf("gai %s\n", e);
            return 0;
        }
        if (!res)
            return printf("gai no result\n"), 0;
        if (res->ai_family == AF_INET)
            print_addr(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr);
        else
            print_addr(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr);
        freeaddrinfo(res);
        return 0;
    }
    CASE("gethostbyname") {
        struct hostent *h = gethostbyname(name);
        return hostent_result(h, h_errno);
    }
    CASE("gethostbyname2") {
        struct hostent *h = gethostbyname2(name, family_arg(argc, argv));
        return hostent_result(h, h_errno);
    }
    CASE("gethostbyname_r") {
        struct hostent he, *h = NULL;
        int herr = 0;
        gethostbyname_r(name, &he, buf, sizeof buf, &h, &herr);
        return hostent_result(h, herr);
    }
    CASE("gethostbyname2_r") {
        struct hostent he, *h = NULL;
        int herr = 0;
        gethostbyname2_r(name, family_arg(argc, argv), &he, buf, sizeof buf, &h, &herr);
        return hostent_result(h, herr);
    }
    CASE("res_query") return res_result(res_query(name, ns_c_in, ns_t_a, ans, sizeof ans));
    CASE("res_search") return res_result(res_search(name, ns_c_in, ns_t_a, ans, sizeof ans));
    CASE("res_querydomain") return res_result(res_querydomain(name, NULL, ns_c_in, ns_t_a, ans, sizeof ans));
    if (strncmp(op, "__res_", 6) == 0) {
        res_fn f = compat(op);
        if (!f) {
            printf("setup no %s\n", op);
            return 0;
        }
        CASE("__res_query") return res_result(f(name, ns_c_in, ns_t_a, ans, sizeof ans));
        CASE("__res_search") return res_result(f(name, ns_c_in, ns_t_a, ans, sizeof ans));
        usage("unknown operation");
    }
    struct __res_state st;
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) < 0)
        return setup_failed();
    int n = -2;
    CASE("res_nquery") n = res_nquery(&st, name, ns_c_in, ns_t_a, ans, sizeof ans);
    CASE("res_nsearch") n = res_nsearch(&st, name, ns_c_in, ns_t_a, ans, sizeof ans);
    CASE("res_nquerydomain") n = res_nquerydomain(&st, name, NULL, ns_c_in, ns_t_a, ans, sizeof ans);
    if (n == -2)
        usage("unknown operation");
    res_nclose(&st);
    return res_result(n);
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("usage: net OP FAMILY ADDR PORT | net gai|ghbn NAME");
    const char *op = argv[1];
    if (strcmp(op, "gai") == 0)
        op = "getaddrinfo";
    if (strcmp(op, "ghbn") == 0)
        op = "gethostbyname";
    if (strncmp(op, "get", 3) == 0 || strncmp(op, "res_", 4) == 0 || strncmp(op, "__res_", 6) == 0)
        return names(op, argc, argv);
    if (argc < 5)
        usage("socket operations need FAMILY ADDR PORT");
    parse(argv[2], argv[3], argv[4]);
    struct sockaddr *sa = (struct sockaddr *)&ss;

    CASE("connect") return result(connect(sock(SOCK_STREAM), sa, sslen));
    /* The kernel also takes IPv6 addresses without the scope id (24
     * bytes), and bind(AF_UNSPEC, 0.0.0.0) on an IPv4 socket. */
    if (strcmp(op, "connect24") == 0)
        return result(connect(sock(SOCK_STREAM), sa, 24));
    if (strcmp(op, "bindunspec") == 0) {
        ((struct sockaddr_in *)sa)->sin_family = AF_UNSPEC;
        return result(bind(sock(SOCK_STREAM), sa, sizeof(struct sockaddr_in)));
    }
    CASE("sendto") return result(sendto(sock(SOCK_DGRAM), "x", 1, 0, sa, sslen));
    CASE("sendmsg") {
        struct iovec v = {.iov_base = x1, .iov_len = 1};
        struct msghdr m = {.msg_name = sa, .msg_namelen = sslen, .msg_iov = &v, .msg_iovlen = 1};
        return result(sendmsg(sock(SOCK_DGRAM), &m, 0));
    }
    CASE("sendmmsg") {
        struct iovec v = {.iov_base = x1, .iov_len = 1};
        struct mmsghdr m = {.msg_hdr = {.msg_name = sa, .msg_namelen = sslen, .msg_iov = &v, .msg_iovlen = 1}};
        return result(sendmmsg(sock(SOCK_DGRAM), &m, 1, 0));
    }
    CASE("bind") return result(bind(sock(SOCK_STREAM), sa, sslen));
    CASE("bindname") {
        int s = sock(SOCK_STREAM);
        if (bind(s, sa, sslen) < 0)
            return result(-1);
        struct sockaddr_storage me;
        socklen_t ml = sizeof me;
        if (getsockname(s, (struct sockaddr *)&me, &ml) < 0)
            return setup_failed();
        printf("%s\n", fmt(&me));
        return 0;
    }
    CASE("listen") {
        int s = sock(SOCK_STREAM);
        if (strcmp(argv[3], "-") != 0 && bind(s, sa, sslen) < 0) {
            printf("bind errno %s\n", ename(errno));
            return 0;
        }
        return result(listen(s, 8));
    }
    CASE("accept") {
        int l, c;
        if (pair_tcp(&l, &c) < 0)
            return 0;
        return result(accept(l, NULL, NULL));
    }
    CASE("accept4") {
        int l, c;
        if (pair_tcp(&l, &c) < 0)
            return 0;
        return result(accept4(l, NULL, NULL, SOCK_CLOEXEC));
    }
    CASE("recvfrom") {
        int r;
        char b[16];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        if (pair_udp(&r) < 0)
            return 0;
        return result(recvfrom(r, b, sizeof b, MSG_DONTWAIT, (struct sockaddr *)&from, &fl));
    }
    CASE("recvmsg") {
        int r;
        char b[16];
        struct sockaddr_storage from;
        struct iovec v = {.iov_base = b, .iov_len = sizeof b};
        struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &v, .msg_iovlen = 1};
        if (pair_udp(&r) < 0)
            return 0;
        return result(recvmsg(r, &m, MSG_DONTWAIT));
    }
    return usage("unknown operation");
}
