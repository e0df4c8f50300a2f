#!/usr/bin/env bats
# (Signals go through timeout --foreground: without it, timeout sends a
# signal to its group too, so dag-run may get it twice, and then ignores
# it, so a second one never comes.)
#
# Exit handlers: after a deadline, SIGTERM or SIGINT, the steps whose
# trigger is all_done, one_failed or all_failed and whose needs are
# decided still run, seeing DAG_RUN_STATUS; a second signal or
# --no-handlers kills them at once.

load test_helper

latest() { echo "$DAG_RUNS/latest"; }
status_of() { jq -r --arg id "$1" '.steps[$id].status' "$(latest)/run.json"; }
# line EVENT STEP: the journal line number of the step's first such event.
line() {
	grep -n "\"event\":\"$1\"" "$(latest)/events.jsonl" | grep "\"step\":\"$2\"" | head -n 1 | cut -d: -f1
}

handlers_dag() {
	dag wf.json <<EOF2
{"timeout": "${1:-1h}", "steps": [
 {"id": "long", "run": "touch long.started; [ -e fast ] || sleep 60"},
 {"id": "after", "needs": ["long"], "run": "echo after >> ran"},
 {"id": "alert", "needs": ["long", "after"], "trigger": "one_failed", "timeout": "30s",
  "run": "printf '%s %s\\\\n' \"\$DAG_RUN_STATUS\" {{ .run.status }} > alert.out"},
 {"id": "cleanup", "needs": ["long", "after"], "trigger": "all_done",
  "run": "[ ! -e slow ] || { sleep 60 & echo \$! > cleanup.sleep; }; touch cleanup.started; wait; echo \$DAG_RUN_STATUS > cleanup.out"},
 {"id": "all-failed", "needs": ["long", "after"], "trigger": "all_failed", "run": "touch all-failed.out"},
 {"id": "notify", "needs": ["cleanup"], "run": "touch notify.out"}]}
EOF2
}

# The handlers ran after the run stopped, each saw status st, and what
# was never started stays pending for --resume.
handlers_ran() {
	local st=$1
	assert_equal "$(cat alert.out)" "$st $st"
	assert_equal "$(cat cleanup.out)" "$st"
	assert_equal "$(status_of alert) $(status_of cleanup)" "succeeded succeeded"
	# long was killed (a failure) and after never started (not run): all_failed
	# is skipped, and notify, no handler, did not start either.
	assert_equal "$(status_of after) $(status_of all-failed) $(status_of notify)" "pending skipped pending"
	assert_file_not_exists all-failed.out
	assert_file_not_exists notify.out
	assert_file_not_exists ran
	# From the journal: the handlers started after long ended.
	[ "$(line step_started alert)" -gt "$(line step_finished long)" ]
	[ "$(line step_started cleanup)" -gt "$(line step_finished long)" ]
}

@test "after the run's deadline, one_failed and all_done handlers run; exit 3" {
	handlers_dag 1s
	run -3 --separate-stderr timeout 60 dag-run -q wf.json
	handlers_ran timed_out
	assert_equal "$(status_of long)" timed_out
	assert_equal "$(jq -r .status "$(latest)/run.json")" timed_out
	assert_equal "$(jq -r 'select(.event == "run_finished") | .status' "$(latest)/events.jsonl")" timed_out
}

@test "after SIGTERM the handlers run; exit 143, not the handler's" {
	handlers_dag
	timeout --foreground 60 dag-run -q wf.json 3>&- &
	pid=$!
	wait_for long.started
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	handlers_ran cancelled
	assert_equal "$(status_of long)" cancelled
	assert_equal "$(jq -r .status "$(latest)/run.json")" cancelled
}

@test "after SIGINT the handlers run; exit 130; --resume runs the rest and decides the handlers again" {
	handlers_dag
	timeout --foreground 60 dag-run -q wf.json 3>&- &
	pid=$!
	wait_for long.started
	kill -INT "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 130
	handlers_ran cancelled
	# The resume runs what did not run; the handlers watching it are
	# decided again: nothing failed now, so the alert is skipped.
	touch fast
	rm -f alert.out cleanup.out
	run -0 timeout 60 dag-run -q --resume latest
	assert_equal "$(status_of long) $(status_of after) $(status_of alert) $(status_of cleanup) $(status_of notify)" \
	    "succeeded succeeded skipped succeeded succeeded"
	assert_equal "$(cat cleanup.out)" running
	assert_file_not_exists alert.out
}

@test "a second SIGINT kills the running handlers at once; --no-handlers runs none" {
	handlers_dag
	touch slow
	signal_twice INT wf.json
	assert_equal "$st" 130
	assert_equal "$(status_of cleanup)" cancelled
	assert_file_not_exists cleanup.out
	# Nothing is left running.
	run ! running "$(cat cleanup.sleep)"
	rm -f long.started cleanup.started alert.out
	timeout --foreground 60 dag-run -q --no-handlers wf.json 3>&- &
	pid=$!
	wait_for long.started
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	assert_equal "$(status_of alert) $(status_of cleanup)" "pending pending"
	assert_file_not_exists alert.out
	assert_file_not_exists cleanup.started
}

@test "a second SIGTERM kills them too; a deadline passing while handlers run after a cancel does not" {
	dag wf.json <<'EOF2'
{"timeout": "3s", "steps": [
 {"id": "long", "run": "touch long.started; sleep 60"},
 {"id": "cleanup", "needs": ["long"], "trigger": "all_done", "run": "touch cleanup.started; while [ ! -e done ]; do sleep 0.05; done; echo $DAG_RUN_STATUS > cleanup.out"}]}
EOF2
	timeout --foreground 60 dag-run -q wf.json 3>&- &
	pid=$!
	wait_for long.started
	kill -TERM "$pid"
	wait_for cleanup.started
	# Past the run's 3 s deadline, the handler still runs.
	sleep 4
	touch done
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	assert_equal "$(cat cleanup.out)" cancelled
	assert_equal "$(status_of cleanup)" succeeded
	rm -f long.started cleanup.started done cleanup.out
	signal_twice TERM wf.json
	assert_equal "$st" 143
	assert_equal "$(status_of cleanup)" cancelled
}

@test "the same signal twice at once from dag-run's parent counts once (GNU timeout sends it twice)" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "long", "run": "touch long.started; exec sleep 60"},
 {"id": "cleanup", "needs": ["long"], "trigger": "all_done", "run": "sleep 0.5; echo $DAG_RUN_STATUS > cleanup.out"}]}
EOF2
	# The parent sends it twice, 30 ms apart, as timeout(1) does (to its
	# child, then to its process group, microseconds apart): the handler
	# still runs.
	run -143 timeout 60 sh -c 'dag-run -q wf.json & p=$!
	    while [ ! -e long.started ]; do sleep 0.05; done
	    kill -TERM $p; sleep 0.03; kill -TERM $p; wait $p'
	assert_equal "$(cat cleanup.out)" cancelled
	assert_equal "$(status_of cleanup)" succeeded
	# timeout(1) itself, as a cron job would use it.
	rm -f cleanup.out long.started
	run -124 timeout 60 timeout 2 dag-run -q wf.json
	assert_equal "$(cat cleanup.out)" cancelled
}

@test "a first signal after the deadline lets the handlers finish; the run stays timed out (exit 3)" {
	dag wf.json <<'EOF2'
{"timeout": "1s", "finally": ["tidy"], "steps": [
 {"id": "long", "run": "exec sleep 60"},
 {"id": "alert", "needs": ["long"], "trigger": "one_failed", "run": "touch alert.started; while [ ! -e go ]; do sleep 0.05; done; echo $DAG_RUN_STATUS > alert.out"},
 {"id": "tidy", "run": "echo $DAG_RUN_STATUS > tidy.out"}]}
EOF2
	timeout --foreground 60 dag-run -q wf.json 2>err 3>&- &
	pid=$!
	wait_for alert.started
	kill -INT "$pid"
	sleep 0.3
	touch go
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 3
	assert_equal "$(cat alert.out) $(cat tidy.out)" "timed_out timed_out"
	assert_equal "$(status_of alert) $(status_of tidy)" "succeeded succeeded"
	assert_equal "$(jq -r .status "$(latest)/run.json")" timed_out
	assert_equal "$(jq -r 'select(.event == "run_cancel_requested") | .signal' "$(latest)/events.jsonl")" SIGINT
}

@test "on_failure stop: a cleanup whose other need never started still runs" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "false"}, {"id": "b", "run": "touch b.out"},
 {"id": "cleanup", "needs": ["a", "b"], "trigger": "all_done", "run": "echo $DAG_RUN_STATUS > cleanup.out"}]}
EOF2
	run -1 timeout 30 dag-run -q -j1 --order declaration wf.json
	assert_equal "$(status_of a) $(status_of b) $(status_of cleanup)" "failed pending succeeded"
	assert_equal "$(cat cleanup.out)" failed
	assert_file_not_exists b.out
}

@test "the cron example alerts when the run's deadline passes" {
	# The example as shipped, with a deadline shorter than fetch's retries
	# (their delays add up to 0.7 s at the least).
	jq '.timeout = "500ms"' "$TOP/share/examples/cron.json" > cron.json
	run -3 --separate-stderr timeout 60 dag-run --lock -p ready_after=9 cron.json
	assert_equal "$(jq -r .steps.fetch.status "$(latest)/run.json")" timed_out
	assert_equal "$(jq -r .steps.alert.status "$(latest)/run.json")" succeeded
	run -0 dag-status --logs alert
	assert_output --partial "nightly-batch: run $(basename "$(readlink -f "$(latest)")") timed_out, see "
}
