/* SPDX-License-Identifier: Apache-2.0 */
/* The GIL struct of the main interpreter, read as data. */
#include "py_gil.h"

#include <string.h>

#include "errors.h"
#include "py_thread.h"

#define FUTEX_NR_X86_64 202
#define GIL_READ_MAX 256

int py_gil__open(struct py_proc *pp, struct py_gil *g)
{
	const struct py_layout *l = &pp->layout;
	uint64_t interp = 0, enabled = 1;
	int ret;

	memset(g, 0, sizeof(*g));
	g->free_threaded = l->variant == LAYOUT_FREE_THREADED;
	ret = py_proc__main_interp(pp, &interp);
	if (ret)
		return ret;
	ret = py_thread__gil_struct(pp, interp, &g->addr);
	if (ret)
		return ret;
	if (!py_ptr_ok(g->addr))
		return PE_CORRUPT;
	g->size = layout_has(l, LF_gil___size__) ? (uint64_t)l->v[LF_gil___size__]
						 : 0;
	if (layout_has(l, LF_gil_enabled)) {
		ret = py_read_field(pp, g->addr, LF_gil_enabled, &enabled);
		if (ret)
			return ret;
	}
	g->enabled = enabled != 0;
	return 0;
}

int py_gil__read(struct py_proc *pp, const struct py_gil *g,
		 struct py_gil_state *st)
{
	const struct py_layout *l = &pp->layout;
	unsigned char buf[GIL_READ_MAX];
	int64_t end = l->v[LF_gil_switch_number] + 8;
	int ret;

	memset(st, 0, sizeof(*st));
	if (!layout_has(l, LF_gil_switch_number) || end > GIL_READ_MAX)
		return PE_UNSUPPORTED;
	if (l->v[LF_gil_locked] + 4 > end)
		end = l->v[LF_gil_locked] + 4;
	ret = py_proc__read(pp, g->addr, buf, (size_t)end);
	if (ret)
		return ret;
	/* locked is -1 before the GIL is first created. */
	st->locked = (int)py_get(l, buf, (size_t)end, LF_gil_locked) == 1;
	st->holder = st->locked ? py_get(l, buf, (size_t)end, LF_gil_last_holder)
				: 0;
	st->switches = py_get(l, buf, (size_t)end, LF_gil_switch_number);
	return 0;
}

bool py_gil__waiting(const struct py_gil *g, const struct proc_syscall *sc)
{
#if defined(__x86_64__)
	return sc->state == PROC_SC_IN && sc->nr == FUTEX_NR_X86_64 &&
	       g->size && sc->args[0] >= g->addr &&
	       sc->args[0] < g->addr + g->size;
#else
	(void)g;
	(void)sc;
	return false;
#endif
}
