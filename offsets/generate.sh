#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# generate.sh: regenerate offsets/cpython-3.X[t].tsv and, from them,
# src/cpython_layouts/layout_3_X[t].c.
#
#   offsets/generate.sh            every table
#   offsets/generate.sh 3.12 3.14t only these
#
# For each table, offsets/probe.c is compiled against that version's
# installed headers (with internal/) and run; its output, merged with the
# hand-maintained offsets/supplement-3.X.tsv where one exists, is written
# with a comment header, then offsets/tsv2c.sh turns it into C.
#
# Header sources (see offsets/README.md):
#   3.8 ... 3.13   pyenv builds: `pyenv root`/versions/<v>/include/python3.X
#   3.14           Debian unstable libpython3.14-dev, unpacked under
#                  ${PEEKA_CACHE:-$HOME/.cache/peeka}/debian-sid/unpacked
#   3.13t, 3.14t   the 3.13 and 3.14 headers with -DPy_GIL_DISABLED=1
# Debian bookworm's /usr/include/python3.11, when present, is probed too
# and must give the same numbers as the pyenv 3.11 build; no table is
# written for it.
#
# Environment: CC (default cc), PYENV_ROOT (default `pyenv root`),
# PEEKA_CACHE, PEEKA_PYENV_VERSIONS (the pyenv versions to use, default
# "3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0").

set -eu

me=generate.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
out_c_dir=$top/src/cpython_layouts

CC=${CC:-cc}
CFLAGS_PROBE="-std=c11 -O0 -Wall -Wextra -Werror -DPy_BUILD_CORE"
PEEKA_CACHE=${PEEKA_CACHE:-$HOME/.cache/peeka}
SID_ROOT=$PEEKA_CACHE/debian-sid/unpacked
PYENV_VERSIONS=${PEEKA_PYENV_VERSIONS:-"3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0"}
ALL="3.8 3.9 3.10 3.11 3.12 3.13 3.14 3.13t 3.14t"

die() {
	echo "$me: error: $*" >&2
	exit 1
}

note() {
	echo "$me: $*" >&2
}

if [ -z "${PYENV_ROOT:-}" ]; then
	PYENV_ROOT=$(pyenv root 2>/dev/null) ||
		die "pyenv not found; set PYENV_ROOT"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/peeka-offsets.XXXXXX")
trap 'rm -rf "$work"' EXIT HUP INT TERM

# The pyenv version used for minor version $1 (e.g. 3.12 -> 3.12.1).
pyenv_version() {
	for v in $PYENV_VERSIONS; do
		case $v in
		"$1".*) echo "$v"; return 0 ;;
		esac
	done
	return 1
}

# Set inc (compiler include flags), defs, headers (a description for the
# .tsv header), tested and variant for table $1.  Python's headers are
# passed with -isystem so that their own warnings do not trip -Werror;
# probe.c itself stays warning-free.
configure_table() {
	t=$1
	minor=${t%t}
	defs=""
	variant=default
	tested=yes
	case $t in
	*t)
		defs="-DPy_GIL_DISABLED=1"
		variant=free-threaded
		tested=no
		;;
	esac
	case $minor in
	3.8|3.9|3.10|3.11|3.12|3.13)
		v=$(pyenv_version "$minor") ||
			die "no pyenv version for $minor in PEEKA_PYENV_VERSIONS"
		dir=$PYENV_ROOT/versions/$v/include/python$minor
		[ -d "$dir/internal" ] ||
			die "$dir/internal not found (pyenv install $v?)"
		inc="-isystem $dir"
		headers="pyenv $v, include/python$minor (with internal/)"
		;;
	3.14)
		dir=$SID_ROOT/usr/include/python3.14
		[ -d "$dir/internal" ] ||
			die "$dir/internal not found; unpack Debian unstable's libpython3.14-dev there (docs: cpython-internals.md 11.2)"
		inc="-isystem $dir -isystem $SID_ROOT/usr/include"
		headers="Debian unstable libpython3.14-dev, usr/include/python3.14 (with internal/)"
		;;
	*)
		die "unknown table $t (known: $ALL)"
		;;
	esac
	[ -n "$defs" ] && headers="$headers, $defs"
	return 0
}

# Compile and run the probe; raw output into $2.
run_probe() {
	name=$1
	raw=$2
	# shellcheck disable=SC2086
	$CC $CFLAGS_PROBE $defs $inc -o "$work/probe-$name" "$here/probe.c" \
		2> "$work/cc-$name.log" || {
		cat "$work/cc-$name.log" >&2
		die "probe.c does not compile for $name"
	}
	"$work/probe-$name" > "$raw" || die "probe failed for $name"
}

# The value of "# NAME<TAB>value" in probe output $2.
probe_meta() {
	awk -F '\t' -v k="# $1" '$1 == k { print $2; exit }' "$2"
}

# Merge probe output $1 with supplement $2 (may not exist) into $3 (data
# lines only); the supplement only fills "-" values.  Prints the keys it
# filled.
merge_supplement() {
	awk -F '\t' -v sup="$2" -v me="$me" -v used="$4" '
	BEGIN {
		while ((rc = (getline line < sup)) > 0) {
			if (line ~ /^#/ || line ~ /^[ \t]*$/)
				continue
			if (split(line, f, "\t") != 2 || f[2] !~ /^-?[0-9]+$/) {
				printf "%s: error: %s: bad line: %s\n", me, sup, line > "/dev/stderr"
				bad = 1
				exit 1
			}
			s[f[1]] = f[2]
		}
		close(sup)
	}
	/^#/ { next }
	{
		if ($1 in s) {
			if ($2 != "-") {
				printf "%s: error: %s: %s is %s in the headers; drop it from the supplement\n", \
				    me, sup, $1, $2 > "/dev/stderr"
				bad = 1
				exit 1
			}
			print $1 "\t" s[$1]
			printf "%s%s", (n++ ? " " : ""), $1 > used
			delete s[$1]
			next
		}
		print
	}
	END {
		if (bad)
			exit 1
		for (k in s) {
			printf "%s: error: %s: %s is not a key the probe prints\n", me, sup, k > "/dev/stderr"
			exit 1
		}
	}' "$1" > "$3"
}

generate_table() {
	t=$1
	configure_table "$t"
	raw=$work/raw-$t
	run_probe "$t" "$raw"

	source=$(probe_meta PY_VERSION "$raw")
	gil=$(probe_meta Py_GIL_DISABLED "$raw")
	case $source in
	"${t%t}".*) ;;
	*) die "$t: headers say PY_VERSION $source" ;;
	esac
	want=0
	[ "$variant" = free-threaded ] && want=1
	[ "$gil" = "$want" ] || die "$t: Py_GIL_DISABLED is $gil, expected $want"

	sup=$here/supplement-${t}.tsv
	used=$work/used-$t
	: > "$used"
	merge_supplement "$raw" "$sup" "$work/data-$t" "$used" ||
		die "$t: merging $sup failed"

	tsv=$here/cpython-$t.tsv
	{
		echo "# generated by offsets/generate.sh from offsets/probe.c; do not edit"
		echo "# source: $source"
		echo "# variant: $variant"
		echo "# tested: $tested"
		echo "# headers: $headers"
		if [ -s "$used" ]; then
			echo "# supplement: offsets/supplement-$t.tsv: $(cat "$used")"
		fi
		echo "# format: group.field<TAB>value; - = not in this version; see offsets/README.md"
		cat "$work/data-$t"
	} > "$tsv.tmp"
	mv -f "$tsv.tmp" "$tsv"

	c=$out_c_dir/layout_$(echo "$t" | tr . _).c
	sh "$here/tsv2c.sh" "$tsv" "$c" || die "tsv2c.sh failed for $tsv"
	note "$t: CPython $source ($variant) -> offsets/cpython-$t.tsv, src/cpython_layouts/${c##*/}"
}

# Debian bookworm's 3.11 headers must give exactly the pyenv 3.11 numbers.
check_debian_311() {
	dir=/usr/include/python3.11
	if [ ! -d "$dir/internal" ]; then
		note "3.11: $dir/internal not found; Debian check skipped"
		return 0
	fi
	defs=""
	inc="-isystem $dir"
	run_probe deb-3.11 "$work/raw-deb-3.11"
	grep -v '^#' "$work/raw-deb-3.11" > "$work/deb-3.11.data"
	grep -v '^#' "$work/raw-3.11" > "$work/pyenv-3.11.data"
	if ! cmp -s "$work/deb-3.11.data" "$work/pyenv-3.11.data"; then
		diff "$work/pyenv-3.11.data" "$work/deb-3.11.data" >&2 || :
		die "3.11: Debian $dir ($(probe_meta PY_VERSION "$work/raw-deb-3.11")) and pyenv differ"
	fi
	note "3.11: Debian $dir ($(probe_meta PY_VERSION "$work/raw-deb-3.11")) gives the same numbers"
}

[ $# -gt 0 ] && tables=$* || tables=$ALL

# Check every requested table's headers before writing anything.
for t in $tables; do
	configure_table "$t"
done

for t in $tables; do
	generate_table "$t"
	if [ "$t" = 3.11 ]; then
		check_debian_311
	fi
done
