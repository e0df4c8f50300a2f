#!/bin/sh
# Two builds of dag-run side by side: sh bench/compare.sh OLD_BIN NEW_BIN
# (directories holding dag-run).  The throughput workloads of exec.sh
# (wide, chain, lattice, and wide at a tenth for the cost per step), each
# run by both builds in interleaved rounds (old new old new ...) so drift
# in the machine's load hits both alike, with the floor beside them.
# Prints the median seconds of each, the ratio new/old, and the overhead
# per step over the floor.  Environment: BENCH_ROUNDS (7), BENCH_JOBS (2).
set -eu

[ $# -eq 2 ] || { echo "usage: sh bench/compare.sh old-bin new-bin" >&2; exit 2; }
OLD=$1 NEW=$2
ROUNDS=${BENCH_ROUNDS:-7}
JOBS=${BENCH_JOBS:-2}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dagkit-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cc -O2 -o "$tmp/floor" bench/floor.c
python3 bench/gen.py wide 10000 >"$tmp/wide.json"
python3 bench/gen.py wide 1000 >"$tmp/wide1k.json"
python3 bench/gen.py chain 2000 >"$tmp/chain.json"
python3 bench/gen.py lattice 100 100 3 >"$tmp/lattice.json"

# secs CMD...: the command's wall time, its run directory made before the
# clock starts and removed after it stops.
secs() {
	runs=$(mktemp -d "$tmp/runs.XXXXXX")
	t0=$(date +%s.%N)
	"$@" --runs "$runs" >/dev/null 2>&1 || echo "compare.sh: $* failed" >&2
	t1=$(date +%s.%N)
	rm -rf "$runs"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}
floor_secs() {
	t0=$(date +%s.%N)
	"$tmp/floor" "$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '| workload | steps | floor s | old s | new s | new/old | old us/step over floor | new us/step over floor |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
for w in wide:10000:$JOBS chain:2000:1 lattice:10000:$JOBS wide1k:1000:$JOBS; do
	name=${w%%:*} rest=${w#*:} n=${rest%%:*} p=${rest#*:}
	: >"$tmp/o" ; : >"$tmp/n" ; : >"$tmp/f"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		# Alternate which goes first, so neither always follows the floor.
		if [ $((r % 2)) -eq 0 ]; then
			secs "$OLD/dag-run" -q -j"$JOBS" "$tmp/$name.json" >>"$tmp/o"
			secs "$NEW/dag-run" -q -j"$JOBS" "$tmp/$name.json" >>"$tmp/n"
		else
			secs "$NEW/dag-run" -q -j"$JOBS" "$tmp/$name.json" >>"$tmp/n"
			secs "$OLD/dag-run" -q -j"$JOBS" "$tmp/$name.json" >>"$tmp/o"
		fi
		floor_secs "$n" "$p" >>"$tmp/f"
		r=$((r + 1))
	done
	f=$(median <"$tmp/f") o=$(median <"$tmp/o") nw=$(median <"$tmp/n")
	awk -v w="$name" -v n="$n" -v f="$f" -v o="$o" -v nw="$nw" 'BEGIN {
		printf "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.1f | %.1f |\n",
		    w, n, f, o, nw, nw / o, (o - f) / n * 1e6, (nw - f) / n * 1e6 }'
done
