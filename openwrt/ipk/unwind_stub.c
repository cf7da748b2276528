/* A stand-in for libunwind.a in the .ipk builds (openwrt/build-ipk.sh).
 *
 * std for a *-linux-musl target built with -Zbuild-std links -lunwind, and
 * with panic=abort the only callers left are std's backtrace printer (which
 * runs when a panic happens with RUST_BACKTRACE set). Debian has no musl
 * libunwind for the cross targets, so these report an empty stack: a panic
 * still aborts with its message, just without a backtrace. tests/mips.sh
 * builds the test binaries, which do need real unwinding, another way.
 */
#include <stdint.h>

struct _Unwind_Context;
typedef int (*_Unwind_Trace_Fn)(struct _Unwind_Context *, void *);

enum { URC_END_OF_STACK = 5 };

int _Unwind_Backtrace(_Unwind_Trace_Fn trace, void *arg)
{
	(void)trace;
	(void)arg;
	return URC_END_OF_STACK;
}

uintptr_t _Unwind_GetIP(struct _Unwind_Context *ctx)
{
	(void)ctx;
	return 0;
}

uintptr_t _Unwind_GetIPInfo(struct _Unwind_Context *ctx, int *before)
{
	(void)ctx;
	*before = 0;
	return 0;
}

uintptr_t _Unwind_GetCFA(struct _Unwind_Context *ctx)
{
	(void)ctx;
	return 0;
}

void *_Unwind_FindEnclosingFunction(void *pc)
{
	(void)pc;
	return 0;
}
