#!/bin/sh
# dag-step at scale: the cost of one dag-step of a `true` step in prepared
# runs of 100, 10,000 and 100,000 steps, with the run's step index (how
# dag-run --prepare leaves it) and without (the whole DAG and journal read,
# as before the index), against a floor: the same shell loop running
# /bin/true and appending one journal line.  Then the make export of a
# 10,000-step wide DAG against dag-run on the same DAG, both at -j2.
# Prints Markdown tables and writes bench/out/step.md.  Run from the
# repository root (make bench does).  See bench/README.md.
#
# Environment: STEP_CALLS (200 dag-steps per measure), STEP_ROUNDS (5),
# STEP_SIZES ("100 10000 100000"), STEP_WIDE (10000), BIN (build/bin).
set -eu

CALLS=${STEP_CALLS:-200}
ROUNDS=${STEP_ROUNDS:-5}
SIZES=${STEP_SIZES:-100 10000 100000}
WIDE=${STEP_WIDE:-10000}
OUT=bench/out

die() { echo "step.sh: $*" >&2; exit 1; }

for v in "$CALLS" "$ROUNDS" "$WIDE" $SIZES; do
	case $v in '' | *[!0-9]*) die "not a number: $v" ;; esac
	[ "$v" -ge 1 ] || die "every knob must be at least 1"
done
[ -x "${BIN:-build/bin}/dag-step" ] || make -s all || die "cannot build"
BIN=$(cd "${BIN:-build/bin}" && pwd)
command -v make >/dev/null || die "no make"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dagkit-step.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"

# wide N: N independent steps running true.
wide() {
	awk -v n="$1" 'BEGIN {
		printf "{\"name\": \"wide\", \"steps\": ["
		for (i = 0; i < n; i++)
			printf "%s{\"id\": \"s%d\", \"run\": \"true\"}", i ? "," : "", i
		print "]}"
	}'
}

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# A prepared run per size, and one without its index (the old way).
for n in $SIZES; do
	wide "$n" >"$tmp/w$n.json"
	"$BIN/dag-run" -q --prepare --run-dir "$tmp/idx$n" "$tmp/w$n.json" >/dev/null
	"$BIN/dag-run" -q --prepare --run-dir "$tmp/all$n" "$tmp/w$n.json" >/dev/null
	rm "$tmp/all$n/dag.idx"
	: >"$tmp/t.idx$n"
	: >"$tmp/t.all$n"
done
: >"$tmp/t.floor"

# calls KIND FIRST: CALLS dag-steps of steps FIRST.. (wrapping round the
# run's size), microseconds per call appended to $tmp/t.KIND.
calls() {
	k=0
	n=${1#idx}
	n=${n#all}
	t0=$(now)
	while [ "$k" -lt "$CALLS" ]; do
		"$BIN/dag-step" -q --run-dir "$tmp/$1" "s$((($2 + k) % n))" ||
		    die "$1: dag-step failed"
		k=$((k + 1))
	done
	echo $((($(now) - t0) / CALLS / 1000)) >>"$tmp/t.$1"
}

floor() {
	k=0
	t0=$(now)
	while [ "$k" -lt "$CALLS" ]; do
		/bin/true
		echo '{"ts":"2026-01-01T00:00:00.000Z","run":"r","event":"step_finished","step":"s1","attempt":1,"status":"succeeded"}' >>"$tmp/floor.jsonl"
		k=$((k + 1))
	done
	echo $((($(now) - t0) / CALLS / 1000)) >>"$tmp/t.floor"
}

r=0
while [ "$r" -lt "$ROUNDS" ]; do
	echo "round $((r + 1))/$ROUNDS: $CALLS dag-steps per run size ..." >&2
	floor
	for n in $SIZES; do
		calls "idx$n" $((r * CALLS))
		calls "all$n" $((r * CALLS))
	done
	r=$((r + 1))
done

fl=$(median <"$tmp/t.floor")
first=""
{
	echo "### dag-step: microseconds per call (median of $ROUNDS rounds of $CALLS calls)"
	echo
	echo "Floor (/bin/true and one journal line appended, same shell loop): $fl us."
	echo
	echo "| steps in the run | with the index | x floor | without (whole DAG) | without / with |"
	echo "|---:|---:|---:|---:|---:|"
	for n in $SIZES; do
		a=$(median <"$tmp/t.idx$n")
		b=$(median <"$tmp/t.all$n")
		[ -n "$first" ] || first=$a
		awk -v n="$n" -v a="$a" -v b="$b" -v f="$fl" 'BEGIN {
			printf "| %d | %d | %.2f | %d | %.1f |\n", n, a, a / f, b, b / a }'
	done
	last=$(median <"$tmp/t.idx$(echo "$SIZES" | awk '{ print $NF }')")
	awk -v a="$first" -v b="$last" 'BEGIN {
		printf "\nLargest run against the smallest, with the index: %.2fx\n", b / a }'
} >"$OUT/step.md"

# The make export of the wide DAG against dag-run, both -j2, interleaved.
wide "$WIDE" >"$tmp/wide.json"
: >"$tmp/t.make"
: >"$tmp/t.run"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	echo "round $((r + 1))/$ROUNDS: $WIDE steps through make -j2 and dag-run -j2 ..." >&2
	rm -rf "$tmp/mk" "$tmp/runs"
	"$BIN/dag-run" -q --prepare --run-dir "$tmp/mk" "$tmp/wide.json" >/dev/null
	"$BIN/dag-plan" --format make --run-dir "$tmp/mk" >"$tmp/run.mk"
	t0=$(now)
	DAG_STEP="$BIN/dag-step" DAG_STATUS="$BIN/dag-status" \
	    make -s -j2 -f "$tmp/run.mk" || die "make export failed"
	echo $((($(now) - t0) / 1000000)) >>"$tmp/t.make"
	t0=$(now)
	"$BIN/dag-run" -q -j2 --runs "$tmp/runs" "$tmp/wide.json" || die "dag-run failed"
	echo $((($(now) - t0) / 1000000)) >>"$tmp/t.run"
	r=$((r + 1))
done
mk=$(median <"$tmp/t.make")
rn=$(median <"$tmp/t.run")
{
	echo
	echo "### $WIDE independent true steps at -j2: make export against dag-run (median of $ROUNDS)"
	echo
	echo "| runner | ms | ratio to dag-run |"
	echo "|---|---:|---:|"
	awk -v m="$mk" -v r="$rn" 'BEGIN {
		printf "| dag-run -j2 | %d | 1.00 |\n| make -j2 -f (dag-step per step) | %d | %.2f |\n", r, m, m / r }'
} >>"$OUT/step.md"
cat "$OUT/step.md"
