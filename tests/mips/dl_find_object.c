/* _dl_find_object for musl, so that Debian's cross libgcc_eh.a can stand in
 * for libunwind.a when std is built with -Zbuild-std for a *-linux-musl
 * target (Rust's prebuilt musl std ships LLVM's libunwind.a; build-std does
 * not).
 *
 * Debian's libgcc_eh.a was built against glibc >= 2.35, so its
 * _Unwind_Find_FDE asks glibc's _dl_find_object for the PT_GNU_EH_FRAME
 * segment holding a PC, and if that fails it gives up (it does not fall back
 * to dl_iterate_phdr). musl has no _dl_find_object, so we provide one on top
 * of dl_iterate_phdr, which musl supports in static executables too. With it,
 * panic=unwind works: #[should_panic] tests and a failing test's report.
 *
 * Layout of glibc's struct dl_find_object where DLFO_STRUCT_HAS_EH_DBASE and
 * DLFO_STRUCT_HAS_EH_COUNT are 0 (the generic sysdeps header, used by MIPS,
 * ARM, AArch64, x86_64; not i386). libgcc reads only dlfo_eh_frame there.
 *
 * Second problem, same cause: libgcc_eh calls pthread_once & co. through
 * *weak* references (gthr-posix.h, and since glibc 2.34 it assumes threads are
 * always on). In a static link a weak reference does not pull a member out of
 * libc.a, so unless something else links pthread_once in, uw_init_context
 * calls address 0. The table below makes them strong references: this object
 * is always linked (libgcc_eh needs _dl_find_object), so they come along.
 */
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct dl_find_object {
    unsigned long long dlfo_flags;
    void *dlfo_map_start;
    void *dlfo_map_end;
    struct link_map *dlfo_link_map;
    void *dlfo_eh_frame;
    unsigned long long __dlfo_reserved[7];
};

struct lookup {
    uintptr_t pc;
    struct dl_find_object *out;
    int found;
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct lookup *l = data;
    const ElfW(Phdr) *eh = NULL;
    uintptr_t lo = 0, hi = 0;
    int hit = 0;
    (void)size;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD) {
            uintptr_t start = info->dlpi_addr + ph->p_vaddr;
            uintptr_t end = start + ph->p_memsz;
            if (l->pc >= start && l->pc < end)
                hit = 1;
            if (lo == 0 || start < lo)
                lo = start;
            if (end > hi)
                hi = end;
        } else if (ph->p_type == PT_GNU_EH_FRAME) {
            eh = ph;
        }
    }
    if (!hit || eh == NULL)
        return 0;
    l->out->dlfo_flags = 0;
    l->out->dlfo_map_start = (void *)lo;
    l->out->dlfo_map_end = (void *)hi;
    l->out->dlfo_link_map = NULL;
    l->out->dlfo_eh_frame = (void *)(info->dlpi_addr + eh->p_vaddr);
    l->found = 1;
    return 1;
}

int _dl_find_object(void *pc, struct dl_find_object *result);
int _dl_find_object(void *pc, struct dl_find_object *result)
{
    struct lookup l = { (uintptr_t)pc, result, 0 };
    dl_iterate_phdr(find_cb, &l);
    return l.found ? 0 : -1;
}

__attribute__((used)) void *const wancert_libgcc_eh_gthr_refs[] = {
    (void *)pthread_once,
    (void *)pthread_key_create,
    (void *)pthread_getspecific,
    (void *)pthread_setspecific,
    (void *)pthread_mutex_lock,
    (void *)pthread_mutex_unlock,
};
