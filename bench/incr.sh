#!/bin/sh
# Incremental benchmark: dag-run's up-to-date checks against ninja and make
# on LANES lanes of LEN steps (step k cats its source and step k-1's output),
# in three copies of the tree under bench/out/incr/.  Per round and tool,
# interleaved: first run, warm-up no-op, INCR_NOOPS no-ops, one source byte
# changed and a run; then dag-run's no-op with INCR_PAST more past runs.
# Run from the repository root (make bench does); prints and writes
# bench/out/incr.md.  See bench/README.md.
#
# Environment: INCR_STEPS (10000), INCR_LANES (isqrt of INCR_STEPS),
# INCR_ROUNDS (5), INCR_NOOPS (3), INCR_PAST (40; 0 skips), INCR_JOBS (2),
# BIN (build/bin).
set -eu

STEPS=${INCR_STEPS:-10000}
ROUNDS=${INCR_ROUNDS:-5}
NOOPS=${INCR_NOOPS:-3}
PAST=${INCR_PAST:-40}
JOBS=${INCR_JOBS:-2}
LANES=${INCR_LANES:-$(awk -v n="$STEPS" 'BEGIN { print int(sqrt(n)) }')}
GOAL_NINJA=2 GOAL_FIRST=50	# the issue's goals: no-op <= 2x ninja's, >= 50x first run
OUT=bench/out
TREES=$OUT/incr

die() { echo "incr.sh: $*" >&2; exit 1; }
loud() { echo "incr.sh: *** $* ***" >&2; echo "$*" >>"$tmp/notes"; }

[ -f bench/gen.py ] || die "run me from the repository root"
for v in "$STEPS" "$ROUNDS" "$NOOPS" "$PAST" "$JOBS" "$LANES"; do
	case $v in '' | *[!0-9]*) die "not a number: $v" ;; esac
done
if [ "$LANES" -lt 1 ] || [ "$STEPS" -lt $((LANES * 2)) ] ||
    [ "$ROUNDS" -lt 1 ] || [ "$NOOPS" -lt 1 ] || [ "$JOBS" -lt 1 ]; then
	die "need INCR_LANES >= 1, INCR_STEPS >= 2 x lanes, other knobs >= 1"
fi
LEN=$((STEPS / LANES)) N=$((STEPS / LANES * LANES))
CL=$((LANES / 2)) CK=$((LEN / 2))	# the step whose source changes,
WANT=$((LEN - CK))			# it and the rest of its lane run
unset MAKEFLAGS MFLAGS MAKELEVEL	# the timed make is a top-level make
[ -x "${BIN:-build/bin}/dag-run" ] || make -s all || die "cannot build dag-run"
BIN=$(cd "${BIN:-build/bin}" && pwd)
for p in python3 awk make find comm diff; do
	command -v "$p" >/dev/null 2>&1 || die "$p not found"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dagkit-incr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
: >"$tmp/notes"
sh tests/deps.sh ninja-build || loud "could not install ninja-build"
TOOLS="dagrun ninja make"
command -v ninja >/dev/null 2>&1 ||
    { TOOLS="dagrun make" && loud "no ninja: its row and goal skipped"; }

echo "generating $N steps ($LANES lanes of $LEN) in $TREES/ ..." >&2
rm -rf "$TREES"
python3 - "$TREES" "$LANES" "$LEN" <<'EOF'
import json, os, sys
root, lanes, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
steps, outs, ninja, mk = [], [], ["rule cat\n  command = cat $in > $out\n"], []
for tool in ("dagrun", "ninja", "make"):
    os.makedirs(os.path.join(root, tool, "src"))
for L in range(lanes):
    for k in range(length):
        for tool in ("dagrun", "ninja", "make"):
            with open("%s/%s/src/%d_%d.txt" % (root, tool, L, k), "w") as f:
                f.write("lane %d step %d rev 0\n" % (L, k))
        out = "out/%d_%d.o" % (L, k)
        ins = " ".join(["src/%d_%d.txt" % (L, k)] + ["out/%d_%d.o" % (L, k - 1)] * (k > 0))
        s = {"id": "s_%d_%d" % (L, k), "run": "cat %s > %s" % (ins, out),
             "inputs": ins.split(), "outputs": [out]}
        if k:
            s["needs"] = ["s_%d_%d" % (L, k - 1)]
        steps.append(json.dumps(s))
        ninja.append("build %s: cat %s\n" % (out, ins))
        mk.append("%s: %s\n\t%s\n" % (out, ins, s["run"]))
        outs.append(out)
files = {"dagrun/dag.json": '{"name": "incr", "steps": [\n%s\n]}\n' % ",\n".join(steps),
         "ninja/build.ninja": "".join(ninja),
         # -r: no built-in rules (their search costs 2 s a no-op at 10000)
         "make/Makefile": "MAKEFLAGS += -r\n.SILENT:\nall: %s\n%s" % (" ".join(outs), "".join(mk))}
for path, text in files.items():
    with open(os.path.join(root, path), "w") as f:
        f.write(text)
EOF

label() { case $1 in dagrun) echo "dag-run -q -j$JOBS" ;; *) echo "$1 -j$JOBS" ;; esac; }
run_tool() {	# run_tool TOOL, in its tree
	case $1 in
	dagrun) "$BIN/dag-run" -q -j"$JOBS" --runs runs dag.json ;;
	ninja) ninja --quiet -j"$JOBS" ;;
	make) make -j"$JOBS" -f Makefile ;;
	esac
}
clean() { (cd "$TREES/$1" && rm -rf out runs .ninja_* && mkdir out); }
snap() { (cd "$TREES/$1" && find out -type f -printf '%P %T@\n' | sort); }
now() { date +%s.%N; }
top=$(pwd)

# timed TOOL PHASE: one run; its time goes to $tmp/t.PHASE.TOOL, the number
# of outputs it rewrote to $tmp/n.PHASE.TOOL, dag-run's "started cached"
# event counts to $tmp/e.PHASE.TOOL.
timed() {
	snap "$1" >"$tmp/before"
	cd "$TREES/$1"
	t0=$(now)
	run_tool "$1" >/dev/null 2>"$tmp/err" ||
	    { cat "$tmp/err" >&2; die "$(label "$1") failed ($2)"; }
	t1=$(now)
	cd "$top"
	echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }' >>"$tmp/t.$2.$1"
	snap "$1" | comm -13 "$tmp/before" - | wc -l >>"$tmp/n.$2.$1"
	[ "$1" = dagrun ] || return 0
	ev=$TREES/dagrun/runs/latest/events.jsonl
	echo "$(grep -c '"event":"step_started"' "$ev")" \
	    "$(grep -c '"event":"step_cached"' "$ev")" >>"$tmp/e.$2.$1"
}
phase() {	# phase PHASE N "TOOLS": N interleaved runs of each tool
	for _ in $(seq "$2"); do for t in $3; do timed "$t" "$1"; done; done
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "round $r/$ROUNDS ..." >&2
	for t in $TOOLS; do clean "$t"; done
	phase first 1 "$TOOLS"
	phase warm 1 "$TOOLS"
	phase noop "$NOOPS" "$TOOLS"
	for t in $TOOLS; do	# one byte: the rev digit
		printf 'lane %d step %d rev %d\n' "$CL" "$CK" $((r % 10)) \
		    >"$TREES/$t/src/${CL}_$CK.txt"
	done
	phase change 1 "$TOOLS"
	for t in $TOOLS; do diff -rq "$TREES/dagrun/out" "$TREES/$t/out" \
	    >/dev/null || loud "round $r: the outputs of $t and dag-run differ"; done
	r=$((r + 1))
done
if [ "$PAST" -gt 0 ]; then
	echo "dag-run: $PAST more no-ops into its runs directory ..." >&2
	(cd "$TREES/dagrun" && for _ in $(seq "$PAST"); do
	    run_tool dagrun >/dev/null || exit 1; done) || die "dag-run failed"
	phase past "$NOOPS" "dagrun $(echo "$TOOLS" | grep -o ninja || :)"
fi

med() {		# med PHASE TOOL: the median time
	sort -n "$tmp/t.$1.$2" | awk '{ v[NR] = $1 } END { if (NR % 2)
	    print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
m3() {		# m3 PHASE TOOL: the median, 3 decimals, or -
	if [ -f "$tmp/t.$1.$2" ]; then printf %.3f "$(med "$1" "$2")"; else echo -; fi
}
seen() { sort -n "$1" | uniq | paste -sd/ -; }	# the distinct values
ratio() { echo "$1 $2" | awk '{ printf "%.2f", ($2 > 0 ? $1 / $2 : 0) }'; }
verdict() {	# verdict VALUE OP LIMIT
	echo "$1 $3" | awk -v op="$2" '{ ok = op == "<=" ? $1 <= $2 : $1 >= $2
	    print ok ? "met" : "**NOT met**" }'
}
goal() {	# goal TEXT OP LIMIT VALUE [VALUE-WITH-PAST-RUNS]
	v="$4: $(verdict "$4" "$2" "$3")"
	[ -z "${5:-}" ] || v="$v; with $PAST more runs $5: $(verdict "$5" "$2" "$3")"
	echo "- $1: $v"
}

DF=$(med first dagrun) DN=$(med noop dagrun)
ok=met	# in every round: outputs rewritten, events, and silent no-ops
[ "$(seen "$tmp/n.change.dagrun")" = "$WANT" ] || ok="**NOT met**"
[ "$(sort -u "$tmp/e.change.dagrun")" = "$WANT $((N - WANT))" ] ||
    ok="**NOT met**"
[ "$(cat "$tmp/n.noop.dagrun" "$tmp/n.past.dagrun" 2>/dev/null |
    sort -u)" = 0 ] || ok="**NOT met**"
{
	echo "## Incremental runs"
	echo
	echo "$N steps: $LANES lanes of $LEN, step k of a lane cats its source" \
	    "and step k-1's output.  $(nproc) CPUs, Linux $(uname -r); every" \
	    "tool at -j$JOBS; trees on $(df -T "$TREES" | awk 'NR == 2 { print $2 }')." \
	    "Median of $ROUNDS interleaved rounds; the no-op's of" \
	    "$((ROUNDS * NOOPS)) runs, $NOOPS a round after one warm-up no-op." \
	    "\"started\": outputs rewritten (distinct values over the rounds)."
	echo
	echo "| command | first run s | warm-up no-op s | no-op s |" \
	    "one change s | started: first / no-op / change |"
	echo "|---|---:|---:|---:|---:|---|"
	for t in $TOOLS; do
		printf '| %s | %s | %s | %s | %s | %s / %s / %s |\n' \
		    "$(label "$t")" "$(m3 first "$t")" "$(m3 warm "$t")" \
		    "$(m3 noop "$t")" "$(m3 change "$t")" "$(seen "$tmp/n.first.$t")" \
		    "$(seen "$tmp/n.noop.$t")" "$(seen "$tmp/n.change.$t")"
	done
	echo
	printf "dag-run's events, step_started step_cached:"
	for p in first warm noop change; do
		printf ' %s %s;' "$p" "$(sort -u "$tmp/e.$p.dagrun" | paste -sd/ -)"
	done
	echo
	if [ "$PAST" -gt 0 ]; then
		printf "\nWith %d more runs in its runs directory, dag-run's no-op takes\
 %s s (median of %d; ninja's beside it: %s s).\n" "$PAST" "$(m3 past dagrun)" \
		    "$NOOPS" "$(m3 past ninja)"
	fi
	echo
	echo "Goals:"
	echo
	g="no-op at most ${GOAL_NINJA}x ninja's, dag-run / ninja"
	[ ! -f "$tmp/t.noop.ninja" ] || goal "$g" "<=" "$GOAL_NINJA" \
	    "$(ratio "$DN" "$(med noop ninja)")" "$([ ! -f "$tmp/t.past.ninja" ] ||
	    ratio "$(med past dagrun)" "$(med past ninja)")"
	g="no-op at least ${GOAL_FIRST}x faster than the first run, first / no-op"
	goal "$g" ">=" "$GOAL_FIRST" "$(ratio "$DF" "$DN")" \
	    "$([ "$PAST" -eq 0 ] || ratio "$DF" "$(med past dagrun)")"
	echo "- one change starts only the affected steps (s_${CL}_$CK's source" \
	    "changed: steps $CK..$((LEN - 1)) of lane $CL, $WANT started and" \
	    "$((N - WANT)) cached; no-ops start none): $ok"
	if [ -s "$tmp/notes" ]; then
		echo
		echo "**Problems or skipped:**"
		sed 's/^/- /' "$tmp/notes"
	fi
} >"$tmp/incr.md"
cp "$tmp/incr.md" "$OUT/incr.md"
cat "$OUT/incr.md"
