#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Wall time of `peeka dump --json` on the six-thread fixture, per test
# interpreter: median of N runs (default 5), plus min and max, and the
# number of remote reads one dump makes (peeka -v reports none yet, so the
# count comes from strace when it is installed).  Prints a table.
#
# Usage: bench/dump.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
[[ -x ./peeka ]] || make -s peeka

printf '%-13s %-8s %-7s %10s %10s %10s %8s\n' interpreter version kind \
	"median ms" "min ms" "max ms" "syscalls"
./fixtures/pythons.sh list | while IFS=$'\t' read -r label _ kind py full; do
	dir=$(mktemp -d)
	"$py" fixtures/threads_fixture.py "$dir/truth.json" >"$dir/out" &
	pid=$!
	for _ in $(seq 100); do grep -q READY "$dir/out" && break; sleep 0.1; done
	times=()
	for _ in $(seq "$runs"); do
		t0=$(date +%s%N)
		./peeka dump --json --pid "$pid" >/dev/null
		t1=$(date +%s%N)
		times+=($(( (t1 - t0) / 1000 )))
	done
	sorted=($(printf '%s\n' "${times[@]}" | sort -n))
	med=${sorted[$(( runs / 2 ))]}
	calls=-
	if command -v strace >/dev/null; then
		calls=$(strace -f -c -e trace=process_vm_readv ./peeka dump --json \
			--pid "$pid" 2>&1 >/dev/null | awk '/process_vm_readv/{print $4}')
	fi
	printf '%-13s %-8s %-7s %10.2f %10.2f %10.2f %8s\n' "$label" "$full" \
		"$kind" "$(bc -l <<<"$med/1000")" "$(bc -l <<<"${sorted[0]}/1000")" \
		"$(bc -l <<<"${sorted[-1]}/1000")" "$calls"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
done
