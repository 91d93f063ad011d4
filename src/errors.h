/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error codes returned by core modules: 0, a negative errno, or one of the
 * domain codes below (all below -PE_BASE, far from any errno value).
 */
#ifndef PEEKA_ERRORS_H
#define PEEKA_ERRORS_H

#define PE_BASE 10000

enum peeka_error {
	PE_NOT_PYTHON = -(PE_BASE + 1),       /* no CPython runtime in any mapping */
	PE_UNSUPPORTED = -(PE_BASE + 2),      /* a version we have no table for */
	PE_VERSION_UNKNOWN = -(PE_BASE + 3),  /* runtime found, version not */
	PE_NOT_INITIALIZED = -(PE_BASE + 4),  /* interpreter not (yet) running */
	PE_CORRUPT = -(PE_BASE + 5),          /* remote data failed validation */
	PE_TORN = -(PE_BASE + 6),             /* data changed while being read */
	PE_ELF = -(PE_BASE + 7),              /* unreadable or malformed ELF */
	PE_NO_SYMBOL = -(PE_BASE + 8),        /* symbol or section not found */
	PE_TOO_DEEP = -(PE_BASE + 9),         /* a bound was hit (depth, size) */
	PE_FINALIZING = -(PE_BASE + 10),      /* interpreter shutting down */
	PE_NOT_RECORDING = -(PE_BASE + 11),   /* not a .peeka recording */
	PE_FORMAT_VERSION = -(PE_BASE + 12),  /* a recording format too new */
	PE_NATIVE_MERGE = -(PE_BASE + 13),    /* native and Python stacks disagree */
	PE_NATIVE_UNWIND = -(PE_BASE + 14),   /* the native stack could not be read */
};

/* A short description of @err (errno or domain code).  Static storage. */
const char *peeka_strerror(int err);

#endif
