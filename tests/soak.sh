#!/bin/bash
# make soak: kill -9 at random moments, then resume, many times over, and
# check after each round that nothing was lost or done twice.  Not part of
# make check (it runs for tens of minutes); see README.md.
#
# Each round runs a 100-step DAG with data passing, one of two ways:
#  - dag-run, SIGKILLed at a random moment, then dag-run --resume (two at
#    once, now and then) until the run succeeds;
#  - dag-run --prepare, then waves of concurrent dag-steps, some of them
#    SIGKILLed at random moments, until every step succeeded.
# After each round:
#  - every journal line is JSON, and the journal replays to "succeeded";
#  - no step ran again after the attempt the journal records as its
#    success, and no attempt number ran twice;
#  - every output.json is what its producer wrote last, and every step got
#    its needs' outputs as input;
#  - no process of the run is alive.
#
# Environment: SOAK_ROUNDS (200), SOAK_SECONDS (0: no limit; stops after
# the round that passes it), SOAK_STEPS (100), DAGKIT_BIN (build/bin).
set -u
cd "$(dirname "$0")/.."
ROUNDS=${SOAK_ROUNDS:-200}
SECONDS_MAX=${SOAK_SECONDS:-0}
N=${SOAK_STEPS:-100}
BIN=${DAGKIT_BIN:-$PWD/build/bin}
PATH="$BIN:$PATH"
export PATH
command -v jq >/dev/null || { echo "soak: jq is needed" >&2; exit 1; }
[ -x "$BIN/dag-run" ] || make -s all || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/dagkit-soak.XXXXXX")
trap 'pkill -KILL -f "$work" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cd "$work" || exit 1

# The step: checks its input against what its needs wrote last, logs its
# start, then writes its output (a fresh nonce) to produced/ and to
# $DAG_OUTPUT.  A mismatch is written to bad.log.
cat > step.sh <<'EOF'
#!/bin/sh
id=$DAG_STEP_ID
echo "start $id $DAG_ATTEMPT $(date +%s%3N)" >> "$SOAK/exec.log"
want=$(for n in "$@"; do printf '%s\n' "$n"; done | while read -r n; do
	[ -n "$n" ] && printf '"%s":%s,' "$n" "$(cat "$SOAK/produced/$n")"
done)
want="{${want%,}}"
# dagkit builds the input from the needs' outputs, in their order, as
# they were written: the same bytes.
got=$(cat)
[ -z "$*" ] && want=""
if [ "$got" != "$want" ]; then
	echo "$id attempt $DAG_ATTEMPT: input $got, expected $want" >> "$SOAK/bad.log"
fi
sleep "0.0$(od -An -N1 -tu1 /dev/urandom | tr -dc 0-9 | cut -c1)"
out="{\"step\":\"$id\",\"nonce\":\"$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')\"}"
printf '%s\n' "$out" > "$SOAK/produced/$id.tmp"
mv "$SOAK/produced/$id.tmp" "$SOAK/produced/$id"
printf '%s\n' "$out" > "$DAG_OUTPUT"
EOF
chmod +x step.sh

# The DAG: step i needs up to two earlier steps, drawn by formula.
jq -nc --argjson n "$N" --arg step "$work/step.sh" '
    {name: "soak", max_parallel: 4, steps: [range($n) as $i |
	{id: "s\($i)",
	 needs: (if $i == 0 then [] else [(($i * 37 + 11) % $i), (($i * 53 + 5) % $i)] | unique | map("s\(.)") end)}
	| .argv = ([$step] + .needs)]}' > wf.json
dag-validate -q wf.json || exit 1

pass=0 kills=0 resumes=0 steps_killed=0 start=$(date +%s)
fail() {
	echo "soak: round $round ($mode): $*" >&2
	echo "soak: kept in $work/round$round" >&2
	trap - EXIT
	exit 1
}

# ms: a random delay from 0 to $1 ms, as seconds.
ms() { echo "0.$(printf '%03d' $((RANDOM % $1)))"; }

check_round() {
	local dir=$1 id at st
	[ -s bad.log ] && fail "a step got the wrong input: $(head -1 bad.log)"
	while IFS= read -r l; do
		jq -e . >/dev/null 2>&1 <<<"$l" || fail "a journal line is not JSON: $l"
	done < "$dir/events.jsonl"
	dag-status --json "$dir" > state.json
	st=$(jq -r .status state.json)
	[ "$st" = succeeded ] || fail "the run is $st"
	# When each step's success was first journaled (ms): no start after.
	jq -r 'select(.event == "step_finished" and .status == "succeeded" and (.retry | not))
	    | "\(.step) \(.ts)"' "$dir/events.jsonl" | awk '!seen[$1]++' |
	while read -r id ts; do
		at=$(date -d "$ts" +%s%3N)
		late=$(awk -v s="$id" -v t="$at" '$2 == s && $4 > t' exec.log)
		[ -z "$late" ] || { echo "$id: ran again after its success: $late"; break; }
	done > twice
	[ -s twice ] && fail "$(cat twice)"
	for id in $(jq -r '.steps | keys[]' state.json); do
		cmp -s "$dir/steps/$id/output.json" "produced/$id" ||
		    fail "$id: output.json is not what it wrote last"
	done
	if grep -lsa "DAG_RUN_DIR=$dir\b" /proc/[0-9]*/environ >/dev/null 2>&1; then
		fail "a process of the run is alive"
	fi
}

round_dagrun() {
	local dir=$1 pid
	dag-run -q --run-dir "$dir" wf.json 2>/dev/null &
	pid=$!
	sleep "$(ms 900)"
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
	while [ "$(dag-status --json "$dir" 2>/dev/null | jq -r .status)" != succeeded ]; do
		if [ $((RANDOM % 3)) = 0 ]; then
			# Two at once: one runs, the other finds the lock.
			dag-run -q --resume "$dir" 2>/dev/null &
			dag-run -q --resume "$dir" 2>/dev/null &
			resumes=$((resumes + 2))
		else
			dag-run -q --resume "$dir" 2>/dev/null &
			resumes=$((resumes + 1))
		fi
		pid=$!
		if [ $((RANDOM % 2)) = 0 ]; then
			sleep "$(ms 500)"
			kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
		fi
		wait 2>/dev/null
	done
}

# Steps whose needs have all succeeded and that have not, as the journal
# says (run.json may be behind a dag-step that was killed).
ready() {
	dag-status --json "$1" 2>/dev/null | jq -r --slurpfile g wf.json '
	    .steps as $s | $g[0].steps[]
	    | select($s[.id].status != "succeeded")
	    | select(all(.needs[]; $s[.].status == "succeeded")) | .id'
}

round_dagstep() {
	local dir=$1 ids pids p
	dag-run -q --prepare --run-dir "$dir" wf.json >/dev/null || fail "prepare"
	while [ "$(dag-status --json "$dir" 2>/dev/null | jq '[.steps[] | select(.status != "succeeded")] | length')" != 0 ]; do
		ids=$(ready "$dir")
		pids=
		for id in $ids; do
			dag-step -q --run-dir "$dir" "$id" 2>/dev/null &
			pids="$pids $!"
		done
		sleep "$(ms 150)"
		for p in $pids; do
			if [ $((RANDOM % 4)) = 0 ] && kill -KILL "$p" 2>/dev/null; then
				steps_killed=$((steps_killed + 1))
			fi
		done
		wait 2>/dev/null
	done
}

round=0
while [ "$round" -lt "$ROUNDS" ]; do
	round=$((round + 1))
	rm -rf produced exec.log bad.log "round$round"
	mkdir produced
	: > exec.log
	export SOAK="$work"
	if [ $((round % 2)) = 1 ]; then
		mode=dag-run
		round_dagrun "$work/round$round"
	else
		mode=dag-step
		round_dagstep "$work/round$round"
	fi
	check_round "$work/round$round"
	rm -rf "round$round"
	pass=$((pass + 1))
	if [ "$SECONDS_MAX" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$SECONDS_MAX" ]; then
		break
	fi
done
echo "soak: $pass rounds passed in $(($(date +%s) - start)) s: $kills dag-runs and $steps_killed dag-steps killed with SIGKILL, $resumes resumes"
