# SPDX-License-Identifier: Apache-2.0
# Shared by the bench scripts (sourced; needs HELPER_PY set to a python3).

# rusage OUT CMD...: run CMD, write "wall_s user_s sys_s maxrss_kb" to OUT
# (os.wait4: microsecond CPU times, ru_maxrss as /usr/bin/time -f %M reports
# it), return CMD's exit status.
readonly RUSAGE_PY='
import os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
with open(out, "w") as f:
    f.write("%.6f %.6f %.6f %d\n" % (wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
if os.WIFEXITED(status):
    sys.exit(os.WEXITSTATUS(status))
sys.exit(128 + os.WTERMSIG(status))
'
rusage() { "$HELPER_PY" -c "$RUSAGE_PY" "$@"; }

# median VALUES...: the median, NA and empty values left out (NA if none).
median() {
	printf '%s\n' "$@" | grep -Ev '^(NA|)$' | sort -g | awk '
		{ a[NR] = $1 }
		END {
			if (NR == 0) print "NA"
			else if (NR % 2) print a[(NR + 1) / 2]
			else print (a[NR / 2] + a[NR / 2 + 1]) / 2
		}'
}
