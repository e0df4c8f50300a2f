#!/usr/bin/env bats
# dag-step on runs made by dag-run: the run's status follows its steps.
# (dag-step on prepared runs and --finish: export.bats.)

load test_helper

latest() { echo "$DAG_RUNS/latest"; }
run_status() { jq -r .status "$(latest)/run.json"; }
last_finished() { jq -r 'select(.event == "run_finished") | .status' "$(latest)/events.jsonl" | tail -n 1; }

@test "a step re-run by dag-step that fails makes a succeeded run failed, and fixed makes it succeed again" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "test ! -e broken"}, {"id": "b", "run": "true"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	touch broken
	run -1 timeout 30 dag-step -q --run-dir "$(latest)" a
	run -1 dag-status
	assert_line "status   failed"
	assert_equal "$(run_status) $(last_finished)" "failed failed"
	rm broken
	run -0 timeout 30 dag-step -q --run-dir "$(latest)" a
	run -0 dag-status
	assert_line "status   succeeded"
	assert_equal "$(run_status) $(last_finished)" "succeeded succeeded"
	# Re-running a step to the same status changes nothing.
	n=$(grep -c run_finished "$(latest)/events.jsonl")
	run -0 timeout 30 dag-step -q --run-dir "$(latest)" b
	assert_equal "$(grep -c run_finished "$(latest)/events.jsonl")" "$n"
}

@test "fixing a failed run's steps with dag-step makes it succeed; a cancelled run stays cancelled while a step shows it" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "test -e fixed"}, {"id": "b", "needs": ["a"], "run": "true"},
 {"id": "c", "run": "true"}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	touch fixed
	run -0 timeout 30 dag-step -q --run-dir "$(latest)" a
	# b is still upstream_failed: the run is still failed.
	run -1 dag-status
	run -0 timeout 30 dag-step -q --run-dir "$(latest)" b
	run -0 dag-status
	assert_line "status   succeeded"
	assert_equal "$(jq -c .counts "$(latest)/run.json")" '{"succeeded":3}'

	dag slow.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"}, {"id": "s", "run": "[ -e s.started ] && exit 0; touch s.started; exec sleep 30"},
 {"id": "t", "run": "true"}]}
EOF2
	timeout 60 dag-run -q -j1 --order declaration slow.json 3>&- &
	pid=$!
	for _ in $(seq 300); do [ -e s.started ] && break; sleep 0.1; done
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	run -130 dag-status
	assert_equal "$(jq -r '[.steps.s.status, .steps.t.status] | @tsv' "$(latest)/run.json")" $'cancelled\tpending'
	# t ran, but s still shows the cancel.
	run -0 timeout 30 dag-step -q --run-dir "$(latest)" t
	run -130 dag-status
	assert_line "status   cancelled"
	run -0 timeout 30 dag-step -q --run-dir "$(latest)" s
	run -0 dag-status
	assert_equal "$(run_status) $(last_finished)" "succeeded succeeded"
}

@test "dag-step(1) EXAMPLES work as written" {
	unset DAG_RUNS		# as a user would: .dag/runs
	dag wf.json <<'EOF2'
{"steps": [{"id": "extract", "run": "true"}, {"id": "users", "needs": ["extract"], "run": "true"},
 {"id": "orders", "needs": ["extract"], "run": "true"}, {"id": "load", "needs": ["users", "orders"], "run": "echo loading"},
 {"id": "never", "needs": ["load"], "run": "true"}]}
EOF2
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -0 timeout 30 dag-step --run-dir "$dir" extract
	run -0 timeout 30 bash -c "printf '%s\n' users orders | xargs -P 2 -I{} dag-step --run-dir \"$dir\" {}"
	run -0 --separate-stderr timeout 30 dag-step -n --run-dir .dag/runs/latest load
	assert_output $'load\techo loading'
	run -0 --separate-stderr timeout 30 dag-step -v --run-dir .dag/runs/latest load
	[[ "$stderr" == *"[load] loading"* ]]
	run -0 --separate-stderr timeout 30 bash -c "dag-step -q --json --run-dir \"$dir\" load | jq -r .status"
	assert_output succeeded
	n=$(grep -c step_started "$dir/events.jsonl")
	run -0 bash -c "dag-status --json \"$dir\" | jq -r .steps.load.status"
	assert_output succeeded
	assert_equal "$(grep -c step_started "$dir/events.jsonl")" "$n"
	run -0 timeout 30 dag-step --finish --run-dir "$dir"
	assert_equal "$(jq -r .steps.never.status "$dir/run.json")" cancelled
}

@test "dag-step of a prepared run leaves run.json alone: dag-status reads the journal, --finish writes run.json" {
	dag wf.json <<'EOF2'
{"name": "quiet", "steps": [{"id": "s", "run": "touch started; sleep 1"}]}
EOF2
	dir=$(timeout 30 dag-run --prepare wf.json)
	cp "$dir/run.json" before.json
	dag-step -q --run-dir "$dir" s 3>&- &
	pid=$!
	for _ in $(seq 200); do [ -e started ] && break; sleep 0.05; done
	cmp before.json "$dir/run.json"
	wait "$pid"
	cmp before.json "$dir/run.json"
	run -0 bash -c "dag-status --json '$dir' | jq -r '[.status, .steps.s.status] | @tsv'"
	assert_output $'succeeded\tsucceeded'
	run -0 timeout 30 dag-step -q --finish --run-dir "$dir"
	assert_equal "$(jq -r '[.status, .steps.s.status] | @tsv' "$dir/run.json")" $'succeeded\tsucceeded'
}
