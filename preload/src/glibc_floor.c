/* libsb2.so's glibc floor: it must load into the programs of older target
 * roots (Debian bullseye: glibc 2.31), though it is built against a newer
 * glibc. The linker binds each reference to the newest version the build
 * host's libc.so.6 defines, so the library required GLIBC_2.34 (dlsym and
 * dlvsym, moved into libc.so.6 then; pthread_once and __pthread_key_create,
 * read weakly by libgcc's unwinder) and GLIBC_2.35 (_dl_find_object, the
 * unwinder's way to find unwind tables). This file, with build.rs, keeps
 * every reference at a version glibc has had since the architecture's
 * first release; tests/tests/glibc_floor.rs checks the built library.
 *
 * - dlsym and dlvsym are bound to the architecture's base version (below),
 *   which every glibc has; weakly, because glibc before 2.34 defines them
 *   in libdl.so.2, not libc.so.6, and a program need not load libdl. There,
 *   sb2_dlsym loads the root's own libdl.so.2 the way glibc's own libc did
 *   (__libc_dlopen_mode and __libc_dlsym: glibc-internal, but exported by
 *   every libc.so.6 before 2.34, whose ABI is frozen; never called on a
 *   newer glibc, which exports neither and has dlsym in libc.so.6). Not a
 *   DT_NEEDED on libdl.so.2: that would load one more library into every
 *   process of every session, on new glibc too (a stub there).
 * - build.rs gives the unwinder (its copy of libgcc_eh.a) the same base
 *   version for its weak pthread references, and renames its reference to
 *   _dl_find_object to sb2_dl_find_object, defined here with
 *   dl_iterate_phdr, what libgcc itself uses when built for a glibc before
 *   2.35. Only unwinding (a panic, contained at the hook boundary) calls it.
 *
 * Everything here is hidden: bound inside libsb2.so, never exported, so it
 * cannot interpose on glibc's own functions in the programs we load into.
 * On other architectures nothing is pinned (SB2_GLIBC_BASE is undefined):
 * the library keeps the build host's versions there. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* glibc's first symbol version on the architecture; build.rs and
 * preload/src/ffi/real.rs (BASE_VERSION) name the same ones. */
#if defined(__x86_64__)
#define SB2_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define SB2_GLIBC_BASE "GLIBC_2.17"
#endif

#define HIDDEN __attribute__((visibility("hidden")))

typedef void *(*dlsym_fn)(void *, const char *);
typedef void *(*dlvsym_fn)(void *, const char *, const char *);

#ifdef SB2_GLIBC_BASE
extern void *sb2_base_dlsym(void *, const char *) __attribute__((weak));
extern void *sb2_base_dlvsym(void *, const char *, const char *)
	__attribute__((weak));
__asm__(".symver sb2_base_dlsym, dlsym@" SB2_GLIBC_BASE);
__asm__(".symver sb2_base_dlvsym, dlvsym@" SB2_GLIBC_BASE);

/* glibc before 2.34 only (see above). Unversioned: the build host's
 * libc.so.6 (2.34 or later) has no such symbols to take a version from, so
 * the weak references resolve to null there. */
extern void *__libc_dlopen_mode(const char *, int) __attribute__((weak));
extern void *__libc_dlsym(void *, const char *) __attribute__((weak));
/* glibc's internal flag of a dlopen call, as its libc passed it. */
#define SB2_RTLD_DLOPEN 0x80000000

static dlsym_fn libdl_dlsym;
static dlvsym_fn libdl_dlvsym;

/* Loads libdl.so.2 once (glibc before 2.34, the program without it). Two
 * threads racing here both load the same, reference-counted library and
 * store the same addresses. */
static void load_libdl(void)
{
	if (__atomic_load_n(&libdl_dlsym, __ATOMIC_ACQUIRE) ||
	    !__libc_dlopen_mode || !__libc_dlsym)
		return;
	void *h = __libc_dlopen_mode("libdl.so.2", RTLD_LAZY | SB2_RTLD_DLOPEN);
	if (!h)
		return;
	__atomic_store_n(&libdl_dlvsym, (dlvsym_fn)__libc_dlsym(h, "dlvsym"),
			 __ATOMIC_RELEASE);
	__atomic_store_n(&libdl_dlsym, (dlsym_fn)__libc_dlsym(h, "dlsym"),
			 __ATOMIC_RELEASE);
}

/* dlsym and dlvsym for libsb2 (preload/src/ffi/real.rs). RTLD_NEXT looks
 * past the object that called dlsym: that is libsb2.so, here as in Rust.
 * Null (the caller's "libc lacks it") if dlsym cannot be had at all. */
HIDDEN void *sb2_dlsym(void *handle, const char *name)
{
	if (sb2_base_dlsym)
		return sb2_base_dlsym(handle, name);
	load_libdl();
	dlsym_fn f = __atomic_load_n(&libdl_dlsym, __ATOMIC_ACQUIRE);
	return f ? f(handle, name) : NULL;
}

HIDDEN void *sb2_dlvsym(void *handle, const char *name, const char *version)
{
	if (sb2_base_dlvsym)
		return sb2_base_dlvsym(handle, name, version);
	load_libdl();
	dlvsym_fn f = __atomic_load_n(&libdl_dlvsym, __ATOMIC_ACQUIRE);
	return f ? f(handle, name, version) : NULL;
}

/* _dl_find_object for libgcc's unwinder (see above): the object whose
 * PT_LOAD segments hold `pc`, and its PT_GNU_EH_FRAME. dlfo_link_map is
 * left null: libgcc does not read it. */
#if defined(DLFO_EH_SEGMENT_TYPE)
#if DLFO_STRUCT_HAS_EH_DBASE || DLFO_STRUCT_HAS_EH_COUNT
#error "struct dl_find_object has fields sb2_dl_find_object does not fill"
#endif
struct find_object {
	uintptr_t pc;
	struct dl_find_object *result;
};

static int find_object_in(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find_object *f = data;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	void *eh_frame = NULL;
	int holds_pc = 0;
	(void)size;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD) {
			uintptr_t end = start + ph->p_memsz;
			lo = start < lo ? start : lo;
			hi = end > hi ? end : hi;
			holds_pc |= f->pc >= start && f->pc < end;
		} else if (ph->p_type == DLFO_EH_SEGMENT_TYPE) {
			eh_frame = (void *)start;
		}
	}
	if (!holds_pc)
		return 0;
	memset(f->result, 0, sizeof *f->result);
	f->result->dlfo_map_start = (void *)lo;
	f->result->dlfo_map_end = (void *)hi;
	f->result->dlfo_eh_frame = eh_frame;
	return 1;
}

HIDDEN int sb2_dl_find_object(void *pc, struct dl_find_object *result)
{
	struct find_object f = { (uintptr_t)pc, result };
	return dl_iterate_phdr(find_object_in, &f) ? 0 : -1;
}
#endif /* DLFO_EH_SEGMENT_TYPE */

#else /* !SB2_GLIBC_BASE: the build host's versions */

HIDDEN void *sb2_dlsym(void *handle, const char *name)
{
	return dlsym(handle, name);
}

HIDDEN void *sb2_dlvsym(void *handle, const char *name, const char *version)
{
	return dlvsym(handle, name, version);
}

#endif /* SB2_GLIBC_BASE */
