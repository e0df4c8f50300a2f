#!/bin/sh
# Planning benchmark: how fast dag-validate and dag-plan read and check big
# documents, against jq (parsing the same JSON) and tsort (ordering the same
# edges).  Run from the repository root (make bench does).
#
# Writes its inputs and bench/out/plan.md into bench/out/ (git-ignored) and
# prints the same Markdown table.  Commands run in interleaved rounds
# (A B C ... A B C ...) so drift in machine load hits all of them alike; the
# time reported is the median over the rounds.  Peak memory comes from one
# extra run under /usr/bin/time, when that exists.
#
# Environment: ROUNDS (5), BIN (build/bin), STEPS (100000), NEEDS (300000),
# EXPRS (10000).
set -eu

ROUNDS=${ROUNDS:-5}
BIN=${BIN:-build/bin}
STEPS=${STEPS:-100000}
NEEDS=${NEEDS:-300000}
EXPRS=${EXPRS:-10000}
OUT=bench/out

die() {
	echo "plan.sh: $*" >&2
	exit 1
}

[ -f bench/gen.py ] || die "run me from the repository root"
for p in dag-validate dag-plan; do
	[ -x "$BIN/$p" ] || die "$BIN/$p missing (run make)"
done
for p in python3 jq tsort awk; do
	command -v "$p" >/dev/null 2>&1 || die "$p not found"
done

mkdir -p "$OUT"
DAG=$OUT/random-$STEPS-$NEEDS.json
EDGES=$OUT/random-$STEPS-$NEEDS.edges
XDAG=$OUT/exprs-$EXPRS.json
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dagkit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "generating inputs in $OUT/ ..." >&2
python3 bench/gen.py random "$STEPS" "$NEEDS" >"$DAG"
python3 bench/gen.py edges "$DAG" >"$EDGES"
python3 bench/gen.py exprs "$EXPRS" >"$XDAG"

# The benchmarked commands, by number.  run_cmd N [wrapper ...] runs
# command N, prefixed by the wrapper (for /usr/bin/time), stdout discarded.
NCMD=6
label() {
	case $1 in
	1) echo "jq -c . (random)" ;;
	2) echo "dag-validate (random)" ;;
	3) echo "dag-plan (random)" ;;
	4) echo "tsort (random edges)" ;;
	5) echo "jq -c . (exprs)" ;;
	6) echo "dag-validate (exprs)" ;;
	esac
}
input() {
	case $1 in
	1 | 2 | 3) echo "$DAG" ;;
	4) echo "$EDGES" ;;
	5 | 6) echo "$XDAG" ;;
	esac
}
baseline() {	# the jq row each command is compared with
	case $1 in
	1 | 2 | 3 | 4) echo 1 ;;
	5 | 6) echo 5 ;;
	esac
}
run_cmd() {
	n=$1
	shift
	case $n in
	1) "$@" jq -c . "$DAG" ;;
	2) "$@" "$BIN/dag-validate" "$DAG" ;;
	3) "$@" "$BIN/dag-plan" "$DAG" ;;
	4) "$@" tsort "$EDGES" ;;
	5) "$@" jq -c . "$XDAG" ;;
	6) "$@" "$BIN/dag-validate" "$XDAG" ;;
	esac >/dev/null
}

now() { date +%s.%N; }

# A failing command would make its timing meaningless: check each once
# (this also warms the page cache).
i=1
while [ "$i" -le "$NCMD" ]; do
	run_cmd "$i" 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		die "$(label "$i") failed"
	}
	i=$((i + 1))
done

r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "round $r/$ROUNDS ..." >&2
	i=1
	while [ "$i" -le "$NCMD" ]; do
		t0=$(now)
		run_cmd "$i"
		t1=$(now)
		echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }' >>"$tmp/t$i"
		i=$((i + 1))
	done
	r=$((r + 1))
done

median() {
	sort -n "$1" | awk '{ v[NR] = $1 }
	    END { if (NR % 2) print v[(NR + 1) / 2];
		  else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

TIME=
if [ -x /usr/bin/time ]; then
	TIME=/usr/bin/time
fi

i=1
while [ "$i" -le "$NCMD" ]; do
	median "$tmp/t$i" >"$tmp/m$i"
	if [ -n "$TIME" ]; then
		run_cmd "$i" "$TIME" -f %M -o "$tmp/k$i"
	fi
	i=$((i + 1))
done

nsteps=$(jq '.steps | length' "$DAG")
nneeds=$(jq '[.steps[].needs // [] | length] | add' "$DAG")
kb() { echo $(($(wc -c <"$1") / 1024)); }

{
	echo "## Planning benchmark"
	echo
	echo "Inputs: \`$DAG\` ($nsteps steps, $nneeds needs, $(kb "$DAG") KB)," \
	    "\`$EDGES\` ($(kb "$EDGES") KB)," \
	    "\`$XDAG\` ($EXPRS steps, a \`when\` on each but the first, $(kb "$XDAG") KB)."
	echo "Median of $ROUNDS interleaved rounds; \"x jq\" is the time over" \
	    "jq -c . on the same document."
	echo
	if [ -n "$TIME" ]; then
		echo "| command | median s | x jq | peak RSS KB | RSS / input |"
		echo "|---|---:|---:|---:|---:|"
	else
		echo "| command | median s | x jq |"
		echo "|---|---:|---:|"
	fi
	i=1
	while [ "$i" -le "$NCMD" ]; do
		m=$(cat "$tmp/m$i")
		b=$(cat "$tmp/m$(baseline "$i")")
		if [ -n "$TIME" ]; then
			k=$(tail -n 1 "$tmp/k$i")
			f=$(kb "$(input "$i")")
		else
			k=- f=-
		fi
		echo "$(label "$i")|$m|$b|$k|$f" | awk -F'|' -v mem="$TIME" '{
			ratio = $3 > 0 ? sprintf("%.2f", $2 / $3) : "-"
			if (mem == "")
				printf "| %s | %.3f | %s |\n", $1, $2, ratio
			else
				printf "| %s | %.3f | %s | %d | %.1f |\n", \
				    $1, $2, ratio, $4, $4 / ($5 > 0 ? $5 : 1)
		}'
		i=$((i + 1))
	done
	if [ -z "$TIME" ]; then
		echo
		echo "(/usr/bin/time not found: peak memory not measured.)"
	fi
} >"$tmp/plan.md"

cp "$tmp/plan.md" "$OUT/plan.md"
cat "$OUT/plan.md"
