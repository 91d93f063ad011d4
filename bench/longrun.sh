#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A long recording to a .peeka file: does peeka's memory stay flat, and how
# big does the file get?  Records bench/targets/threads8.py (8 threads, half
# busy) at RATE Hz for SECONDS (default 100 Hz, one hour), samples peeka's
# RSS (VmRSS) and the file's size every INTERVAL seconds, then renders the
# recording with `peeka report` and prints a table and a summary: RSS after
# the first minute and at the end, the growth between them, bytes per hour.
#
# Usage: bench/longrun.sh [--seconds N] [--rate HZ] [--interval S] [--python PY]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=3600 rate=100 interval=60 py=
while (($#)); do
	case $1 in
	--seconds) seconds=$2; shift ;;
	--rate) rate=$2; shift ;;
	--interval) interval=$2; shift ;;
	--python) py=$2; shift ;;
	-h | --help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "longrun.sh: unknown argument '$1' (try -h)" >&2; exit 2 ;;
	esac
	shift
done
[[ -n $py ]] || py=$(fixtures/pythons.sh list | awk -F '\t' '$2 == "3.12" { print $4; exit }')
[[ -n $py ]] || py=$(fixtures/pythons.sh list | awk -F '\t' 'NR == 1 { print $4 }')
make -s peeka >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/peeka-longrun.XXXXXX")
tpid= ppid=
cleanup() {
	[[ -z $ppid ]] || kill "$ppid" 2>/dev/null || true
	[[ -z $tpid ]] || kill "$tpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

"$py" bench/targets/threads8.py $((seconds + 120)) >"$work/target.out" &
tpid=$!
for _ in $(seq 100); do grep -q READY "$work/target.out" 2>/dev/null && break; sleep 0.1; done
./peeka record --pid "$tpid" --rate "$rate" --duration "$seconds" -o "$work/run.peeka" 2>"$work/record.err" &
ppid=$!
echo "peeka long run: $("$py" -V 2>&1), threads8, $rate Hz, $seconds s, $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '%8s %10s %12s\n' seconds rssKiB fileKiB
t0=$(date +%s) rss_1min= rss=0
while kill -0 "$ppid" 2>/dev/null; do
	sleep "$interval"
	now=$(( $(date +%s) - t0 ))
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$ppid/status" 2>/dev/null || echo "$rss")
	size=$(( $(stat -c %s "$work/run.peeka" 2>/dev/null || echo 0) / 1024 ))
	[[ -z $rss_1min && $now -ge 60 ]] && rss_1min=$rss
	printf '%8d %10s %12s\n' "$now" "$rss" "$size"
done
wait "$ppid" || true
ppid=
tail -n 1 "$work/record.err"
bytes=$(stat -c %s "$work/run.peeka")
./peeka report "$work/run.peeka" --idle -o "$work/run.txt" 2>"$work/report.err" || true
tail -n 1 "$work/report.err"
echo "summary: RSS ${rss_1min:-?} KiB after the first minute, $rss KiB at the end" \
	"(growth $(( rss - ${rss_1min:-$rss} )) KiB); file $((bytes / 1024)) KiB," \
	"$(( bytes * 3600 / seconds / 1024 )) KiB per hour"
