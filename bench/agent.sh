#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/agent.sh: what the agent costs, per test interpreter.
#
#   bench/agent.sh [--quick] [--only X.Y[,X.Y...]]
#
# Target: bench/targets/calls.py (a tight loop calling f(a, b)).  Columns
# (medians of RUNS runs; the machine is shared and noisy):
#   method     how attach got in (pep768 / ptrace-pending-call)
#   attach     wall time of `peeka attach`, ms
#   first_obs  from the start of `attach` to the first observation of a
#              `watch` started right after it, ms
#   base       ns per call of f, no hook
#   watched    ns per call while `watch __main__.f` reports every call
#   filtered   ns per call while watched with a condition never true
#   +watched, +filtered   the overhead per call, ns
set -euo pipefail
PROG=${0##*/}
quick=0 only=
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--only) only=$2; shift ;;
	-h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "$PROG: unknown argument '$1' (try -h)" >&2; exit 2 ;;
	esac
	shift
done
cd "$(dirname "$0")/.."
make -s peeka >/dev/null
if ((quick)); then RUNS=1; else RUNS=5; fi

printf '%-14s %19s %8s %9s %7s %8s %8s %9s %9s\n' interp method attach first_obs \
	base watched filtered +watched +filtered
while read -r label minor launcher; do
	[[ -z $only || ",$only," == *",$minor,"* ]] || continue
	method=ptrace-pending-call
	[[ $minor == 3.14 ]] && method=pep768
	if ! out=$(/usr/bin/python3 bench/agent_bench.py ./peeka "$launcher" "$RUNS"); then
		printf '%-14s failed\n' "$label"
		continue
	fi
	read -r att first base watched filtered <<<"$out"
	printf '%-14s %19s %6sms %7sms %5sns %6sns %6sns %7sns %7sns\n' "$label" "$method" \
		"$att" "$first" "$base" "$watched" "$filtered" \
		"$(awk -v a="$watched" -v b="$base" 'BEGIN { printf "%.0f", a - b }')" \
		"$(awk -v a="$filtered" -v b="$base" 'BEGIN { printf "%.0f", a - b }')"
done < <(fixtures/pythons.sh list 2>/dev/null | awk '{ print $1, $2, $4 }')
