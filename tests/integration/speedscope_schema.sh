#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Print the path of speedscope's published file-format JSON schema, fetching
# the speedscope package from the npm registry once (npm pack) and keeping
# its built web app (dist/release: index.html, the schema) in
# ~/.cache/peeka/speedscope-VERSION/.  The tests validate peeka's speedscope
# output against the schema and load outputs into the app
# (speedscope_load.py).  Exit 1 with a message when it cannot be had.
set -eu
VERSION=1.25.0
DIR=${XDG_CACHE_HOME:-$HOME/.cache}/peeka/speedscope-$VERSION
SCHEMA=$DIR/file-format-schema.json
if [ ! -s "$SCHEMA" ] || [ ! -s "$DIR/index.html" ]; then
	command -v npm >/dev/null 2>&1 || { echo "speedscope_schema.sh: npm is needed" >&2; exit 1; }
	mkdir -p "$DIR"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "speedscope@$VERSION" >/dev/null 2>"$tmp/npm.err") || {
		echo "speedscope_schema.sh: npm pack speedscope@$VERSION failed: $(head -n 3 "$tmp/npm.err")" >&2
		exit 1
	}
	tar -xzf "$tmp/speedscope-$VERSION.tgz" -C "$tmp" package/dist/release
	cp -R "$tmp/package/dist/release/." "$DIR/"
fi
echo "$SCHEMA"
