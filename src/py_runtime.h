/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding the CPython runtime in a process and telling its exact version:
 * which mapped ELF file holds _PyRuntime (symbol or .PyRuntime section),
 * its load bias, the addresses of the type objects the walker checks
 * against, and the version from _Py_DebugOffsets, Py_Version or the
 * sys.version text.  Files are opened through /proc/PID/root so that
 * other mount namespaces work.
 */
#ifndef PEEKA_PY_RUNTIME_H
#define PEEKA_PY_RUNTIME_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "proc_maps.h"
#include "proc_mem.h"

/* Type objects and singletons whose addresses the walker compares with. */
#define PY_SYMBOLS(X)                   \
	X(code_type, "PyCode_Type")     \
	X(unicode_type, "PyUnicode_Type") \
	X(bytes_type, "PyBytes_Type")   \
	X(long_type, "PyLong_Type")     \
	X(bool_type, "PyBool_Type")     \
	X(float_type, "PyFloat_Type")   \
	X(tuple_type, "PyTuple_Type")   \
	X(list_type, "PyList_Type")     \
	X(dict_type, "PyDict_Type")     \
	X(set_type, "PySet_Type")       \
	X(cell_type, "PyCell_Type")     \
	X(module_type, "PyModule_Type") \
	X(none, "_Py_NoneStruct")       \
	X(py_version, "Py_Version")

#define PY_SYM_ENUM(id, name) PY_SYM_##id,
enum py_sym { PY_SYMBOLS(PY_SYM_ENUM) PY_SYM__COUNT };
#undef PY_SYM_ENUM

struct py_version {
	unsigned major, minor, micro;
	unsigned level;   /* 0xA alpha, 0xB beta, 0xC rc, 0xF final */
	unsigned serial;
	bool micro_known; /* false when only X.Y is known */
	bool free_threaded;
	const char *source; /* "_Py_DebugOffsets", "Py_Version", … */
};

struct py_runtime {
	int pid;
	char map_path[PATH_MAX];   /* the file as the target sees it */
	char open_path[PATH_MAX];  /* the path peeka opened */
	bool deleted;
	bool shared;          /* _PyRuntime lives in a libpython .so */
	char exe_path[PATH_MAX];   /* /proc/PID/exe target */
	uint64_t bias;
	uint64_t runtime_addr;
	uint64_t runtime_size;     /* 0 when unknown */
	bool has_section;          /* .PyRuntime present */
	uint64_t sym[PY_SYM__COUNT];  /* 0 when not found */
	struct py_version version;
};

/*
 * Locate the runtime in @pid's mappings.  Returns 0, PE_NOT_PYTHON, or
 * -errno; @err gets a one-line explanation.
 */
int py_runtime__locate(struct py_runtime *rt, int pid,
		       const struct proc_maps *maps, char *err, size_t errlen);

/*
 * Detect the version (fills rt->version).  Returns 0 or PE_VERSION_UNKNOWN;
 * on failure rt->version.minor may still hold a guess from the file name.
 */
int py_runtime__detect_version(struct py_runtime *rt, struct proc_mem *pm,
			       const struct proc_maps *maps);

/*
 * After py_runtime__locate failed but left a Python-named binary in
 * rt->map_path: read its sys.version text (an older CPython).  0 or -1.
 */
int py_runtime__old_version(struct py_runtime *rt, struct proc_mem *pm,
			    const struct proc_maps *maps);

/* Decode a PY_VERSION_HEX value. */
void py_version__from_hex(struct py_version *v, uint64_t hex);

/* Find "3.X.Y[(a|b|rc)N][+] (" in @buf (sys.version text); 0 or -1. */
int py_version__scan_text(const char *buf, size_t len, struct py_version *v);

/* "3.12.1", "3.13.0rc2", "3.9" into @buf. */
void py_version__format(const struct py_version *v, char *buf, size_t len);

/* The X.Y found in a file name such as libpython3.9.so.1.0; 0 or -1. */
int py_version__from_filename(const char *name, unsigned *major,
			      unsigned *minor);

#endif
