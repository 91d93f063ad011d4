/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening a target: access checks, runtime location, version, layout
 * selection and the _Py_DebugOffsets comparison.  Prints nothing.
 */
#include "py_proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython_layouts/debug_offsets.h"
#include "errors.h"
#include "proc_task.h"
#include "py_code.h"

int py_read_field(struct py_proc *pp, uint64_t obj, enum layout_field f,
		  uint64_t *out)
{
	enum layout_kind k = layout_field_kind(f);
	size_t w = layout_kind_width(k);
	unsigned char buf[8] = { 0 };
	int ret;

	if (!layout_has(&pp->layout, f))
		return -ENOENT;
	if (!w)
		return -ERANGE;
	ret = py_proc__read(pp, obj + (uint64_t)pp->layout.v[f], buf, w);
	if (!ret)
		*out = py_decode(k, buf);
	return ret;
}

int py_type_of(struct py_proc *pp, uint64_t obj, uint64_t *type)
{
	return py_read_field(pp, obj, LF_object_ob_type, type);
}

void py_proc__version_text(const struct py_proc *pp, char *buf, size_t len)
{
	py_version__format(&pp->rt.version, buf, len);
}

static void record_mismatch(void *ctx, const char *name, enum layout_field f,
			    int64_t ours, int64_t theirs)
{
	struct py_proc *pp = ctx;

	if (pp->nmismatch >= PY_PROC_MAX_MISMATCH)
		return;
	pp->mismatch[pp->nmismatch++] = (struct py_layout_mismatch){
		name, f, ours, theirs
	};
}

static int apply_debug_offsets(struct py_proc *pp)
{
	unsigned char buf[1024];
	struct debug_offsets d;
	size_t size = debug_offsets__size(pp->layout.minor);

	if (!size || !pp->rt.has_section)
		return 0;
	if (py_proc__read(pp, pp->rt.runtime_addr, buf, size))
		return 0;
	if (debug_offsets__parse(&d, buf, size))
		return 0;
	pp->has_debug_offsets = true;
	{
		struct py_layout before = pp->layout;
		char why[160];

		debug_offsets__apply(&d, &pp->layout, record_mismatch, pp);
		/* Never trust offsets that break our own bounds checks. */
		if (layout_validate(&pp->layout, why, sizeof(why))) {
			pp->layout = before;
			pp->debug_offsets_rejected = true;
			pp->nmismatch = 0;
		}
	}
	return 0;
}

static int select_layout(struct py_proc *pp, char *err, size_t errlen)
{
	const struct py_version *v = &pp->rt.version;
	const struct py_layout *l;
	char vs[32], list[128];

	py_version__format(v, vs, sizeof(vs));
	l = layout_find(v->major, v->minor,
			v->free_threaded ? LAYOUT_FREE_THREADED : LAYOUT_DEFAULT);
	if (!l) {
		layout_supported_list(list, sizeof(list));
		snprintf(err, errlen,
			 "unsupported Python version %s%s in pid %d (supported: %s)",
			 vs, v->free_threaded ? " (free-threaded)" : "", pp->pid,
			 list);
		return PE_UNSUPPORTED;
	}
	pp->layout = *l;
	return 0;
}

static int check_initialized(struct py_proc *pp, char *err, size_t errlen)
{
	uint64_t head = 0;
	int ret;

	ret = py_read_field(pp, pp->rt.runtime_addr,
			    LF_runtime_interpreters_head, &head);
	if (ret == -ESRCH)
		return ret;
	if (ret || !head) {
		snprintf(err, errlen,
			 "the Python interpreter in pid %d is not initialized (still starting, or already shut down)",
			 pp->pid);
		return PE_NOT_INITIALIZED;
	}
	return 0;
}

static int exited(int pid, char *err, size_t errlen)
{
	snprintf(err, errlen, "process %d exited while being read", pid);
	return -ESRCH;
}

static int detect(struct py_proc *pp, const struct py_proc_opts *o, char *err,
		  size_t errlen)
{
	int ret = py_runtime__detect_version(&pp->rt, &pp->mem, &pp->maps);

	if (o && o->force_version[0]) {
		bool same = ret == 0 &&
			    pp->rt.version.major == o->force_version[0] &&
			    pp->rt.version.minor == o->force_version[1];

		pp->rt.version.major = o->force_version[0];
		pp->rt.version.minor = o->force_version[1];
		pp->rt.version.micro_known = same;
		if (!same)
			pp->rt.version.level = 0xf;
		pp->rt.version.source = "--python-version";
		pp->version_forced = true;
		return 0;
	}
	if (ret && proc_task__is_dead(pp->pid))
		return exited(pp->pid, err, errlen);
	if (ret && pp->rt.version.minor) {
		/* Only the file name says X.Y: that is enough to tell an
		 * interpreter that has not started from one we cannot read. */
		if (!select_layout(pp, err, errlen) &&
		    check_initialized(pp, err, errlen) == PE_NOT_INITIALIZED)
			return PE_NOT_INITIALIZED;
	}
	if (ret)
		snprintf(err, errlen,
			 "cannot determine the Python version of pid %d (runtime in '%s')",
			 pp->pid, pp->rt.map_path);
	return ret;
}

int py_proc__open(struct py_proc *pp, int pid, const struct py_proc_opts *o,
		  char *err, size_t errlen)
{
	int ret;

	memset(pp, 0, sizeof(*pp));
	pp->pid = pid;
	pp->remote_debug = -1;
	proc_mem__init(&pp->mem, pid);
	ret = proc_task__check_access(pid);
	if (ret) {
		if (ret == -ESRCH)
			snprintf(err, errlen, "no process with pid %d", pid);
		else
			snprintf(err, errlen, "cannot read process %d: %s", pid,
				 strerror(-ret));
		return ret;
	}
	ret = proc_maps__load(&pp->maps, pid);
	if (ret) {
		if (ret == -ENOENT || ret == -ESRCH)
			return exited(pid, err, errlen);
		snprintf(err, errlen, "cannot read the mappings of pid %d: %s",
			 pid, strerror(-ret));
		return ret;
	}
	ret = py_runtime__locate(&pp->rt, pid, &pp->maps, err, errlen);
	if (ret == PE_NOT_PYTHON &&
	    !py_runtime__old_version(&pp->rt, &pp->mem, &pp->maps)) {
		char vs[32];

		if (select_layout(pp, err, errlen))
			return PE_UNSUPPORTED;
		py_version__format(&pp->rt.version, vs, sizeof(vs));
		snprintf(err, errlen,
			 "found CPython %s in '%s' but no _PyRuntime symbol or section (stripped binary?)",
			 vs, pp->rt.map_path);
		return PE_NOT_PYTHON;
	}
	if (ret)
		return proc_task__is_dead(pid) ? exited(pid, err, errlen) : ret;
	ret = detect(pp, o, err, errlen);
	if (ret)
		return ret;
	ret = select_layout(pp, err, errlen);
	if (ret)
		return ret;
	apply_debug_offsets(pp);
	ret = check_initialized(pp, err, errlen);
	if (ret == -ESRCH)
		return exited(pid, err, errlen);
	if (ret)
		return ret;
	pp->codes = py_code_cache__new();
	if (!pp->codes)
		return -ENOMEM;
	if (layout_has(&pp->layout, LF_interp_remote_debug)) {
		uint64_t interp, v;

		if (!py_proc__main_interp(pp, &interp) &&
		    !py_read_field(pp, interp, LF_interp_remote_debug, &v))
			pp->remote_debug = (int)v;
	}
	return 0;
}

void py_proc__close(struct py_proc *pp)
{
	py_code_cache__free(pp->codes);
	pp->codes = NULL;
	proc_maps__release(&pp->maps);
	proc_mem__release(&pp->mem);
}

int py_proc__main_interp(struct py_proc *pp, uint64_t *interp)
{
	uint64_t cur = 0;
	int ret;

	ret = py_read_field(pp, pp->rt.runtime_addr,
			    LF_runtime_interpreters_main, &cur);
	if (!ret && py_ptr_ok(cur)) {
		*interp = cur;
		return 0;
	}
	ret = py_read_field(pp, pp->rt.runtime_addr,
			    LF_runtime_interpreters_head, &cur);
	if (ret)
		return ret;
	for (int i = 0; i < 256 && py_ptr_ok(cur); i++) {
		uint64_t id, next;

		if (!py_read_field(pp, cur, LF_interp_id, &id) && id == 0) {
			*interp = cur;
			return 0;
		}
		if (py_read_field(pp, cur, LF_interp_next, &next))
			break;
		cur = next;
	}
	return PE_NOT_INITIALIZED;
}
