#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cost and overhead of `peeka record`, per test interpreter (fixtures/pythons.sh):
#
#   1. per-sample cost at Python stack depths 10, 50 and 200 (one busy thread,
#      1000 Hz): median over runs of the mean that `peeka -v` reports;
#   2. the rate peeka sustains on one busy thread (depth 50): achieved/nominal
#      at 1 kHz and 10 kHz, and the highest rate of a ladder with no deadline
#      skipped;
#   3. peeka's own CPU use (user+sys / wall, % of one core) at 1000 Hz on one
#      busy thread at depth 50, and at 100 and 1000 Hz on an 8-thread target;
#   4. the slowdown of a fixed CPU-bound job run under `peeka record -- ...`
#      at 100 and 1000 Hz (median of the job's self-timed wall time, runs
#      interleaved with plain runs);
#   5. peeka's peak RSS during the 1000 Hz run of 3.
#
# When py-spy or austin is on PATH, it is run on the workloads of 3, 4 and 5
# at 1000 Hz (py-spy with --nonblocking, like peeka) and ratios are printed.
#
# The machine is small and shared: every number is a median or a single
# observation on a noisy box, to compare runs by eye, never to assert on.
# Targets: bench/targets/{deep,threads8,fixed_work}.py.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly PROG=bench/record.sh

usage() {
	cat <<EOF
usage: $PROG [--quick] [--only LABEL]
       $PROG -h | --help

Measures peeka record's per-sample cost, sustainable rate, CPU use, target
slowdown and peak RSS on every test interpreter of fixtures/pythons.sh and
prints a table (progress goes to stderr).

  --quick        short runs (1 run per point, 1 s recordings, 3 shorter
                 fixed-work runs): all interpreters in about 2-3 minutes;
                 the full run takes about 12-15 minutes
  --only LABEL   only the interpreter with this label (first column of
                 'fixtures/pythons.sh list', e.g. 3.12-pyenv)
  -h, --help     show this help and exit

Numbers come from a shared 2-core machine: read medians, compare by eye.
EOF
}

quick=0
only=
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--only)
		(($# >= 2)) || { echo "$PROG: --only needs a LABEL" >&2; exit 2; }
		only=$2
		shift
		;;
	--only=*) only=${1#--only=} ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$PROG: unknown argument '$1' (try -h)" >&2; exit 2 ;;
	esac
	shift
done

# ---- settings ---------------------------------------------------------------
readonly DEPTHS=(10 50 200)
readonly LADDER=(1000 2000 5000 10000)
readonly LADDER_EXTRA=(20000 50000) # tried only while the previous rung was clean
if ((quick)); then
	COST_RUNS=1 COST_DUR=1
	LADDER_TRIES=1 LADDER_DUR=1
	CPU_DUR=1
	SLOW_RUNS=3 SLOW_SCALE=0.25
else
	COST_RUNS=3 COST_DUR=2
	LADDER_TRIES=2 LADDER_DUR=2
	CPU_DUR=3
	SLOW_RUNS=5 SLOW_SCALE=1.0
fi
readonly TARGET_TIMEOUT=300 # seconds; the targets end themselves (SIGALRM)

# ---- tools ------------------------------------------------------------------
if ! make -s peeka >/dev/null; then
	echo "$PROG: 'make peeka' failed; benchmarking the existing ./peeka" >&2
fi
[[ -x ./peeka ]] || { echo "$PROG: no ./peeka to benchmark" >&2; exit 1; }
HELPER_PY=
for c in /usr/bin/python3 python3; do
	if command -v "$c" >/dev/null 2>&1; then HELPER_PY=$(command -v "$c"); break; fi
done
[[ -n $HELPER_PY ]] || { echo "$PROG: needs python3 to measure rusage" >&2; exit 1; }

# rusage OUT CMD... (bench/lib.sh)
. bench/lib.sh

OTHERS=()
for t in py-spy austin; do
	command -v "$t" >/dev/null 2>&1 && OTHERS+=("$t")
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/peeka-bench.XXXXXX")
TPID= # the running target, if any (only one at a time)
cleanup() {
	[[ -z $TPID ]] || kill "$TPID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Run a private copy, so a rebuild of ./peeka during the run cannot mix binaries.
PEEKA=$WORK/peeka
cp ./peeka "$PEEKA"
FLOOR_BIN=$WORK/clock_floor
if ! cc -O2 -o "$FLOOR_BIN" bench/clock_floor.c 2>"$WORK/cc.err"; then
	echo "$PROG: cannot build bench/clock_floor.c: $(head -n 1 "$WORK/cc.err")" >&2
	FLOOR_BIN=
fi

note() { printf 'bench: %s\n' "$*" >&2; }
ANOMALIES=()
anomaly() { ANOMALIES+=("$label: $*"); }

# median VALUES...: the median of the numeric values (NA ones ignored).
# fmt PRINTF_FORMAT VALUE: format a number, or print NA.
fmt() {
	# shellcheck disable=SC2059
	if [[ $2 == NA ]]; then printf '%s' NA; else LC_ALL=C printf "$1" "$2"; fi
}
calc() { LC_ALL=C awk "BEGIN { v = $1; printf \"%.6g\", v }"; }
maxof() { printf '%s\n' "$@" | grep -Ev '^(NA|)$' | sort -g | tail -n 1; }

# ---- targets ----------------------------------------------------------------
# start_target SCRIPT ARGS...: start $py on a bench target, wait for READY.
start_target() {
	local out=$WORK/target.out i
	"$py" "$@" >"$out" 2>&1 &
	TPID=$!
	for ((i = 0; i < 600; i++)); do
		grep -q READY "$out" 2>/dev/null && return 0
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.05
	done
	anomaly "target '$*' did not print READY: $(tail -n 2 "$out" | tr '\n' ' ')"
	stop_target
	return 1
}
stop_target() {
	[[ -n $TPID ]] || return 0
	kill "$TPID" 2>/dev/null || true
	wait "$TPID" 2>/dev/null || true
	TPID=
}

# ---- one peeka run ----------------------------------------------------------
# parse_peeka ERRFILE WHAT: set S_SAMPLES S_HZ S_ERRORS S_ERRPCT S_SKIPPED
# S_MEAN S_WORST from peeka's stderr (NA when absent) and note anomalies.
parse_peeka() {
	local line
	S_SAMPLES=NA S_HZ=NA S_ERRORS=NA S_ERRPCT=NA S_SKIPPED=NA S_MEAN=NA S_WORST=NA
	line=$(grep -E '^peeka: [0-9]+ samples in ' "$1" | tail -n 1 || true)
	if [[ $line =~ ^peeka:\ ([0-9]+)\ samples\ in\ ([0-9.]+)\ s\ \(([0-9.]+)\ Hz\),\ ([0-9]+)\ errors\ \(([0-9.]+)%\),\ ([0-9]+)\ deadlines\ skipped ]]; then
		S_SAMPLES=${BASH_REMATCH[1]} S_HZ=${BASH_REMATCH[3]}
		S_ERRORS=${BASH_REMATCH[4]} S_ERRPCT=${BASH_REMATCH[5]}
		S_SKIPPED=${BASH_REMATCH[6]}
	else
		anomaly "$2: no summary line; stderr ends: $(tail -n 2 "$1" | tr '\n' ' ')"
		return 0
	fi
	line=$(grep -E 'sample cost: mean' "$1" | tail -n 1 || true)
	if [[ $line =~ mean\ ([0-9.]+)\ us,\ worst\ ([0-9.]+)\ us ]]; then
		S_MEAN=${BASH_REMATCH[1]} S_WORST=${BASH_REMATCH[2]}
	fi
	ERRPCTS+=("$S_ERRPCT")
	if [[ $S_ERRORS != 0 ]]; then
		anomaly "$2: $S_ERRORS errors ($S_ERRPCT%) of $S_SAMPLES samples"
	fi
}

# peeka_pid TAG PID RATE DURATION: record PID; parse_peeka's variables plus
# R_WALL R_CPU (user+sys s) R_RSS (KiB).
peeka_pid() {
	local tag=$1 pid=$2 rate=$3 dur=$4 rc=0 u s
	rusage "$WORK/ru" "$PEEKA" -v record --pid "$pid" --rate "$rate" \
		--duration "$dur" -o "$WORK/out.txt" >/dev/null 2>"$WORK/err" || rc=$?
	((rc == 0)) || anomaly "$tag: peeka exited with status $rc"
	parse_peeka "$WORK/err" "$tag"
	read -r R_WALL u s R_RSS <"$WORK/ru"
	R_CPU=$(calc "$u + $s")
}

# other_pid TOOL PID SECONDS: the same 1 kHz recording with py-spy or austin.
other_pid() {
	local rc=0 u s
	case $1 in
	py-spy)
		rusage "$WORK/ru" py-spy record --pid "$2" --rate 1000 --duration "$3" \
			--nonblocking --format raw -o "$WORK/other.txt" >/dev/null 2>&1 || rc=$?
		;;
	austin)
		rusage "$WORK/ru" austin -i 1ms -x "$3" -p "$2" -o "$WORK/other.txt" \
			>/dev/null 2>&1 || rc=$?
		;;
	esac
	((rc == 0)) || anomaly "$1 --pid: exited with status $rc"
	read -r R_WALL u s R_RSS <"$WORK/ru"
	R_CPU=$(calc "$u + $s")
}

# fixed_work MODE: one run of fixed_work.py; MODE is plain, a peeka rate, or
# a tool name (1 kHz). Sets FW to the job's own elapsed seconds (or NA).
fixed_work() {
	local mode=$1 rc=0 job=(bench/targets/fixed_work.py "$SLOW_SCALE")
	case $mode in
	plain) "$py" "${job[@]}" >"$WORK/fw.out" 2>"$WORK/fw.err" || rc=$? ;;
	py-spy)
		py-spy record --rate 1000 --nonblocking --format raw -o "$WORK/other.txt" \
			-- "$py" "${job[@]}" >"$WORK/fw.out" 2>"$WORK/fw.err" || rc=$?
		;;
	austin)
		austin -i 1ms -o "$WORK/other.txt" "$py" "${job[@]}" \
			>"$WORK/fw.out" 2>"$WORK/fw.err" || rc=$?
		;;
	*)
		"$PEEKA" -v record --rate "$mode" -o "$WORK/fw.txt" -- "$py" "${job[@]}" \
			>"$WORK/fw.out" 2>"$WORK/fw.err" || rc=$?
		parse_peeka "$WORK/fw.err" "fixed_work at $mode Hz"
		;;
	esac
	((rc == 0)) || anomaly "fixed_work ($mode): exit status $rc"
	FW=$(awk '$1 == "elapsed" { print $2; found = 1 } END { if (!found) print "NA" }' "$WORK/fw.out")
}

# slow MODE: % slowdown of fixed_work's median under MODE vs $base (plain).
slow() {
	local med
	# shellcheck disable=SC2086
	med=$(median ${fw[$1]})
	if [[ $med == NA || $base == NA ]]; then echo NA; else calc "100 * ($med / $base - 1)"; fi
}
# minus A B: A - B, or NA.
minus() {
	if [[ $1 == NA || ${2:-NA} == NA ]]; then echo NA; else calc "$1 - $2"; fi
}
# ratio A B: A / B, or NA.
ratio() {
	if [[ $1 == NA || ${2:-NA} == NA ]] || [[ $(calc "$2 == 0") == 1 ]]; then
		echo NA
	else
		calc "$1 / $2"
	fi
}

# ---- header -----------------------------------------------------------------
mapfile -t PYTHONS < <(fixtures/pythons.sh list)
if [[ -n $only ]]; then
	mapfile -t PYTHONS < <(printf '%s\n' "${PYTHONS[@]}" | awk -F '\t' -v l="$only" '$1 == l')
	if ((${#PYTHONS[@]} == 0)); then
		echo "$PROG: no interpreter labelled '$only'; labels:" >&2
		fixtures/pythons.sh list | cut -f1 | sed 's/^/  /' >&2
		exit 2
	fi
fi

cpu_model=$(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "peeka record benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), mode: $( ((quick)) && echo quick || echo full))"
echo "binary: $("$PEEKA" --version 2>&1 | head -n 1), tree $(git describe --always --dirty 2>/dev/null || echo unknown), sha256 $(sha256sum "$PEEKA" | cut -c1-12)"
echo "machine: nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min), $(uname -sr)${cpu_model:+, $cpu_model}"
echo "settings: cost ${COST_RUNS}x${COST_DUR}s per depth; ladder ${LADDER[*]} Hz, ${LADDER_DUR}s, best of $LADDER_TRIES; CPU ${CPU_DUR}s; fixed work ${SLOW_RUNS} runs each, scale $SLOW_SCALE"
cat <<'EOF'
legend:
  cost@D      per-sample cost in us at Python stack depth D (1 busy thread, 1000 Hz):
              median over runs of the mean reported by `peeka -v`
  ach1k/10k   achieved/nominal sampling rate in % at 1 and 10 kHz (depth 50, 1 busy thread)
  max0skip    highest ladder rate (Hz) with no deadline skipped (best of the tries);
              "<1000" when every rung skipped some. On a shared box a few skips per run
              come from preemption: see the skip counts in the details
  cpu1t       peeka's CPU (user+sys)/wall in % of one core at 1000 Hz on one busy thread at
              depth 50 (median of the cost runs; includes start-up, about 4 ms)
  net1t       cpu1t minus the clock floor above: the sampling's own share
  cpu100/1k   peeka's CPU (user+sys)/wall in % of one core at 100 / 1000 Hz (8-thread target)
  slow100/1k  slowdown of fixed_work.py under `peeka record --` at 100 / 1000 Hz, in %:
              median of its self-timed wall time vs median of plain runs (noise: a few %)
  rssMB       peeka's peak RSS (ru_maxrss, as /usr/bin/time -f %M) at 1000 Hz, 8-thread target
  err%        highest errors % (torn stacks, failed reads) over all peeka runs
EOF
echo
if ((${#OTHERS[@]})); then
	echo "other profilers on PATH: ${OTHERS[*]} (1 kHz comparison below the main table)"
else
	echo "py-spy and austin are not installed (not on PATH): no comparison"
fi
echo

# The cost of 1000 wake-ups a second alone (bench/clock_floor.c), measured
# like peeka's CPU: what no sampler can go below on this machine.
floor1k=NA
if [[ -n $FLOOR_BIN ]]; then
	note "clock floor at 1000 Hz"
	fl=()
	for ((i = 1; i <= COST_RUNS; i++)); do
		rusage "$WORK/ru" "$FLOOR_BIN" 1000 "$COST_DUR" || continue
		read -r w u s _ <"$WORK/ru"
		fl+=("$(calc "100 * ($u + $s) / $w")")
	done
	((${#fl[@]})) && floor1k=$(median "${fl[@]}")
fi
echo "clock floor: a loop that only sleeps to absolute deadlines at 1000 Hz uses $(fmt %.1f "$floor1k")% of a core here"
echo "(rusage, as peeka's CPU below); net1t = cpu1t minus this floor"
echo

HDR_FMT='%-12s %-7s %7s %7s %8s %6s %7s %8s %6s %6s %6s %6s %7s %7s %6s %5s\n'
# shellcheck disable=SC2059
printf "$HDR_FMT" interpreter version cost@10 cost@50 cost@200 ach1k% ach10k% \
	max0skip cpu1t net1t cpu100 cpu1k slow100 slow1k rssMB err%
DETAILS=()
COMPARE=()

# ---- per interpreter ------------------------------------------------------
for entry in "${PYTHONS[@]}"; do
	IFS=$'\t' read -r label _ _ py full <<<"$entry"
	ERRPCTS=()
	declare -A cost=() worst=()
	ladder_txt='' t8_100=NA t8_1k=NA cpu1t=NA
	unset o_cpu_py_spy o_rss_py_spy o_cpu_austin o_rss_austin

	# 1 and 2: one busy thread at depths 10, 50, 200; the ladder at 50.
	for d in "${DEPTHS[@]}"; do
		note "$label: cost at depth $d"
		cost[$d]=NA worst[$d]=NA
		start_target bench/targets/deep.py "$d" "$TARGET_TIMEOUT" || continue
		means=() worsts=() cpus=()
		for ((i = 1; i <= COST_RUNS; i++)); do
			peeka_pid "cost depth $d run $i" "$TPID" 1000 "$COST_DUR"
			means+=("$S_MEAN") worsts+=("$S_WORST")
			cpus+=("$(calc "100 * $R_CPU / $R_WALL")")
		done
		((d == 50)) && cpu1t=$(median "${cpus[@]}")
		cost[$d]=$(median "${means[@]}")
		worst[$d]=$(maxof "${worsts[@]}")
		if ((d == 50)); then
			note "$label: rate ladder at depth 50"
			ach1k=NA ach10k=NA max0=NA
			rates=("${LADDER[@]}")
			extra=("${LADDER_EXTRA[@]}")
			for ((k = 0; k < ${#rates[@]}; k++)); do
				rate=${rates[k]} best_skip=NA best_ach=NA tries=
				for ((i = 1; i <= LADDER_TRIES; i++)); do
					peeka_pid "ladder $rate Hz try $i" "$TPID" "$rate" "$LADDER_DUR"
					[[ $S_SKIPPED == NA ]] && continue
					ach=$(calc "100 * $S_HZ / $rate")
					tries+=${tries:+,}$S_SKIPPED
					if [[ $best_skip == NA ]] || ((S_SKIPPED < best_skip)); then
						best_skip=$S_SKIPPED best_ach=$ach
					fi
				done
				ladder_txt+=" $((rate / 1000))k:${tries:-NA}"
				((rate == 1000)) && ach1k=$best_ach
				((rate == 10000)) && ach10k=$best_ach
				if [[ $best_skip == 0 ]]; then
					max0=$rate
				fi
				# past the fixed ladder, climb only while clean
				if ((k == ${#rates[@]} - 1)) && [[ $best_skip == 0 ]] && ((${#extra[@]})); then
					rates+=("${extra[0]}")
					extra=("${extra[@]:1}")
				fi
			done
			[[ $max0 == NA ]] && max0="<1000"
		fi
		stop_target
	done

	# 3 and 5: the 8-thread target at 100 and 1000 Hz.
	note "$label: CPU and RSS on threads8"
	cpu100=NA cpu1k=NA rss=NA
	if start_target bench/targets/threads8.py "$TARGET_TIMEOUT"; then
		peeka_pid "threads8 100 Hz" "$TPID" 100 "$CPU_DUR"
		cpu100=$(calc "100 * $R_CPU / $R_WALL")
		t8_100="${S_SKIPPED}skip,$(fmt %.0f "$S_MEAN")us"
		peeka_pid "threads8 1000 Hz" "$TPID" 1000 "$CPU_DUR"
		cpu1k=$(calc "100 * $R_CPU / $R_WALL")
		rss=$(calc "$R_RSS / 1024")
		t8_1k="${S_SKIPPED}skip,$(fmt %.0f "$S_MEAN")us"
		for t in "${OTHERS[@]}"; do
			note "$label: $t on threads8"
			other_pid "$t" "$TPID" "$CPU_DUR"
			declare "o_cpu_${t//-/_}=$(calc "100 * $R_CPU / $R_WALL")"
			declare "o_rss_${t//-/_}=$(calc "$R_RSS / 1024")"
		done
		stop_target
	fi

	# 4: the fixed job, plain and under peeka, interleaved.
	note "$label: fixed work, $SLOW_RUNS rounds"
	modes=(plain 100 1000 "${OTHERS[@]}")
	declare -A fw=()
	for m in "${modes[@]}"; do fw[$m]=; done
	for ((i = 1; i <= SLOW_RUNS; i++)); do
		# rotate the order so drift in the machine's load hits all modes alike
		for ((j = 0; j < ${#modes[@]}; j++)); do
			m=${modes[(i + j) % ${#modes[@]}]}
			fixed_work "$m"
			fw[$m]+=" $FW"
		done
	done
	# shellcheck disable=SC2086
	base=$(median ${fw[plain]})
	slow100=$(slow 100)
	slow1k=$(slow 1000)
	errmax=$(maxof "${ERRPCTS[@]}")

	# shellcheck disable=SC2059
	printf "$HDR_FMT" "$label" "$full" "$(fmt %.1f "${cost[10]}")" \
		"$(fmt %.1f "${cost[50]}")" "$(fmt %.1f "${cost[200]}")" \
		"$(fmt %.1f "$ach1k")" "$(fmt %.1f "$ach10k")" "$max0" \
		"$(fmt %.1f "$cpu1t")" "$(fmt %.1f "$(minus "$cpu1t" "$floor1k")")" \
		"$(fmt %.1f "$cpu100")" "$(fmt %.1f "$cpu1k")" \
		"$(fmt %+.1f "$slow100")" "$(fmt %+.1f "$slow1k")" \
		"$(fmt %.1f "$rss")" "$(fmt %.1f "${errmax:-NA}")"

	# shellcheck disable=SC2086
	DETAILS+=("$(printf '%-12s %6s %6s %6s  %5s/%5s/%5s  %-15s %-15s %s' "$label" \
		"$(fmt %.2f "$base")" "$(fmt %.2f "$(median ${fw[100]})")" \
		"$(fmt %.2f "$(median ${fw[1000]})")" \
		"$(fmt %.0f "${worst[10]}")" "$(fmt %.0f "${worst[50]}")" \
		"$(fmt %.0f "${worst[200]}")" "${t8_100:-NA}" "${t8_1k:-NA}" "${ladder_txt# }")")

	for t in "${OTHERS[@]}"; do
		v=${t//-/_}
		ocpu=o_cpu_$v orss=o_rss_$v
		oslow=$(slow "$t")
		# shellcheck disable=SC2086
		COMPARE+=("$(printf '%-12s %-7s %8s %8s %9s %8s %8s %9s %8s %8s %9s' "$label" "$t" \
			"$(fmt %.1f "$cpu1k")" "$(fmt %.1f "${!ocpu:-NA}")" "$(fmt %.2f "$(ratio "$cpu1k" "${!ocpu:-NA}")")" \
			"$(fmt %.1f "$rss")" "$(fmt %.1f "${!orss:-NA}")" "$(fmt %.2f "$(ratio "$rss" "${!orss:-NA}")")" \
			"$(fmt %+.1f "$slow1k")" "$(fmt %+.1f "$oslow")" \
			"$(fmt %.3f "$(ratio "$(median ${fw[1000]})" "$(median ${fw[$t]})")")")")
	done
	unset cost worst fw
done

# ---- details ----------------------------------------------------------------
echo
echo "details: fixed_work median seconds (plain / under peeka at 100 Hz / 1000 Hz); worst single"
echo "sample in us at depth 10/50/200 (max over cost runs); threads8 runs (deadlines skipped, mean"
echo "sample cost); ladder: deadlines skipped per try at each rate (depth 50, ${LADDER_DUR}s per try)"
printf '%-12s %6s %6s %6s  %17s  %-15s %-15s %s\n' interpreter plain @100 @1k \
	"worst d10/50/200" "threads8@100" "threads8@1k" "ladder skips"
printf '%s\n' "${DETAILS[@]}"

if ((${#OTHERS[@]})); then
	echo
	echo "comparison at 1000 Hz: CPU % of a core and peak RSS on threads8, slowdown % of fixed_work;"
	echo "ratios are peeka / other (below 1: peeka uses less); 'time ratio' divides the median"
	echo "fixed_work times under each profiler"
	printf '%-12s %-7s %8s %8s %9s %8s %8s %9s %8s %8s %9s\n' interpreter tool \
		"peekaCPU" "othCPU%" "CPU ratio" "peekaMB" "othMB" "RSS ratio" \
		"peekaSl%" "othSl%" "time rat."
	printf '%s\n' "${COMPARE[@]}"
fi

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((${#ANOMALIES[@]})); then
	echo "anomalies (${#ANOMALIES[@]}):"
	printf '  %s\n' "${ANOMALIES[@]}"
else
	echo "anomalies: none (no errors, no failed runs)"
fi
