/* SPDX-License-Identifier: Apache-2.0 */
/* Text for peeka's domain error codes; errno values go to strerror(). */
#include "errors.h"

#include <string.h>

const char *peeka_strerror(int err)
{
	switch (err) {
	case PE_NOT_PYTHON:
		return "not a CPython process";
	case PE_UNSUPPORTED:
		return "unsupported Python version";
	case PE_VERSION_UNKNOWN:
		return "cannot determine the Python version";
	case PE_NOT_INITIALIZED:
		return "the Python interpreter is not initialized";
	case PE_CORRUPT:
		return "remote data failed validation";
	case PE_TORN:
		return "stack changed while being read";
	case PE_ELF:
		return "unreadable ELF file";
	case PE_NO_SYMBOL:
		return "symbol not found";
	case PE_TOO_DEEP:
		return "a size or depth limit was hit";
	case PE_FINALIZING:
		return "the interpreter is shutting down";
	case PE_NOT_RECORDING:
		return "not a peeka recording";
	case PE_FORMAT_VERSION:
		return "recorded in a newer format than this peeka reads";
	case PE_NATIVE_MERGE:
		return "the native and Python stacks do not match";
	case PE_NATIVE_UNWIND:
		return "the native stack could not be unwound";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
