#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run a Python program as if in a container: new PID and mount namespaces,
# with the file holding the interpreter (the static executable, or
# libpython for a shared build) copied into a tmpfs that only the new mount
# namespace sees.  From outside, the paths in /proc/PID/maps then exist
# only through /proc/PID/root, and the thread ids Python records are those
# of the inner PID namespace.
#
# Usage: in_container.sh PYTHON static|shared SCRIPT [ARGS...]
# PYTHON must be an ELF executable (not a launcher script).
set -euo pipefail
python=$1 kind=$2
shift 2
prefix=$("$python" -c 'import sys; print(sys.base_prefix)')
minor=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
mnt=${PEEKA_NS_MNT:-$(mktemp -d /tmp/peeka-ns-XXXXXX)}
mkdir -p "$mnt"
export PEEKA_NS_MNT=$mnt PEEKA_NS_PY=$python PEEKA_NS_KIND=$kind \
	PEEKA_NS_PREFIX=$prefix PEEKA_NS_MINOR=$minor
exec unshare --pid --mount --fork --kill-child --mount-proc \
	bash -c '
set -e
mount -t tmpfs peeka-ns "$PEEKA_NS_MNT"
export PYTHONHOME=$PEEKA_NS_PREFIX
if [ "$PEEKA_NS_KIND" = static ]; then
	cp "$PEEKA_NS_PY" "$PEEKA_NS_MNT/python"
	py=$PEEKA_NS_MNT/python
else
	cp "$PEEKA_NS_PREFIX/lib/libpython$PEEKA_NS_MINOR.so.1.0" "$PEEKA_NS_MNT/"
	export LD_LIBRARY_PATH=$PEEKA_NS_MNT
	py=$PEEKA_NS_PY
fi
# Python must not be the namespace'"'"'s init (pid 1): init ignores signals it
# has no handler for, so the fixture'"'"'s own timeout would never fire.
"$py" "$@" &
wait $!' container "$@"
