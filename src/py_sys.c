/* SPDX-License-Identifier: Apache-2.0 */
/* Reads sys.path from the target and shortens file names with it. */
#include "py_sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "py_dict.h"
#include "py_str.h"

#define SYS_PATH_MAX 256

void py_sys_path__release(struct py_sys_path *sp)
{
	for (size_t i = 0; i < sp->n; i++)
		free(sp->dirs[i]);
	free(sp->dirs);
	memset(sp, 0, sizeof(*sp));
}

/* "…/lib/python3.12" is the standard library (not pythonXY.zip). */
static bool is_stdlib_dir(const char *d)
{
	const char *b = strrchr(d, '/');

	return b && !strncmp(b, "/python", 7) && strstr(d, "/lib/") &&
	       !strstr(d, "-packages") && !strstr(b, ".zip");
}

static int add_dir(struct py_sys_path *sp, const char *d)
{
	char *copy;
	size_t len;

	if (!*d)
		return 0;
	copy = strdup(d);
	if (!copy)
		return -ENOMEM;
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	sp->dirs[sp->n++] = copy;
	if (!sp->stdlib && is_stdlib_dir(copy))
		sp->stdlib = copy;
	return 0;
}

int py_sys_path__set(struct py_sys_path *sp, const char *const *dirs,
		     size_t n)
{
	memset(sp, 0, sizeof(*sp));
	sp->dirs = calloc(n + 1, sizeof(char *));
	if (!sp->dirs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (add_dir(sp, dirs[i])) {
			py_sys_path__release(sp);
			return -ENOMEM;
		}
	return 0;
}

int py_sys__path(struct py_proc *pp, struct py_sys_path *out)
{
	uint64_t interp, sysdict, list, size, items;
	uint64_t ptrs[SYS_PATH_MAX];
	char buf[4096];
	int ret;

	memset(out, 0, sizeof(*out));
	ret = py_proc__main_interp(pp, &interp);
	if (!ret)
		ret = py_read_field(pp, interp, LF_interp_sysdict, &sysdict);
	if (!ret)
		ret = py_dict__get_str(pp, sysdict, "path", &list);
	if (!ret)
		ret = py_read_field(pp, list, LF_varobject_ob_size, &size);
	if (!ret)
		ret = py_read_field(pp, list, LF_list_ob_item, &items);
	if (ret)
		return ret;
	if (size > SYS_PATH_MAX)
		size = SYS_PATH_MAX;
	if (size && py_proc__read(pp, items, ptrs, size * 8))
		return PE_TORN;
	out->dirs = calloc(size + 1, sizeof(char *));
	if (!out->dirs)
		return -ENOMEM;
	for (uint64_t i = 0; i < size; i++)
		if (!py_str__read(pp, ptrs[i], buf, sizeof(buf), NULL) &&
		    add_dir(out, buf))
			return -ENOMEM;
	return 0;
}

const char *py_sys_path__short(const struct py_sys_path *sp,
			       const char *file)
{
	size_t best = 0;

	for (size_t i = 0; i < sp->n; i++) {
		size_t len = strlen(sp->dirs[i]);

		if (len > best && !strncmp(file, sp->dirs[i], len) &&
		    file[len] == '/' && file[len + 1])
			best = len;
	}
	return best ? file + best + 1 : file;
}
