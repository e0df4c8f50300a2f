#!/bin/sh
# make demo: validate, plan and run the example ETL pipeline.
set -eu
bin=$(cd "${1:-build/bin}" && pwd)
PATH="$bin:$PATH"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dagkit-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "== dag-validate $here/etl.json | dag-plan --format text"
dag-validate "$here/etl.json" | dag-plan --format text
if command -v dag-run >/dev/null 2>&1; then
	echo "== dag-run (runs in $work/runs)"
	cd "$work"
	dag-run --runs "$work/runs" "$here/etl.json"
	dag-status --runs "$work/runs"
fi
