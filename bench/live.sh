#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/live.sh: what the live views cost, per test interpreter.
#
#   bench/live.sh [--quick] [--only X.Y[,X.Y...]]
#
# Targets: bench/targets/threads8.py (4 busy and 4 sleepy threads at depths
# 12-40).  Columns (medians of RUNS runs; CPU is rusage user+sys over wall,
# in % of one core):
#   top100    peeka top at its default 100 Hz, 1 s refresh, plain output
#             (the full-screen view samples and refreshes the same way)
#   top1k     the same at --rate 1000
#   gil1k     peeka gil at its default 1000 Hz (per-thread syscall reads)
#   ach_gil   gil's achieved sample rate in % of 1000 Hz
#   threads   wall time of one `peeka threads` (0.25 s CPU window included)
set -euo pipefail
PROG=${0##*/}
quick=0 only=
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--only) only=$2; shift ;;
	-h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "$PROG: unknown argument '$1' (try -h)" >&2; exit 2 ;;
	esac
	shift
done
cd "$(dirname "$0")/.."
make -s peeka >/dev/null
if ((quick)); then RUNS=1 DUR=3; else RUNS=3 DUR=6; fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; kill $(jobs -p) 2>/dev/null || true' EXIT

HELPER_PY=/usr/bin/python3
. bench/lib.sh
cpu_pct() { awk '{ printf "%.2f", 100 * ($2 + $3) / $1 }' "$1"; }

printf '%-14s %8s %8s %8s %8s %9s\n' interp top100 top1k gil1k ach_gil threads
while read -r label launcher; do
	minor=${label%%-*}
	[[ -z $only || ",$only," == *",$minor,"* ]] || continue
	"$launcher" bench/targets/threads8.py 300 >"$WORK/ready" 2>/dev/null &
	tpid=$!
	for _ in $(seq 100); do grep -q READY "$WORK/ready" 2>/dev/null && break; sleep 0.1; done
	t100=() t1k=() g1k=() ach=() thr=()
	for _ in $(seq "$RUNS"); do
		rusage "$WORK/ru" timeout -s TERM "$DUR" ./peeka top --pid "$tpid" >"$WORK/top.txt" || true
		t100+=("$(cpu_pct "$WORK/ru")")
		rusage "$WORK/ru" timeout -s TERM "$DUR" ./peeka top --pid "$tpid" --rate 1000 >"$WORK/top.txt" || true
		t1k+=("$(cpu_pct "$WORK/ru")")
		rusage "$WORK/ru" ./peeka gil --pid "$tpid" --duration "$DUR" --json >"$WORK/gil.json"
		g1k+=("$(cpu_pct "$WORK/ru")")
		ach+=("$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.1f" % (100 * d["samples"] / d["duration"] / d["rate"]))' "$WORK/gil.json")")
		rusage "$WORK/ru" ./peeka threads --pid "$tpid" >/dev/null
		thr+=("$(awk '{ printf "%.3f", $1 }' "$WORK/ru")")
	done
	kill "$tpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	printf '%-14s %7s%% %7s%% %7s%% %7s%% %8ss\n' "$label" "$(median "${t100[@]}")" \
		"$(median "${t1k[@]}")" "$(median "${g1k[@]}")" "$(median "${ach[@]}")" "$(median "${thr[@]}")"
done < <(fixtures/pythons.sh list 2>/dev/null | awk '{ print $1, $4 }')
