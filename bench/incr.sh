#!/bin/sh
# Incremental benchmark: how fast dag-run decides that nothing (or little)
# has to run, against ninja and make on the same build.  LANES lanes of LEN
# steps; step k of a lane cats its source file and the output of step k-1
# into its own output.  Three copies of the tree (dag.json, build.ninja,
# Makefile) so the tools share no outputs.  Run from the repository root
# (make bench does); see bench/README.md.
#
# Per round, each phase runs for every tool in turn (interleaved), timed
# with date +%s.%N around the command alone: first run on a clean tree,
# one warm-up no-op, INCR_NOOPS timed no-ops, then one source byte changed
# in the middle of the middle lane and a run.  Medians over the rounds (the
# no-op: over all its runs).  Steps started = outputs rewritten (mtime
# changed); for dag-run also step_started / step_cached events.
#
# Environment: INCR_STEPS (10000), INCR_LANES (isqrt of INCR_STEPS),
# INCR_ROUNDS (5), INCR_NOOPS (3), INCR_JOBS (2), BIN (build/bin).
set -eu

STEPS=${INCR_STEPS:-10000}
ROUNDS=${INCR_ROUNDS:-5}
NOOPS=${INCR_NOOPS:-3}
JOBS=${INCR_JOBS:-2}
LANES=${INCR_LANES:-$(awk -v n="$STEPS" 'BEGIN { print int(sqrt(n)) }')}
OUT=bench/out
TREES=$OUT/incr

die() { echo "incr.sh: $*" >&2; exit 1; }
loud() { echo "incr.sh: *** $* ***" >&2; echo "$*" >>"$tmp/notes"; }

[ -f bench/gen.py ] || die "run me from the repository root"
for v in "$STEPS" "$ROUNDS" "$NOOPS" "$JOBS" "$LANES"; do
	case $v in '' | *[!0-9]*) die "not a number: $v" ;; esac
done
LEN=$((STEPS / ${LANES:-1}))
if [ "$LANES" -lt 1 ] || [ "$LEN" -lt 2 ] || [ "$ROUNDS" -lt 1 ] ||
    [ "$NOOPS" -lt 1 ] || [ "$JOBS" -lt 1 ]; then
	die "need INCR_LANES >= 1, INCR_STEPS >= 2 x lanes, other knobs >= 1"
fi
N=$((LANES * LEN))
CL=$((LANES / 2)) CK=$((LEN / 2))	# the step whose source changes
WANT=$((LEN - CK))			# it and the rest of its lane
unset MAKEFLAGS MFLAGS MAKELEVEL
[ -x "${BIN:-build/bin}/dag-run" ] || make -s all || die "cannot build dag-run"
BIN=$(cd "${BIN:-build/bin}" && pwd)
for p in python3 awk make find comm; do
	command -v "$p" >/dev/null 2>&1 || die "$p not found"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dagkit-incr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
: >"$tmp/notes"
sh tests/deps.sh ninja-build || loud "could not install ninja-build"
TOOLS="dagrun make"
if command -v ninja >/dev/null 2>&1; then
	TOOLS="dagrun ninja make"
else
	loud "ninja not found: its row and the no-op goal are skipped"
fi

echo "generating $N steps ($LANES lanes of $LEN) in $TREES/ ..." >&2
rm -rf "$TREES"
python3 - "$TREES" "$LANES" "$LEN" <<'EOF'
import json, os, sys
root, lanes, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
steps, outs = [], []
ninja, mk = ["rule cat\n  command = cat $in > $out\n"], []
for L in range(lanes):
    for k in range(length):
        out = "out/%d_%d.o" % (L, k)
        ins = ["src/%d_%d.txt" % (L, k)] + (["out/%d_%d.o" % (L, k - 1)] if k else [])
        cmd = "cat %s > %s" % (" ".join(ins), out)
        s = {"id": "s_%d_%d" % (L, k), "run": cmd, "inputs": ins, "outputs": [out]}
        if k:
            s["needs"] = ["s_%d_%d" % (L, k - 1)]
        steps.append(json.dumps(s))
        ninja.append("build %s: cat %s\n" % (out, " ".join(ins)))
        mk.append("%s: %s\n\t%s\n" % (out, " ".join(ins), cmd))
        outs.append(out)
files = {"dagrun/dag.json": '{"name": "incr", "steps": [\n%s\n]}\n' % ",\n".join(steps),
         "ninja/build.ninja": "".join(ninja),
         "make/Makefile": ".SILENT:\nall: %s\n%s" % (" ".join(outs), "".join(mk))}
for tool in ("dagrun", "ninja", "make"):
    os.makedirs(os.path.join(root, tool, "src"))
    for L in range(lanes):
        for k in range(length):
            with open(os.path.join(root, tool, "src/%d_%d.txt" % (L, k)), "w") as f:
                f.write("lane %d step %d rev 0\n" % (L, k))
for path, text in files.items():
    with open(os.path.join(root, path), "w") as f:
        f.write(text)
EOF

label() {
	case $1 in
	dagrun) echo "dag-run -q -j$JOBS" ;;
	ninja) echo "ninja -j$JOBS" ;;
	make) echo "make -j$JOBS" ;;
	esac
}
run_tool() {	# run_tool TOOL: one run in its tree, output discarded
	case $1 in
	dagrun) "$BIN/dag-run" -q -j"$JOBS" --runs runs dag.json ;;
	ninja) ninja --quiet -j"$JOBS" ;;
	make) make -j"$JOBS" -f Makefile ;;
	esac
}
clean() { (cd "$TREES/$1" && rm -rf out runs .ninja_log .ninja_deps &&
    mkdir out); }
snap() { (cd "$TREES/$1" && find out -type f -printf '%P %T@\n' | sort); }
now() { date +%s.%N; }

# timed TOOL PHASE: one run, its time in $tmp/t.PHASE.TOOL, the outputs it
# rewrote in $tmp/n.PHASE.TOOL, dag-run's events in $tmp/e.PHASE.TOOL.
timed() {
	snap "$1" >"$tmp/before"
	cd "$TREES/$1"
	t0=$(now)
	run_tool "$1" >/dev/null 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		die "$(label "$1") failed ($2)"
	}
	t1=$(now)
	cd "$top"
	echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }' >>"$tmp/t.$2.$1"
	snap "$1" >"$tmp/after"
	comm -13 "$tmp/before" "$tmp/after" | wc -l >>"$tmp/n.$2.$1"
	[ "$1" = dagrun ] || return 0
	ev=$TREES/dagrun/runs/latest/events.jsonl
	echo "$(grep -c '"event":"step_started"' "$ev") $(grep -c \
	    '"event":"step_cached"' "$ev")" >>"$tmp/e.$2.$1"
}
top=$(pwd)

r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "round $r/$ROUNDS ..." >&2
	for t in $TOOLS; do clean "$t"; timed "$t" first; done
	for t in $TOOLS; do timed "$t" warm; done
	i=1
	while [ "$i" -le "$NOOPS" ]; do
		for t in $TOOLS; do timed "$t" noop; done
		i=$((i + 1))
	done
	for t in $TOOLS; do
		printf 'lane %d step %d rev %d\n' "$CL" "$CK" $((r % 10)) \
		    >"$TREES/$t/src/${CL}_$CK.txt"
		timed "$t" change
	done
	for t in $TOOLS; do
		diff -rq "$TREES/dagrun/out" "$TREES/$t/out" >/dev/null ||
		    loud "round $r: $t's outputs differ from dag-run's"
	done
	r=$((r + 1))
done

median() {
	sort -n "$1" | awk '{ v[NR] = $1 }
	    END { if (NR % 2) print v[(NR + 1) / 2];
		  else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
med() { median "$tmp/t.$1.$2"; }
seen() { sort -n "$1" | uniq | paste -sd/ -; }	# the distinct values
ratio() { echo "$1 $2" | awk '{ printf "%.2f", ($2 > 0 ? $1 / $2 : 0) }'; }
verdict() { if [ "$1" = 1 ]; then echo met; else echo "**NOT met**"; fi; }

DN=$(med noop dagrun) DF=$(med first dagrun)
R_FN=$(ratio "$DF" "$DN")
{
	echo "## Incremental runs"
	echo
	echo "$N steps: $LANES lanes of $LEN, step k of a lane cats its source" \
	    "and step k-1's output.  $(nproc) CPUs, Linux $(uname -r)," \
	    "every tool at -j$JOBS, trees on" \
	    "$(df -T "$TREES" | awk 'NR == 2 { print $2 }') ($TREES)." \
	    "Median of $ROUNDS interleaved rounds (no-op: of $((ROUNDS * NOOPS))" \
	    "runs, each round's after one warm-up no-op).  \"started\" is the" \
	    "number of outputs rewritten (distinct values over the rounds)."
	echo
	echo "| command | first run s | warm-up no-op s | no-op s |" \
	    "one change s | started: first / no-op / change |"
	echo "|---|---:|---:|---:|---:|---|"
	for t in $TOOLS; do
		printf '| %s | %.3f | %.3f | %.3f | %.3f | %s / %s / %s |\n' \
		    "$(label "$t")" "$(med first "$t")" "$(med warm "$t")" \
		    "$(med noop "$t")" "$(med change "$t")" \
		    "$(seen "$tmp/n.first.$t")" "$(seen "$tmp/n.noop.$t")" \
		    "$(seen "$tmp/n.change.$t")"
	done
	echo
	echo "dag-run events (step_started step_cached): first run" \
	    "$(cut -d' ' -f1 "$tmp/e.first.dagrun" | sort -u | paste -sd/ -)" \
	    "started; warm-up no-op $(sort -u "$tmp/e.warm.dagrun" | paste -sd/ -);" \
	    "no-op $(sort -u "$tmp/e.noop.dagrun" | paste -sd/ -);" \
	    "one change $(sort -u "$tmp/e.change.dagrun" | paste -sd/ -)."
	echo
	echo "Goals:"
	echo
	if [ -f "$tmp/t.noop.ninja" ]; then
		R_NN=$(ratio "$DN" "$(med noop ninja)")
		echo "- no-op at most 2x ninja's: dag-run / ninja = $R_NN:" \
		    "$(verdict "$(echo "$R_NN" | awk '{ print ($1 <= 2) }')")"
	else
		echo "- no-op at most 2x ninja's: not checked (no ninja)"
	fi
	echo "- no-op at least 50x faster than the first run: first / no-op =" \
	    "$R_FN: $(verdict "$(echo "$R_FN" | awk '{ print ($1 >= 50) }')")"
	ok=1	# every round: outputs rewritten, events, and a quiet no-op
	[ "$(seen "$tmp/n.change.dagrun")" = "$WANT" ] || ok=0
	[ "$(sort -u "$tmp/e.change.dagrun")" = "$WANT $((N - WANT))" ] || ok=0
	[ "$(seen "$tmp/n.noop.dagrun")" = 0 ] || ok=0
	echo "- one change starts only the affected steps (source of s_${CL}_$CK" \
	    "changed: steps $CK..$((LEN - 1)) of lane $CL, $WANT started," \
	    "$((N - WANT)) cached; the no-op starts none): $(verdict "$ok")"
	if [ -s "$tmp/notes" ]; then
		echo
		echo "**Problems or skipped:**"
		sed 's/^/- /' "$tmp/notes"
	fi
} >"$tmp/incr.md"
cp "$tmp/incr.md" "$OUT/incr.md"
cat "$OUT/incr.md"
