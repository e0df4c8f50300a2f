#!/bin/sh
# make lint: the rules of the tree that a script can check (README,
# "Layout").  Prints one line per breach and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."
bad=0
say() { echo "lint: $*" >&2; bad=1; }

# Local headers a file includes, and theirs, transitively.
includes() {
	todo=$1 seen=
	while [ -n "$todo" ]; do
		set -- $todo
		f=$1; shift; todo=$*
		for h in $(sed -n 's/^#include "\(.*\)"$/\1/p' "lib/$f"); do
			case " $seen " in *" $h "*) continue ;; esac
			seen="$seen $h"
			[ -f "lib/$h" ] && todo="$todo $h"
		done
	done
	echo $seen
}

# 1. The scheduler does no I/O: its includes, system ones too, are few.
for h in $(sed -n 's/^#include [<"]\(.*\)[>"]$/\1/p' lib/sched.c lib/sched.h); do
	case $h in
	compat.h|heap.h|sched.h|state.h|xalloc.h|math.h|stdint.h) ;;
	*) say "lib/sched.c includes $h: the scheduler does no I/O" ;;
	esac
done
for h in $(includes sched.c); do
	case $h in
	dag.h|jdoc.h|journal.h|rundir.h|clock.h|procset.h|runner.h)
		say "lib/sched.c reaches $h: the scheduler does no I/O" ;;
	esac
done

# 2. Processes, capture and strays never see a DAG.
for f in procset.c capture.c reaper.c; do
	for h in $(includes $f); do
		[ "$h" = dag.h ] && say "lib/$f reaches dag.h: it never sees a DAG"
	done
done

# 3. Only cmd/, run.c and step.c print, among the engine's files
#    (progress.c and the -v relay of capture.c write to stderr by design).
for f in sched.c procset.c capture.c reaper.c attempt.c runner.c journal.c \
    exec.c; do
	if out=$(grep -nE '\<(printf|fprintf|puts|fputs|putchar|perror|v?warnx?|v?errx?)\(' \
	    "lib/$f"); then
		echo "$out" | sed "s|^|lint: lib/$f:|; s|\$|: only cmd/, run.c and step.c print|" >&2
		bad=1
	fi
done

# 4. Functions of at most ~80 lines, files of at most ~1,000, unless the
#    function's or the file's opening comment says why ("Long:").
for f in lib/*.c; do
	awk -v F="$f" '
	    /^\/\*/ { c = "" } { c = c $0 }
	    /^[a-z_][a-z_0-9]*\(/ { name = $0; sub(/\(.*/, "", name); why = c }
	    /^\{/ { start = NR }
	    /^\}/ && start {
		if (NR - start > 90 && why !~ /Long:/) {
			printf "lint: %s: %s is %d lines: split it, or say why (Long:)\n", F, name, NR - start
			bad = 1
		}
		start = 0; c = ""
	    }
	    END { exit bad }' "$f" >&2 || bad=1
	n=$(wc -l < "$f")
	if [ "$n" -gt 1050 ] && ! sed -n '1,/\*\//p' "$f" | grep -q 'Long:'; then
		say "$f has $n lines: split it, or say why at its top (Long:)"
	fi
done

# 5. Every lib/*.c has its header with an interface comment, or names the
#    header it implements ("Interface: x.h") in its opening comment.
for f in lib/*.c; do
	b=${f%.c}
	if [ -f "$b.h" ]; then
		grep -q '^/\*' "$b.h" || say "$b.h: no interface comment"
	elif ! sed -n '1,/\*\//p' "$f" | grep -q 'Interface: [a-z]*\.h'; then
		say "$f: no $b.h, and no \"Interface: x.h\" at its top"
	fi
done

# 6. No recursion over the graph: no function of the engine, the planner or
#    the graph code calls itself.
for f in lib/sched.c lib/runner.c lib/attempt.c lib/plan.c lib/graph.c \
    lib/run.c lib/step.c; do
	awk -v F="$f" '
	    /^[a-z_][a-z_0-9]*\(/ { name = $0; sub(/\(.*/, "", name) }
	    /^\{/ { body = 1; next }
	    /^\}/ { body = 0 }
	    body && name != "" && $0 ~ ("[^a-z_0-9]" name "\\(") {
		printf "lint: %s:%d: %s calls itself: use a worklist\n", F, NR, name; bad = 1
	    }
	    END { exit bad }' "$f" >&2 || bad=1
done

exit $bad
