#!/bin/sh
# Execution benchmark: how fast dag-run starts, tracks and reaps steps,
# against make, ninja, xargs, GNU parallel and a floor (bench/floor.c:
# posix_spawn + waitpid and nothing else), and how good its ready-queue
# order is on a lattice of sleeps.  Run from the repository root (make bench
# does).  See bench/README.md for what each table means.
#
# Writes its inputs and bench/out/exec.md into bench/out/ (git-ignored) and
# prints the same Markdown tables.  Commands of one group run in interleaved
# rounds (A B C ... A B C ...) so drift in machine load hits all alike; the
# time reported is the median over the rounds, measured with date +%s.%N
# around the command only (run directories and ninja directories are made
# before and removed after the clock).
#
# Environment: BENCH_ROUNDS (3), BENCH_WIDE (10000), BENCH_CHAIN (2000),
# BENCH_JOBS (2), BENCH_SCHED_ROUNDS (3; 0 skips the long-tail scheduling
# table, about 70 s per round), BENCH_SCHED_MAX (0.002) and BENCH_SCHED_LONG
# ("0.001 2") for its lattice, BENCH_UNIFORM_ROUNDS (1; 0 skips the uniform
# scheduling table, about 270 s per round), BENCH_UNIFORM_MAX (0.05),
# BIN (build/bin).
set -eu

ROUNDS=${BENCH_ROUNDS:-3}
WIDE=${BENCH_WIDE:-10000}
CHAIN=${BENCH_CHAIN:-2000}
JOBS=${BENCH_JOBS:-2}
SROUNDS=${BENCH_SCHED_ROUNDS:-3}
SMAX=${BENCH_SCHED_MAX:-0.002}
SLONG=${BENCH_SCHED_LONG:-0.001 2}
UROUNDS=${BENCH_UNIFORM_ROUNDS:-1}
UMAX=${BENCH_UNIFORM_MAX:-0.05}
BIN=${BIN:-build/bin}
OUT=bench/out
LAT_L=100 LAT_W=100 LAT_K=3
SLEEPY=200

die() {
	echo "exec.sh: $*" >&2
	exit 1
}
loud() {
	echo "exec.sh: *** $* ***" >&2
	echo "$*" >>"$tmp/notes"
}

[ -f bench/gen.py ] || die "run me from the repository root"
for v in "$ROUNDS" "$WIDE" "$CHAIN" "$JOBS" "$SROUNDS" "$UROUNDS"; do
	case $v in
	'' | *[!0-9]*) die "not a number: $v" ;;
	esac
done
if [ "$ROUNDS" -lt 1 ] || [ "$JOBS" -lt 1 ] || [ "$WIDE" -lt 10 ] ||
    [ "$CHAIN" -lt 1 ]; then
	die "need BENCH_ROUNDS, BENCH_JOBS, BENCH_CHAIN >= 1, BENCH_WIDE >= 10"
fi
# The timed make is a top-level make, whatever ran this script.
unset MAKEFLAGS MFLAGS MAKELEVEL
if [ ! -x "$BIN/dag-run" ]; then
	make -s all || die "cannot build $BIN/dag-run"
fi
for p in python3 cc awk seq xargs make; do
	command -v "$p" >/dev/null 2>&1 || die "$p not found"
done

mkdir -p "$OUT"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dagkit-exec.XXXXXX")
SHM=
trap 'rm -rf "$tmp" ${SHM:+"$SHM"}' EXIT
trap 'exit 130' INT TERM
: >"$tmp/notes"

# Peers: installed when missing (Debian, root); skipped loudly otherwise.
if ! sh tests/deps.sh ninja-build parallel hyperfine time; then
	loud "could not install missing peers; their rows are skipped"
fi
HAVE_NINJA=0 HAVE_PARALLEL=0 TIME=
command -v ninja >/dev/null 2>&1 && HAVE_NINJA=1
if command -v parallel >/dev/null 2>&1 &&
    parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
	HAVE_PARALLEL=1
fi
[ -x /usr/bin/time ] && TIME=/usr/bin/time
[ "$HAVE_NINJA" = 1 ] || loud "ninja not found: ninja rows skipped"
[ "$HAVE_PARALLEL" = 1 ] || loud "GNU parallel not found: parallel row skipped"
[ -n "$TIME" ] || loud "/usr/bin/time not found: peak memory not measured"

# dag-run writes a run directory (a directory and files per step), so the
# file system under --runs matters: the main rows use mktemp -d (TMPDIR, like
# a user would), extra rows a tmpfs (/dev/shm) when there is one, to tell
# dag-run's own cost from the file system's.
FS=$(df -T "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 }')
if [ -d /dev/shm ] && [ -w /dev/shm ] &&
    [ "$(df -T /dev/shm 2>/dev/null | awk 'NR == 2 { print $2 }')" = tmpfs ]
then
	SHM=$(mktemp -d /dev/shm/dagkit-exec.XXXXXX)
else
	loud "no writable tmpfs at /dev/shm: tmpfs rows skipped"
fi

cc -O2 -o "$OUT/floor" bench/floor.c || die "cannot build bench/floor.c"
FLOOR=$OUT/floor

# --- inputs ---------------------------------------------------------------

SMALL=$((WIDE / 10))		# the scaling point, and GNU parallel's N
echo "generating inputs in $OUT/ ..." >&2
gen() {		# gen NAME ARGS...: NAME.json, NAME.mk, NAME.ninja
	name=$1
	shift
	python3 bench/gen.py "$@" >"$OUT/$name.json"
	python3 bench/gen.py makefile "$OUT/$name.json" >"$OUT/$name.mk"
	python3 bench/gen.py ninja "$OUT/$name.json" >"$OUT/$name.ninja"
}
gen "wide-$WIDE" wide "$WIDE"
gen "wide-$SMALL" wide "$SMALL"
gen "chain-$CHAIN" chain "$CHAIN"
gen "lattice-${LAT_L}x$LAT_W-k$LAT_K" lattice "$LAT_L" "$LAT_W" "$LAT_K"
gen "sleepy-$SLEEPY" sleepy "$SLEEPY"

# Scheduling: lattices of sleeps whose steps carry their sleep as
# "x-estimate".  "tail": most steps sleep 0-$SMAX s, a fraction of them (drawn
# at random, BENCH_SCHED_LONG "FRACTION MAX") sleep MAX/2-MAX s; "uniform":
# every step sleeps 0-$UMAX s.  "-hist" is the tail lattice without the
# x-estimates, for dag-run to estimate from a past run (SPEC 5).
TAIL=$OUT/sched-tail-${LAT_L}x$LAT_W-k$LAT_K
UNI=$OUT/sched-uniform-${LAT_L}x$LAT_W-k$LAT_K
if [ "$SROUNDS" -gt 0 ]; then
	# shellcheck disable=SC2086 # two words: fraction and maximum
	python3 bench/gen.py lattice "$LAT_L" "$LAT_W" "$LAT_K" \
	    --sleep-max "$SMAX" --long $SLONG >"$TAIL.json" ||
	    die "bad BENCH_SCHED_MAX or BENCH_SCHED_LONG"
	python3 - "$TAIL.json" >"$TAIL-hist.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
out = sys.stdout
out.write('{"name": %s, "steps": [\n' % json.dumps(doc["name"]))
out.write(",\n".join(json.dumps({k: v for k, v in s.items()
                                 if k != "x-estimate"})
                      for s in doc["steps"]))
out.write("\n]}\n")
EOF
fi
if [ "$UROUNDS" -gt 0 ]; then
	python3 bench/gen.py lattice "$LAT_L" "$LAT_W" "$LAT_K" \
	    --sleep-max "$UMAX" >"$UNI.json" || die "bad BENCH_UNIFORM_MAX"
fi

# bound FILE [RUNJSON]: "critical-path total-work bound" in seconds at -j$JOBS
# (bench/gen.py bound: durations from x-estimates or "sleep X", or those
# RUNJSON, a dag-run --json output, recorded).
bound() {
	python3 bench/gen.py bound "$1" "$JOBS" ${2:+"$2"}
}

# --- the commands ---------------------------------------------------------
#
# A command is "TOOL:NAME" (NAME the input's base name in $OUT, or a count
# for floor, xargs, parallel).  run_cmd ID [wrapper ...] runs it, stdout and
# stderr discarded, after prep ID made its run or build directory ($work).

label() {
	t=${1%%:*} a=${1#*:}
	case $t in
	dagrun) echo "dag-run -j$JOBS" ;;
	dagrunshm) echo "dag-run -j$JOBS, runs on tmpfs" ;;
	make) echo "make -j$JOBS" ;;
	ninja) echo "ninja -j$JOBS" ;;
	floor) echo "floor $a $JOBS" ;;
	floor1) echo "floor $a 1" ;;
	cfloor) echo "floor $a $JOBS capture" ;;
	cfloor1) echo "floor $a 1 capture" ;;
	xargs) echo "seq $a \\| xargs -P $JOBS -I{} true" ;;
	parallel) echo "parallel -j$JOBS true ::: \$(seq $a), x10" ;;
	esac
}
prep() {
	work=
	case ${1%%:*} in
	dagrun) work=$(mktemp -d "$tmp/runs.XXXXXX") ;;
	dagrunshm) work=$(mktemp -d "$SHM/runs.XXXXXX") ;;
	ninja)
		work=$(mktemp -d "$tmp/ninja.XXXXXX")
		cp "$OUT/${1#*:}.ninja" "$work/build.ninja"
		;;
	esac
}
unprep() {
	[ -z "$work" ] || rm -rf "$work"
}
run_cmd() {
	id=$1
	shift
	a=${id#*:}
	case ${id%%:*} in
	dagrun | dagrunshm)
		"$@" "$BIN/dag-run" -q -j"$JOBS" --runs "$work" "$OUT/$a.json"
		;;
	make) "$@" make -j"$JOBS" -f "$OUT/$a.mk" ;;
	ninja) (cd "$work" && "$@" ninja --quiet -j"$JOBS" -f build.ninja) ;;
	floor) "$@" "$FLOOR" "$a" "$JOBS" ;;
	floor1) "$@" "$FLOOR" "$a" 1 ;;	# a chain never has two in flight
	cfloor) "$@" "$FLOOR" "$a" "$JOBS" capture ;;
	cfloor1) "$@" "$FLOOR" "$a" 1 capture ;;
	xargs) seq "$a" | "$@" xargs -P "$JOBS" -I{} true ;;
	parallel)
		# shellcheck disable=SC2046
		"$@" parallel --will-cite -j"$JOBS" true ::: $(seq "$a")
		;;
	esac >/dev/null 2>"$tmp/err"
}
scale_of() {	# GNU parallel runs N/10 and is reported x10
	case $1 in
	parallel:*) echo 10 ;;
	*) echo 1 ;;
	esac
}

now() { date +%s.%N; }

# time_once ID: prep, run under the clock, unprep; prints seconds.
time_once() {
	prep "$1"
	t0=$(now)
	run_cmd "$1" || {
		cat "$tmp/err" >&2
		unprep
		die "$(label "$1") ($1) failed"
	}
	t1=$(now)
	unprep
	echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }'
}

median() {
	sort -n "$1" | awk '{ v[NR] = $1 }
	    END { if (NR % 2) print v[(NR + 1) / 2];
		  else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# group NAME ID...: $GROUP_ROUNDS interleaved rounds (no separate warm-up:
# the median absorbs a cold first round, and a failing command stops the
# script in round 1); medians go to $tmp/m.NAME.ID (scaled).
GROUP_ROUNDS=$ROUNDS
group() {
	CURRENT=$1
	shift
	r=1
	while [ "$r" -le "$GROUP_ROUNDS" ]; do
		echo "$CURRENT: round $r/$GROUP_ROUNDS ..." >&2
		for id in "$@"; do
			time_once "$id" >>"$tmp/t.$CURRENT.$id"
		done
		r=$((r + 1))
	done
	for id in "$@"; do
		median "$tmp/t.$CURRENT.$id" |
		    awk -v k="$(scale_of "$id")" '{ printf "%.6f\n", $1 * k }' \
		    >"$tmp/m.$CURRENT.$id"
	done
}
med() { cat "$tmp/m.$1.$2"; }

# --- start-up throughput --------------------------------------------------

W=wide-$WIDE
C=chain-$CHAIN
L=lattice-${LAT_L}x$LAT_W-k$LAT_K
S=sleepy-$SLEEPY
peers() {	# peers NAME: the tmpfs dag-run and make/ninja ids for NAME
	[ -z "$SHM" ] || echo "dagrunshm:$1"
	echo "make:$1"
	[ "$HAVE_NINJA" = 0 ] || echo "ninja:$1"
}

# shellcheck disable=SC2046
group wide "dagrun:$W" $(peers "$W") "floor:$WIDE" "cfloor:$WIDE" \
    "xargs:$WIDE" \
    $([ "$HAVE_PARALLEL" = 0 ] || echo "parallel:$SMALL")
# shellcheck disable=SC2046
group chain "dagrun:$C" $(peers "$C") "floor1:$CHAIN" "cfloor1:$CHAIN"
# shellcheck disable=SC2046
group lattice "dagrun:$L" $(peers "$L") "floor:$((LAT_L * LAT_W))" \
    "cfloor:$((LAT_L * LAT_W))"
# shellcheck disable=SC2046
group sleepy "dagrun:$S" $(peers "$S")
# N/10 steps: a tenth of the time, so the same noise weighs ten times more
# per step; three times the rounds (about a second each).
GROUP_ROUNDS=$((ROUNDS * 3))
# shellcheck disable=SC2046
group scale "dagrun:wide-$SMALL" \
    $([ -z "$SHM" ] || echo "dagrunshm:wide-$SMALL") "floor:$SMALL"
GROUP_ROUNDS=$ROUNDS

# Peak memory: one extra run each, under /usr/bin/time.
rss() {		# rss ID: peak RSS in KB of one run
	if [ -z "$TIME" ]; then
		echo -
		return
	fi
	prep "$1"
	run_cmd "$1" "$TIME" -f %M -o "$tmp/rss" || die "$(label "$1") failed"
	unprep
	tail -n 1 "$tmp/rss"
}
echo "peak memory ..." >&2
RSS_SMALL=$(rss "dagrun:wide-$SMALL")
RSS_WIDE=$(rss "dagrun:$W")

# --- scheduling quality ---------------------------------------------------

# run_sched DOC TAG ORDER [RUNS]: one dag-run --json --order ORDER of
# DOC.json into RUNS (default: a fresh directory, on tmpfs if there is one:
# the order is measured, not the file system); appends "wall makespan
# measured-bound" to $tmp/s.TAG.
run_sched() {
	work=${4:-$(mktemp -d "${SHM:-$tmp}/runs.XXXXXX")}
	t0=$(now)
	"$BIN/dag-run" -q -j"$JOBS" --order "$3" --runs "$work" --json \
	    "$1.json" >"$tmp/run.json" 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		die "dag-run $1.json failed"
	}
	t1=$(now)
	[ -n "${4:-}" ] || rm -rf "$work"
	mk=$(python3 -c 'import json, sys
print("%.6f" % json.load(open(sys.argv[1]))["duration"])' "$tmp/run.json")
	mb=$(bound "$1.json" "$tmp/run.json" | awk '{ print $3 }')
	echo "$t0 $t1 $mk $mb" |
	    awk '{ printf "%.6f %s %s\n", $2 - $1, $3, $4 }' >>"$tmp/s.$2"
}
# sched_medians TAG...: the medians of each column into $tmp/sm.TAG.1..3.
sched_medians() {
	for v in "$@"; do
		for c in 1 2 3; do
			cut -d' ' -f"$c" "$tmp/s.$v" >"$tmp/col"
			median "$tmp/col" >"$tmp/sm.$v.$c"
		done
	done
}
# repeat N WHAT FUNCTION: FUNCTION N times, each round announced.
repeat() {
	r=1
	while [ "$r" -le "$1" ]; do
		echo "scheduling ($2): round $r/$1 ..." >&2
		"$3"
		r=$((r + 1))
	done
}
tail_round() {	# about 70 s
	run_sched "$TAIL" tail-cp critical-path
	run_sched "$TAIL" tail-decl declaration
	# One untimed run leaves the history the timed one estimates from.
	hist=$(mktemp -d "${SHM:-$tmp}/runs.XXXXXX")
	run_sched "$TAIL-hist" warmup critical-path "$hist"
	run_sched "$TAIL-hist" tail-hist critical-path "$hist"
	rm -rf "$hist"
}
uniform_round() {	# about 270 s
	run_sched "$UNI" uni-cp critical-path
	run_sched "$UNI" uni-decl declaration
}
if [ "$SROUNDS" -gt 0 ]; then
	repeat "$SROUNDS" tail tail_round
	sched_medians tail-cp tail-decl tail-hist
	read -r TCP TWORK TBOUND <<EOF
$(bound "$TAIL.json")
EOF
fi
if [ "$UROUNDS" -gt 0 ]; then
	repeat "$UROUNDS" uniform uniform_round
	sched_medians uni-cp uni-decl
	read -r UCP UWORK UBOUND <<EOF
$(bound "$UNI.json")
EOF
fi
read -r YCP YWORK YBOUND <<EOF
$(bound "$OUT/$S.json")
EOF

# --- the tables -----------------------------------------------------------

# row GROUP ID N FLOOR_ID MAKE_ID: one line of the throughput table.
row() {
	m=$(med "$1" "$2")
	f=- k=-
	[ -z "$4" ] || f=$(med "$1" "$4")
	[ -z "$5" ] || k=$(med "$1" "$5")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(label "$2")" "$m" "$3" \
	    "$f" "$k" | awk -F'\t' '{
		fr = $5 == "-" ? "-" : sprintf("%.2f", $3 / $5)
		kr = $6 == "-" ? "-" : sprintf("%.2f", $3 / $6)
		printf "| %s | %s | %.3f | %.1f | %s | %s |\n", \
		    $1, $2, $3, $3 / $4 * 1e6, fr, kr
	}'
}
ratio() { echo "$1 $2" | awk '{ printf "%.2f", ($2 > 0 ? $1 / $2 : 0) }'; }

{
	echo "## Execution benchmark"
	echo
	echo "$(nproc) CPUs, Linux $(uname -r); every runner at -j$JOBS;" \
	    "median of $ROUNDS interleaved rounds (wall clock, \`date +%s.%N\`)."
	echo "dag-run's run directories: \`mktemp -d\` on ${FS:-?}" \
	    "(\`${TMPDIR:-/tmp}\`)${SHM:+, and on tmpfs in the rows that say so}."
	echo "\"x floor\" is the time over \`floor N P\` (bench/floor.c:" \
	    "posix_spawn of /bin/true, P in flight, nothing else), \"x make\"" \
	    "the time over \`make -j$JOBS\` on the equivalent Makefile." \
	    "\`floor N P capture\` also gives each child two pipes (stdout," \
	    "stderr) that it reads while the child runs: the floor for a" \
	    "runner that captures output, as dag-run does."
	echo
	echo "### Start-up throughput: steps that run \`true\`"
	echo
	echo "wide = $WIDE independent steps, chain = $CHAIN steps in a line" \
	    "(its floor runs one at a time: P=1), lattice = $LAT_L layers of" \
	    "$LAT_W steps each needing $LAT_K of the layer before." \
	    "GNU parallel is run on $SMALL steps (N/10) and its time" \
	    "multiplied by 10."
	echo
	echo "| workload | command | median s | us/step | x floor | x make |"
	echo "|---|---|---:|---:|---:|---:|"
	for id in "dagrun:$W" "dagrunshm:$W" "make:$W" "ninja:$W" "floor:$WIDE" \
	    "cfloor:$WIDE" "xargs:$WIDE" "parallel:$SMALL"; do
		[ -f "$tmp/m.wide.$id" ] || continue
		row wide "$id" "$WIDE" "floor:$WIDE" "make:$W"
	done
	for id in "dagrun:$C" "dagrunshm:$C" "make:$C" "ninja:$C" "floor1:$CHAIN" \
	    "cfloor1:$CHAIN"; do
		[ -f "$tmp/m.chain.$id" ] || continue
		row chain "$id" "$CHAIN" "floor1:$CHAIN" "make:$C"
	done
	n=$((LAT_L * LAT_W))
	for id in "dagrun:$L" "dagrunshm:$L" "make:$L" "ninja:$L" "floor:$n" \
	    "cfloor:$n"; do
		[ -f "$tmp/m.lattice.$id" ] || continue
		row lattice "$id" "$n" "floor:$n" "make:$L"
	done
	echo
	echo "### Sleepy: $SLEEPY steps of \`sleep 0.01\`, each needing up to 2 earlier ones"
	echo
	echo "Lower bound at -j$JOBS: max(critical path $(printf %.2f "$YCP") s," \
	    "work $(printf %.2f "$YWORK") s / $JOBS) = $(printf %.3f "$YBOUND") s" \
	    "(nominal sleeps, no start-up cost)."
	echo
	echo "| command | median s | x bound | x make |"
	echo "|---|---:|---:|---:|"
	for id in "dagrun:$S" "dagrunshm:$S" "make:$S" "ninja:$S"; do
		[ -f "$tmp/m.sleepy.$id" ] || continue
		m=$(med sleepy "$id")
		echo "| $(label "$id") | $(printf %.3f "$m") |" \
		    "$(ratio "$m" "$YBOUND") | $(ratio "$m" "$(med sleepy "make:$S")") |"
	done
	echo
	echo "### Scaling: dag-run on wide, $SMALL vs $WIDE steps"
	echo
	echo "Overhead = (dag-run - floor) / steps: dag-run's own bookkeeping" \
	    "per step (run directory, journal, reaping); flat means O(1) per step." \
	    "The $SMALL-step rows are medians of $((ROUNDS * 3)) rounds (a tenth" \
	    "of the time, so noise weighs ten times more per step)."
	echo
	echo "| steps | runs on | dag-run s | us/step | floor s |" \
	    "overhead us/step | peak RSS KB |"
	echo "|---:|---|---:|---:|---:|---:|---:|"
	for n in "$SMALL" "$WIDE"; do
		for v in dagrun dagrunshm; do
			if [ "$n" = "$SMALL" ]; then
				g=scale i=wide-$SMALL k=$RSS_SMALL
			else
				g=wide i=$W k=$RSS_WIDE
			fi
			[ -f "$tmp/m.$g.$v:$i" ] || continue
			fs=${FS:-?}
			[ "$v" = dagrun ] || fs=tmpfs k=-
			echo "$n $fs $(med "$g" "$v:$i") $(med "$g" "floor:$n") $k" |
			    awk '{ printf "| %d | %s | %.3f | %.1f | %.3f | %.1f | %s |\n", \
				$1, $2, $3, $3 / $1 * 1e6, $4, ($3 - $4) / $1 * 1e6, $5 }'
		done
	done
	if [ "$SROUNDS" -gt 0 ] || [ "$UROUNDS" -gt 0 ]; then
		echo
		echo "### Scheduling quality: lattices ${LAT_L}x$LAT_W, K=$LAT_K, of" \
		    "\`sleep X\` steps, at -j$JOBS"
		echo
		echo "Makespan is run.json's \`duration\`, the median of the" \
		    "rounds.  \"bound\" is max(critical path, work / $JOBS) over" \
		    "the nominal sleeps (no process start-up); \"measured" \
		    "bound\" is the same over the durations the run recorded" \
		    "(sleep plus exec).  \"vs declaration\" is the makespan over" \
		    "that of \`--order declaration\` on the same document."
		echo
		echo "| lattice | order | makespan s | wall s | x bound | measured bound s | x measured bound | vs declaration |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|"
	fi
	# sched_row LATTICE TAG NAME BOUND DECLTAG
	sched_row() {
		w=$(cat "$tmp/sm.$2.1") mk=$(cat "$tmp/sm.$2.2")
		mb=$(cat "$tmp/sm.$2.3") dk=$(cat "$tmp/sm.$5.2")
		echo "| $1 | $3 | $(printf %.2f "$mk") | $(printf %.2f "$w") |" \
		    "$(ratio "$mk" "$4") | $(printf %.2f "$mb") |" \
		    "$(ratio "$mk" "$mb") | $(ratio "$mk" "$dk") |"
	}
	if [ "$SROUNDS" -gt 0 ]; then
		t="tail: bound $(printf %.2f "$TBOUND") s"
		sched_row "$t" tail-cp "critical path (x-estimate)" "$TBOUND" tail-decl
		sched_row "$t" tail-hist "critical path (history of 1 run)" "$TBOUND" tail-decl
		sched_row "$t" tail-decl "declaration" "$TBOUND" tail-decl
	fi
	if [ "$UROUNDS" -gt 0 ]; then
		t="uniform: bound $(printf %.2f "$UBOUND") s"
		sched_row "$t" uni-cp "critical path (x-estimate)" "$UBOUND" uni-decl
		sched_row "$t" uni-decl "declaration" "$UBOUND" uni-decl
	fi
	if [ "$SROUNDS" -gt 0 ] || [ "$UROUNDS" -gt 0 ]; then
		echo
		[ "$SROUNDS" -eq 0 ] || echo "tail: steps sleep 0-$SMAX s, except" \
		    "a fraction $(echo "$SLONG" | awk '{ print $1 }') of them" \
		    "(drawn at random) that sleep $(echo "$SLONG" |
		    awk '{ print $2 / 2 "-" $2 }') s; critical path" \
		    "$(printf %.2f "$TCP") s, work $(printf %.2f "$TWORK") s;" \
		    "$SROUNDS round(s)."
		[ "$UROUNDS" -eq 0 ] || echo "uniform: steps sleep 0-$UMAX s;" \
		    "critical path $(printf %.2f "$UCP") s, work" \
		    "$(printf %.2f "$UWORK") s; $UROUNDS round(s)."
	fi
	if [ -s "$tmp/notes" ]; then
		echo
		echo "**Skipped or missing:**"
		sed 's/^/- /' "$tmp/notes"
	fi
} >"$tmp/exec.md"

cp "$tmp/exec.md" "$OUT/exec.md"
cat "$OUT/exec.md"
