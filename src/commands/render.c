/* SPDX-License-Identifier: Apache-2.0 */
/* The one place that maps an output format to its writer. */
#include "render.h"

#include <errno.h>

#include "../diag.h"
#include "../out_svg.h"

int render_profile(struct profile *prof, FILE *f, enum rec_format fmt,
		   const char *path)
{
	int ret;

	if (fmt == REC_FORMAT_SVG)
		ret = out_svg__write(prof, f, NULL);
	else
		ret = profile__write_collapsed(prof, f);
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret) {
		error_code(ret, "cannot write '%s'", path);
		return -1;
	}
	return 0;
}
