# Loaded by every .bats file: libraries, PATH to the binaries under test,
# and a private HOME, TMPDIR and runs directory per test.
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

TOP="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
FIXTURES="$TOP/tests/fixtures"
PATH="${DAGKIT_BIN:-$TOP/build/bin}:$PATH"
export PATH

setup() {
	unset NO_COLOR DAG_RUNS DAG_RUN_ID DAG_RUN_DIR DAG_STEP_ID DAG_ATTEMPT \
	    DAG_INPUT DAG_OUTPUT
	export LC_ALL=C
	export HOME="$BATS_TEST_TMPDIR/home"
	export TMPDIR="$BATS_TEST_TMPDIR"
	export DAG_RUNS="$BATS_TEST_TMPDIR/runs"
	mkdir -p "$HOME"
	cd "$BATS_TEST_TMPDIR" || return 1
}

# dag FILE <<'EOF' ... EOF: writes a document for the test.
dag() {
	cat >"$1"
}

# running PID: the process exists and is not a zombie (an orphan's zombie
# waits for whatever reaps orphans here, which may be slow or never).
running() {
	[ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# max_together RUNDIR: the most steps its journal shows running at once
# (step_started +1, step_finished -1, in journal order).
max_together() {
	jq -s '[.[] | select(.event == "step_started" or .event == "step_finished")
	    | if .event == "step_started" then 1 else -1 end]
	    | reduce .[] as $d ({n: 0, max: 0}; .n += $d | .max = ([.max, .n] | max)) | .max' "$1/events.jsonl"
}

# wait_for FILE: until a step has made it (20 s at most).
wait_for() {
	for _ in $(seq 400); do [ -e "$1" ] && return 0; sleep 0.05; done
	return 1
}

# signal_twice SIG DAG: runs dag-run -q DAG, sends SIG once a step made
# long.started and again once one made cleanup.started; st gets its exit
# status.  The two are 0.2 s apart at least: dag-run counts the same
# signal twice within 0.1 s from its parent (timeout --foreground here)
# once, as timeout(1) sends it twice.
signal_twice() {
	local pid
	timeout --foreground 60 dag-run -q "$2" 3>&- &
	pid=$!
	wait_for long.started
	kill -"$1" "$pid"
	wait_for cleanup.started
	sleep 0.2
	kill -"$1" "$pid"
	st=0
	wait "$pid" || st=$?
}

# random_dag N: N steps, each needing up to 3 of the 15 before it, with
# every trigger rule and about one step in six failing (seeded: the same
# DAG each time).
random_dag() {
	local i k n t needs rules=(all_success all_done all_failed one_failed one_success none_failed)
	RANDOM=42
	{
		printf '{"name": "rnd", "on_failure": "continue", "steps": [\n'
		for ((i = 0; i < $1; i++)); do
			needs=""
			n=$((i == 0 ? 0 : RANDOM % 4))
			for ((k = 0; k < n; k++)); do
				t=$((i - 1 - RANDOM % (i < 15 ? i : 15)))
				[[ ",$needs," == *",\"s$t\","* ]] || needs+="${needs:+,}\"s$t\""
			done
			printf '%s{"id": "s%d", "needs": [%s], "trigger": "%s", "run": "exit %d"}\n' \
			    "$([ "$i" -gt 0 ] && echo ,)" "$i" "$needs" "${rules[RANDOM % 6]}" \
			    "$((RANDOM % 6 == 0))"
		done
		printf ']}\n'
	} > rnd.json
}
