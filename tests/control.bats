#!/usr/bin/env bats
# dag-run --cancel, --pause and --unpause RUN: the dag-run working on a
# run is found through its lock, never through a pid a file remembers.

load test_helper

latest() { echo "$DAG_RUNS/latest"; }
status_of() { jq -r --arg id "$1" '.steps[$id].status' "$DAG_RUNS/$2/run.json"; }
# events RUN: the journal's events, one per line, "event step".
events() {
	jq -r '[.event, .step // ""] | join(" ")' "$DAG_RUNS/$1/events.jsonl"
}
# runner_pid RUN: the pid of the last dag-run the journal recorded.
runner_pid() {
	jq -r 'select(.event == "run_started") | .pid' "$DAG_RUNS/$1/events.jsonl" | tail -n 1
}

# Four steps in two waves on two slots; the first wave waits for "go".
wave_dag() {
	dag wf.json <<'EOF2'
{"max_parallel": 2, "steps": [
 {"id": "a1", "run": "touch a1.started; while [ ! -e go ]; do sleep 0.05; done"},
 {"id": "a2", "run": "touch a2.started; while [ ! -e go ]; do sleep 0.05; done"},
 {"id": "b1", "needs": ["a1"], "run": "touch b1.ran"},
 {"id": "b2", "needs": ["a2"], "run": "touch b2.ran"}]}
EOF2
}

@test "--pause: running steps go on, no step starts (from the journal), dag-status says paused; --unpause goes on" {
	wave_dag
	timeout --foreground 60 dag-run -q --run-id w wf.json 3>&- &
	pid=$!
	wait_for a1.started
	wait_for a2.started
	run -0 --separate-stderr timeout 30 dag-run --pause w
	assert_equal "$(events w | grep -c '^run_paused')" 1
	run -5 timeout 30 dag-status w
	assert_line "status   paused"
	# Pausing a paused run changes nothing.
	run -0 timeout 30 dag-run --pause w
	assert_equal "$(events w | grep -c '^run_paused')" 1
	# The steps in flight end; nothing starts after them.
	touch go
	for _ in $(seq 400); do [ "$(events w | grep -c '^step_finished')" -eq 2 ] && break; sleep 0.05; done
	assert_equal "$(events w | grep -c '^step_finished')" 2
	run -5 timeout 30 dag-status w
	assert_line "status   paused"
	assert_file_not_exists b1.ran
	run -0 timeout 30 dag-status --list
	assert_output --partial "paused"
	run -0 --separate-stderr timeout 30 dag-run --unpause w
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
	assert_file_exists b1.ran
	assert_file_exists b2.ran
	# From the journal: every start is before the pause or after the
	# unpause.
	assert_equal "$(events w | grep -E '^(run_paused|run_unpaused|step_started)' | paste -sd,)" \
	    "step_started a1,step_started a2,run_paused ,run_unpaused ,step_started b1,step_started b2"
	# Who asked is recorded.
	[ "$(jq -s '[.[] | select(.event == "run_paused") | .by > 0] | all' "$DAG_RUNS/w/events.jsonl")" = true ]
}

@test "--cancel RUN: SIGTERM semantics, exit handlers run, returns once the run has ended" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "long", "run": "sleep 60 & echo $! > long.sleep; touch long.started; wait"},
 {"id": "cleanup", "needs": ["long"], "trigger": "all_done", "run": "sleep 0.3; echo $DAG_RUN_STATUS > cleanup.out"}]}
EOF2
	timeout --foreground 60 dag-run -q --run-id c wf.json 3>&- &
	pid=$!
	wait_for long.started
	run -0 --separate-stderr timeout 30 dag-run --cancel c
	# It has ended already: its status is written, its lock free.
	assert_equal "$(jq -r .status "$DAG_RUNS/c/run.json")" cancelled
	assert_equal "$(cat cleanup.out)" cancelled
	assert_equal "$(status_of long c)" cancelled
	assert_equal "$(jq -r 'select(.event == "run_cancel_requested") | .signal' "$DAG_RUNS/c/events.jsonl")" SIGTERM
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	run ! running "$(cat long.sleep)"
	# Now it is not running: exit 1, and the same for --pause.
	run -1 --separate-stderr timeout 30 dag-run --cancel c
	assert_equal "$stderr" "dag-run: --cancel c: the run is not running"
	run -1 --separate-stderr timeout 30 dag-run --pause latest
	assert_equal "$stderr" "dag-run: --pause latest: the run is not running"
	run -2 --separate-stderr timeout 30 dag-run --cancel nope
	assert_equal "$stderr" "dag-run: --cancel nope: no such run ($DAG_RUNS/nope)"
	run -2 --separate-stderr timeout 30 dag-run --cancel c wf.json
}

@test "--cancel of a finished run whose old pid is now another process leaves that process alive" {
	echo '{"steps": [{"id": "a", "run": "true"}]}' > wf.json
	run -0 timeout 30 dag-run -q --run-id done wf.json
	sleep 60 3>&- &
	victim=$!
	# The lock file and the journal name the old pid: make it the
	# victim's, as if the pid had been used again.
	printf '%d\n' "$victim" > "$DAG_RUNS/done/lock"
	sed -i "s/\"pid\":[0-9]*/\"pid\":$victim/" "$DAG_RUNS/done/events.jsonl" "$DAG_RUNS/done/run.json"
	run -1 --separate-stderr timeout 30 dag-run --cancel done
	assert_equal "$stderr" "dag-run: --cancel done: the run is not running"
	run -1 --separate-stderr timeout 30 dag-run --pause done
	# Not paused: so already.
	run -0 --separate-stderr timeout 30 dag-run --unpause done
	assert_equal "$stderr" ""
	sleep 0.2
	running "$victim"
	kill "$victim"
}

@test "a paused run survives kill -9 of dag-run as paused: --resume stays paused until --unpause" {
	wave_dag
	timeout --foreground 60 dag-run -q --run-id k wf.json 3>&- &
	wait_for a1.started
	wait_for a2.started
	run -0 timeout 30 dag-run --pause k
	kill -9 "$(runner_pid k)"
	wait || true
	run -6 timeout 30 dag-status k
	assert_line --partial "status   interrupted (paused"
	touch go
	timeout --foreground 60 dag-run -q --resume k 3>&- &
	pid=$!
	for _ in $(seq 400); do [ "$(events k | grep -c '^run_started')" -eq 2 ] && break; sleep 0.05; done
	# The resume is paused: it starts nothing, dag-status says so.
	run -5 timeout 30 dag-status k
	assert_line "status   paused"
	sleep 0.5
	assert_equal "$(events k | awk '/^run_started/ { n++ } n == 2 && /^step_started/' | wc -l)" 0
	run -0 --separate-stderr timeout 30 dag-run --unpause k
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
	assert_equal "$(jq -c .counts "$DAG_RUNS/k/run.json")" '{"succeeded":4}'
	run -0 timeout 30 dag-status k
	assert_line "status   succeeded"
}

@test "--unpause of a paused run no dag-run works on records it; the resume then goes on" {
	wave_dag
	timeout --foreground 60 dag-run -q --run-id u wf.json 3>&- &
	wait_for a1.started
	run -0 timeout 30 dag-run --pause u
	kill -9 "$(runner_pid u)"
	wait || true
	run -0 --separate-stderr timeout 30 dag-run --unpause u
	assert_equal "$(events u | tail -n 1)" "run_unpaused "
	assert_equal "$(jq -r '.paused // false' "$DAG_RUNS/u/run.json")" false
	touch go
	run -0 timeout 60 dag-run -q --resume u
	assert_equal "$(jq -c .counts "$DAG_RUNS/u/run.json")" '{"succeeded":4}'
}

@test "--pause and --cancel while a --resume is still starting: the signal waits for its loop" {
	# A big DAG makes the resume's start (load, replay, history) long.
	python3 -c 'import json; print(json.dumps({"steps": [{"id": "slow", "run": "touch slow.started; exec sleep 60"}] + [{"id": "s%d" % i, "needs": ["slow"], "run": "true"} for i in range(20000)]}))' > big.json
	timeout --foreground 120 dag-run -q -j2 --run-id b big.json 3>&- &
	pid=$!
	wait_for slow.started
	kill -9 "$(runner_pid b)"
	wait "$pid" || true
	timeout --foreground 120 dag-run -q -j2 --resume b 3>&- &
	pid=$!
	# Whenever it lands, the pause is recorded and dag-run lives on.
	for _ in $(seq 2000); do timeout 30 dag-run --pause b 2>/dev/null && break; done
	running "$pid"
	assert_equal "$(events b | grep -c '^run_paused')" 1
	run -0 --separate-stderr timeout 60 dag-run --cancel b
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	assert_equal "$(jq -r .status "$DAG_RUNS/b/run.json")" cancelled
}

@test "several --unpause at once of a paused run nobody runs: all exit 0, the resume goes on" {
	wave_dag
	timeout --foreground 60 dag-run -q --run-id u wf.json 3>&- &
	pid=$!
	wait_for a1.started
	run -0 timeout 30 dag-run --pause u
	kill -9 "$(runner_pid u)"
	wait "$pid" || true
	pids=()
	for i in 1 2 3 4 5 6; do timeout 60 dag-run --unpause u 2>"un$i.err" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p"; done
	# None says a word (valgrind's own "--PID--" notes about pidfd_open
	# aside).
	run -1 grep -hv '^--[0-9]*-- ' un1.err un2.err un3.err un4.err un5.err un6.err
	assert_output ""
	assert_equal "$(jq -s -r '[.[] | select(.event == "run_paused" or .event == "run_unpaused") | .event] | last' "$DAG_RUNS/u/events.jsonl")" run_unpaused
	touch go
	run -0 timeout 60 dag-run -q --resume u
	assert_file_exists b1.ran
}

@test "a --pause racing an --unpause returns at once; a directory that is no run is exit 2" {
	dag r.json <<'EOF2'
{"steps": [{"id": "a", "run": "touch a.started; exec sleep 60"}]}
EOF2
	timeout --foreground 60 dag-run -q --run-id r r.json 3>&- &
	pid=$!
	wait_for a.started
	for i in 1 2 3; do
		timeout 60 dag-run --pause r & pp=$!
		for _ in $(seq 400); do [ "$(events r | grep -c '^run_paused')" -ge "$i" ] && break; sleep 0.01; done
		run -0 timeout 30 dag-run --unpause r
		st=0
		wait "$pp" || st=$?
		assert_equal "$st" 0
	done
	run -0 timeout 30 dag-run --cancel r
	wait "$pid" || true
	mkdir -p "$DAG_RUNS/empty"
	run -2 --separate-stderr timeout 30 dag-run --cancel empty
	assert_equal "$stderr" "dag-run: --cancel empty: no such run ($DAG_RUNS/empty has no dag.json)"
	run -2 --separate-stderr timeout 30 dag-run --unpause empty
	run -2 --separate-stderr timeout 30 dag-run --pause ''
}
