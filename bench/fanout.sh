#!/bin/sh
# Fan-out benchmark: a foreach of FANOUT_ITEMS `true` items against the same
# number of plain `true` steps, at -j FANOUT_JOBS, FANOUT_ROUNDS rounds
# interleaved.  Prints the median wall time, time per step and peak RSS of
# each, and their ratio; writes bench/out/fanout.md.  Run from the
# repository root (make bench does).  See bench/README.md.
#
# Environment: FANOUT_ITEMS (100000), FANOUT_ROUNDS (3), FANOUT_JOBS (2),
# BIN (build/bin).
set -eu

ITEMS=${FANOUT_ITEMS:-100000}
ROUNDS=${FANOUT_ROUNDS:-3}
JOBS=${FANOUT_JOBS:-2}
OUT=bench/out

die() { echo "fanout.sh: $*" >&2; exit 1; }

for v in "$ITEMS" "$ROUNDS" "$JOBS"; do
	case $v in '' | *[!0-9]*) die "not a number: $v" ;; esac
done
if [ "$ITEMS" -lt 1 ] || [ "$ROUNDS" -lt 1 ] || [ "$JOBS" -lt 1 ]; then
	die "every knob must be at least 1"
fi
[ -x "${BIN:-build/bin}/dag-run" ] || make -s all || die "cannot build dag-run"
BIN=$(cd "${BIN:-build/bin}" && pwd)
[ -x /usr/bin/time ] || sh tests/deps.sh time || die "no /usr/bin/time"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dagkit-fanout.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"

awk -v n="$ITEMS" 'BEGIN {
	printf "{\"name\": \"plain\", \"steps\": ["
	for (i = 0; i < n; i++)
		printf "%s{\"id\": \"s%d\", \"run\": \"true\"}", i ? "," : "", i
	print "]}"
}' >"$tmp/plain.json"
printf '{"name": "fanout", "steps": [{"id": "s", "foreach": "[range(%d)]", "run": "true"}]}\n' \
    "$ITEMS" >"$tmp/fanout.json"

# run KIND: one timed run, "seconds kilobytes" appended to $tmp/KIND.
run() {
	rm -rf "$tmp/runs"
	/usr/bin/time -f '%e %M' -o "$tmp/t" "$BIN/dag-run" -q -j "$JOBS" \
	    --runs "$tmp/runs" "$tmp/$1.json" || die "$1: dag-run failed"
	n=$(jq '[.steps[] | select(.status == "succeeded")] | length' \
	    "$tmp/runs/latest/run.json")
	[ "$n" -ge "$ITEMS" ] || die "$1: $n steps succeeded, not $ITEMS"
	cat "$tmp/t" >>"$tmp/$1"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$tmp/plain"
: >"$tmp/fanout"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	echo "round $((r + 1))/$ROUNDS: $ITEMS plain steps, then a foreach of $ITEMS ..." >&2
	run plain
	run fanout
	r=$((r + 1))
done
tp=$(cut -d' ' -f1 "$tmp/plain" | median)
tf=$(cut -d' ' -f1 "$tmp/fanout" | median)
mp=$(cut -d' ' -f2 "$tmp/plain" | median)
mf=$(cut -d' ' -f2 "$tmp/fanout" | median)
{
	echo "## fan-out: $ITEMS true steps at -j$JOBS, median of $ROUNDS (interleaved)"
	echo
	echo "| shape | wall | per step | peak RSS |"
	echo "|---|---:|---:|---:|"
	awk -v t="$tp" -v n="$ITEMS" -v m="$mp" 'BEGIN { printf "| %d plain steps | %.2f s | %.1f us | %.1f MB |\n", n, t, t * 1e6 / n, m / 1024 }'
	awk -v t="$tf" -v n="$ITEMS" -v m="$mf" 'BEGIN { printf "| a foreach of %d items | %.2f s | %.1f us | %.1f MB |\n", n, t, t * 1e6 / n, m / 1024 }'
	echo
	awk -v a="$tf" -v b="$tp" 'BEGIN { printf "foreach / plain: %.3f (goal: within 10%%, 0.90-1.10)\n", a / b }'
} | tee "$OUT/fanout.md"
