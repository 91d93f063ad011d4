#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# House-style checks that a compiler does not make: banned functions,
# C++ comments, missing SPDX banners.  Exits 1 on any finding.
set -eu
cd "$(dirname "$0")/.."
status=0
files=$(ls src/*.[ch] src/commands/*.[ch] src/cpython_layouts/*.[ch] tests/*.[ch])
for f in $files; do
	if grep -nE '\b(sprintf|strcpy|strcat|gets|atoi)\s*\(' "$f" |
		grep -vE '^[0-9]+:\s*/?\*'; then
		echo "$f: banned function" >&2
		status=1
	fi
	if grep -nE '^\s*//|[;{]\s*//' "$f"; then
		echo "$f: use /* */ comments" >&2
		status=1
	fi
	if ! head -1 "$f" | grep -q 'SPDX-License-Identifier'; then
		echo "$f: missing SPDX line" >&2
		status=1
	fi
done
exit $status
