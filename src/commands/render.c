/* SPDX-License-Identifier: Apache-2.0 */
/* The one place that maps an output format to its writer. */
#include "render.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../diag.h"
#include "../out_chrome.h"
#include "../out_pprof.h"
#include "../out_speedscope.h"
#include "../out_svg.h"

/* Close @f; report @ret (or the close's failure) as a write error. */
static int close_output(FILE *f, int ret, const char *path)
{
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret) {
		error_code(ret, "cannot write '%s'", path);
		return -1;
	}
	return 0;
}

int render_profile(struct profile *prof, FILE *f, enum rec_format fmt,
		   const char *path)
{
	int ret;

	if (fmt == REC_FORMAT_SVG)
		ret = out_svg__write(prof, f, NULL);
	else
		ret = profile__write_collapsed(prof, f);
	return close_output(f, ret, path);
}

int render_timeline__open(struct render_timeline *r, enum rec_format fmt,
			  FILE *f, const struct profile *prof,
			  const struct render_timeline_opts *o,
			  const char *path)
{
	struct out_chrome_opts co = { o->pid, o->name, o->sp, o->full_filenames };
	int ret = 0;

	memset(r, 0, sizeof(*r));
	r->fmt = fmt;
	r->prof = prof;
	if (fmt == REC_FORMAT_SPEEDSCOPE) {
		r->ss = out_speedscope__new();
		ret = r->ss ? 0 : -ENOMEM;
	} else if (fmt == REC_FORMAT_PPROF) {
		r->pp = out_pprof__new();
		ret = r->pp ? 0 : -ENOMEM;
	} else {
		fflush(f);
		ret = out_chrome__open(&r->ch, fileno(f), &co);
	}
	if (ret) {
		error_code(ret, "cannot write '%s'", path);
		return -1;
	}
	return 0;
}

int render_timeline__sample(void *ctx, uint64_t ts_ns, int pid,
			    const struct py_sample_thread *t, uint32_t stack)
{
	struct render_timeline *r = ctx;
	int ret;

	r->now = ts_ns;
	if (r->ss)
		return stack == UINT32_MAX ? 0
		       : out_speedscope__sample(r->ss, pid, t, stack);
	if (r->pp)
		return stack == UINT32_MAX ? 0
		       : out_pprof__sample(r->pp, pid, t, stack);
	ret = out_chrome__sample(r->ch, r->prof, ts_ns, pid, t, stack);
	return ret ? ret : out_chrome__tick(r->ch, ts_ns);
}

int render_timeline__finish(struct render_timeline *r, FILE *f,
			    const struct render_timeline_opts *o,
			    const char *path)
{
	struct out_speedscope_meta m = { o->name, o->rate, o->sp,
					 o->full_filenames };
	struct out_pprof_meta pm = { o->rate, o->start_unix_ns, r->now, o->sp,
				     o->full_filenames };
	int ret;

	if (r->ss)
		ret = out_speedscope__write(r->ss, r->prof, f, &m);
	else if (r->pp)
		ret = out_pprof__write(r->pp, r->prof, f, &pm);
	else
		ret = out_chrome__finish(r->ch, r->prof, r->now +
					 (uint64_t)(1e9 / (o->rate >= 0.01 ? o->rate : 100)));
	out_speedscope__free(r->ss);
	out_chrome__free(r->ch);
	out_pprof__free(r->pp);
	r->ss = NULL;
	r->ch = NULL;
	r->pp = NULL;
	return close_output(f, ret, path);
}
