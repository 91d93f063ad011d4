/* SPDX-License-Identifier: Apache-2.0 */
/* Capturing and merging native and Python stacks. */
#include "native_stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "proc_stop.h"

#define TSTATE_BUF 4096

static int read_python(struct py_proc *pp, uint64_t tstate,
		       struct py_frame_chunks *fc, struct py_frame *py,
		       size_t pycap, size_t *npy)
{
	unsigned char buf[TSTATE_BUF];
	size_t len = (size_t)pp->layout.v[LF_tstate___size__];
	int ret;

	*npy = 0;
	if (len > sizeof(buf))
		return PE_CORRUPT;
	ret = py_proc__read(pp, tstate, buf, len);
	if (ret)
		return ret;
	if (fc)
		return py_frame__walk_chunked(pp, buf, len, fc, py, pycap, npy);
	return py_frame__walk(pp, tstate, buf, len, py, pycap, npy);
}

int native_stack__capture(struct py_proc *pp, struct native_unwinder *u,
			  int tid, uint64_t tstate, uint64_t *ips,
			  uint64_t *sps, size_t ipcap, size_t *nips,
			  struct py_frame_chunks *fc, struct py_frame *py,
			  size_t pycap, size_t *npy, int *py_err)
{
	int ret;

	*nips = 0;
	ret = tid > 0 ? proc_stop__stop(tid) : -ESRCH;
	if (ret) {
		/* Not stopped: the Python frames alone, read as usual. */
		*py_err = read_python(pp, tstate, fc, py, pycap, npy);
		return ret;
	}
	ret = native_unwind__thread(u, tid, ips, sps, ipcap, nips);
	*py_err = read_python(pp, tstate, fc, py, pycap, npy);
	proc_stop__resume(tid);
	if (ret && !*nips)
		return ret == -ESRCH ? ret : PE_NATIVE_UNWIND;
	return 0;
}

/* Python frames only, innermost first. */
static size_t python_only(const struct py_frame *py, size_t npy,
			  struct native_entry *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < npy && n < cap; i++)
		out[n++] = (struct native_entry){ &py[i], NULL, 0 };
	return n;
}

/*
 * Mark the evaluator's frames by the stack: the group whose entry frame
 * follows shim S was run by the native frame whose stack frame holds S.
 * Groups go outermost first, and so must the frames.
 */
static bool evals_by_stack(const uint64_t *sps, size_t nips,
			   const struct py_frame *py, size_t npy, bool *is_eval)
{
	size_t hi = nips;

	for (ptrdiff_t k = (ptrdiff_t)npy - 1; k >= 0; k--) {
		uint64_t shim = py[k].shim;
		bool found = false;

		if (k != (ptrdiff_t)npy - 1 && !py[k].entry)
			continue;
		if (!shim)
			return false;
		while (hi-- > 0) {
			if (sps[hi] <= shim &&
			    (hi + 1 == nips || shim < sps[hi + 1])) {
				is_eval[hi] = true;
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

int native_stack__merge(struct native_sym *sym, const uint64_t *ips,
			const uint64_t *sps, size_t nips,
			const struct py_frame *py, size_t npy, bool all,
			struct native_entry *out, size_t cap, size_t *n)
{
	const struct native_sym_info *syms[NATIVE_MAX_DEPTH];
	bool is_eval[NATIVE_MAX_DEPTH];
	size_t evals = 0, groups = npy ? 1 : 0, k = 0;
	ptrdiff_t p = (ptrdiff_t)npy - 1;

	*n = 0;
	if (nips > NATIVE_MAX_DEPTH)
		nips = NATIVE_MAX_DEPTH;
	native_sym__refresh(sym);
	for (size_t i = 0; i < nips; i++) {
		syms[i] = native_sym__lookup(sym, ips[i], i > 0);
		is_eval[i] = syms[i]->eval;
		evals += syms[i]->eval;
	}
	for (size_t i = 0; i + 1 < npy; i++)
		groups += py[i].entry;
	if (evals != groups) {
		memset(is_eval, 0, nips * sizeof(*is_eval));
		if (!evals_by_stack(sps, nips, py, npy, is_eval)) {
			log_debug("native merge: %zu evaluator frames, %zu Python frame groups (%zu Python frames, %zu native)",
				  evals, groups, npy, nips);
			for (size_t i = 0; i < nips; i++)
				log_debug("  #%zu ip %#llx sp %#llx %s [%s]%s%s", i,
					  (unsigned long long)ips[i],
					  (unsigned long long)sps[i],
					  syms[i]->function ? syms[i]->function : "??",
					  syms[i]->module ? syms[i]->module : "?",
					  syms[i]->interp ? " interp" : "",
					  syms[i]->eval ? " eval" : "");
			for (size_t i = 0; i < npy; i++)
				log_debug("  py %zu %s%s shim %#llx", i,
					  py[i].code->qualname,
					  py[i].entry ? " entry" : "",
					  (unsigned long long)py[i].shim);
			*n = python_only(py, npy, out, cap);
			return PE_NATIVE_MERGE;
		}
	}
	/* Outermost first into out, then reversed. */
	for (size_t i = nips; i-- > 0 && k < cap;) {
		if (is_eval[i]) {
			/* This call's frames: from an entry frame inwards, up
			 * to the next entry frame. */
			do {
				out[k++] = (struct native_entry){ &py[p], NULL, 0 };
				p--;
			} while (p >= 0 && !py[p].entry && k < cap);
			continue;
		}
		if (all || !syms[i]->interp)
			out[k++] = (struct native_entry){ NULL, syms[i], ips[i] };
	}
	for (size_t i = 0; i < k / 2; i++) {
		struct native_entry t = out[i];

		out[i] = out[k - 1 - i];
		out[k - 1 - i] = t;
	}
	*n = k;
	return 0;
}
