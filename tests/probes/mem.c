/* memory family: these hooks take no path; they flush the preload's cache
 * of pages known to be readable (path arguments are read from such pages
 * without asking the kernel). A stale cache would make the preload read an
 * unmapped page: SIGSEGV instead of EFAULT.
 *
 *   munmap|mprotect|mremap PATH
 *       PATH is copied into a fresh page and stat()ed from there twice (the
 *       preload now knows the page); the function under test then makes the
 *       page unreadable (munmap; mprotect PROT_NONE; mremap moving the page
 *       elsewhere) and stat() is called again on the same pointer: it must
 *       fail with EFAULT. ret/errno are those of the function under test;
 *       payload: before=<stat result> after=<stat result>, each "ok" or an
 *       errno name.
 *   free_large PATH
 *       the same with a 1 MiB malloc() block released by free(): glibc
 *       unmaps it internally, without calling munmap through the PLT.
 */
#include "skel.h"

static const char *stat_at(const char *p) {
    struct stat st;
    errno = 0;
    return stat(p, &st) == 0 ? "ok" : errname(errno);
}

static char *page_with(const char *path, size_t len) {
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        setup_failed("mmap", "");
    strcpy(m, path);
    return m;
}

#define BEFORE(p)                              \
    const char *before = stat_at(p);           \
    before = strcmp(stat_at(p), "ok") ? "<second-stat-failed>" : before

int probe(const char *fn, int argc, char **argv) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    CASE("munmap") {
        NEED(1);
        char *m = page_with(argv[0], pg);
        BEFORE(m);
        errno = 0;
        int r = munmap(m, pg);
        int e = errno;
        add("before=%s", before);
        add("after=%s", stat_at(m));
        return out_int(fn, r, e);
    }
    CASE("mprotect") {
        NEED(1);
        char *m = page_with(argv[0], pg);
        BEFORE(m);
        errno = 0;
        int r = mprotect(m, pg, PROT_NONE);
        int e = errno;
        add("before=%s", before);
        add("after=%s", stat_at(m));
        return out_int(fn, r, e);
    }
    CASE("mremap") {
        NEED(1);
        char *m = page_with(argv[0], 2 * pg);
        BEFORE(m);
        errno = 0;
        void *r = mremap(m, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, m + pg);
        int e = errno;
        add("before=%s", before);
        add("after=%s", stat_at(m));
        add("moved=%s", r != MAP_FAILED ? stat_at(m + pg) : "-");
        return out_ptr(fn, r == MAP_FAILED ? NULL : r, e);
    }
    CASE("free_large") {
        NEED(1);
        char *m = malloc(1 << 20);
        strcpy(m, argv[0]);
        BEFORE(m);
        char *volatile keep = m; /* the pointer outlives the block on purpose */
        free(m);
        m = keep;
        add("before=%s", before);
        add("after=%s", stat_at(m));
        return out_int(fn, 0, 0);
    }
    return 2;
}
