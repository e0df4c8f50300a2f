#!/usr/bin/env bats
# "finally": steps that run after every other step, whatever happened
# (DAGMan's FINAL node): after success, failure, a stop, a deadline, a
# signal.  Order is proven from the journal.

load test_helper

latest() { echo "$DAG_RUNS/latest"; }
status_of() { jq -r --arg id "$1" '.steps[$id].status' "$(latest)/run.json"; }
# starts_after_all STEP FINAL: STEP's last step_started comes after every
# step_finished or step_skipped of a step outside FINAL (a JSON array).
starts_after_all() {
	jq -s --arg s "$1" --argjson fin "$2" '
	    (to_entries | map(select(.value.event == "step_started" and .value.step == $s)) | .[-1].key) as $at
	    | $at != null and ([to_entries[] | select((.value.event == "step_finished" or .value.event == "step_skipped")
	        and (.value.step as $x | $fin | index($x) | not)) | .key] | all(. < $at))' "$(latest)/events.jsonl"
}

final_dag() {
	dag wf.json <<'EOF2'
{"finally": ["cleanup", "report"], "steps": [
 {"id": "cleanup", "run": "echo $DAG_RUN_STATUS {{ .run.status }} > cleanup.out"},
 {"id": "a", "run": "sleep 0.2"},
 {"id": "b", "needs": ["a"], "run": "exit ${FAIL:-0}"},
 {"id": "c", "needs": ["a"], "run": "sleep 0.3"},
 {"id": "d", "needs": ["b"], "run": "touch d.out"},
 {"id": "report", "needs": ["cleanup"], "run": "echo $DAG_RUN_STATUS > report.out"}]}
EOF2
}

@test "finally after success: its steps start after every other step ended, see succeeded; exit 0" {
	final_dag
	run -0 timeout 30 dag-run -q wf.json
	assert_equal "$(starts_after_all cleanup '["cleanup","report"]')" true
	assert_equal "$(starts_after_all report '["report"]')" true
	assert_equal "$(cat cleanup.out)" "succeeded succeeded"
	assert_equal "$(cat report.out)" succeeded
	assert_equal "$(jq -r .status "$(latest)/run.json")" succeeded
	# dag-plan puts them last: cleanup after the deepest step, report after it.
	run -0 dag-plan wf.json
	assert_equal "$(jq -c '.plan.levels[-2:]' <<<"$output")" '[["cleanup"],["report"]]'
	# -n lists them last too.
	run -0 dag-run -n wf.json
	assert_equal "$(cut -f1 <<<"$output" | tail -n 2 | paste -sd,)" cleanup,report
}

@test "finally after failure: it runs, sees failed, the exit status is the failure's; a failing finally step fails the run" {
	final_dag
	FAIL=3 run -1 timeout 30 dag-run -q wf.json
	assert_equal "$(status_of b) $(status_of d) $(status_of cleanup) $(status_of report)" \
	    "failed upstream_failed succeeded succeeded"
	assert_equal "$(starts_after_all cleanup '["cleanup","report"]')" true
	assert_equal "$(cat cleanup.out)" "failed failed"
	# on_failure abort: running steps are killed, the finally steps run.
	rm -f cleanup.out
	jq '.on_failure = "abort"' wf.json > abort.json
	FAIL=3 run -1 timeout 30 dag-run -q abort.json
	assert_equal "$(status_of c) $(status_of cleanup)" "cancelled succeeded"
	assert_equal "$(cat cleanup.out)" "failed failed"
	# A finally step that fails fails the run that had succeeded.
	jq '.steps[0].run = "exit 7"' wf.json > bad.json
	run -1 timeout 30 dag-run -q bad.json
	assert_equal "$(status_of cleanup) $(status_of report)" "failed succeeded"
	assert_equal "$(jq -r .status "$(latest)/run.json")" failed
}

@test "finally after a deadline and after SIGTERM; a second signal kills it" {
	dag wf.json <<'EOF2'
{"timeout": "1s", "finally": ["cleanup"], "steps": [
 {"id": "long", "run": "touch long.started; exec sleep 60"},
 {"id": "next", "needs": ["long"], "run": "true"},
 {"id": "cleanup", "timeout": "30s", "run": "echo $DAG_RUN_STATUS > cleanup.out; [ ! -e slow ] || { touch cleanup.started; exec sleep 60; }"}]}
EOF2
	run -3 timeout 30 dag-run -q wf.json
	assert_equal "$(status_of long) $(status_of next) $(status_of cleanup)" "timed_out pending succeeded"
	assert_equal "$(cat cleanup.out)" timed_out
	rm -f cleanup.out long.started
	jq 'del(.timeout)' wf.json > sig.json
	timeout --foreground 60 dag-run -q sig.json 3>&- &
	pid=$!
	wait_for long.started
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	assert_equal "$(cat cleanup.out)" cancelled
	assert_equal "$(status_of cleanup)" succeeded
	# A second SIGTERM kills the finally step at once.
	rm -f cleanup.out
	touch slow
	rm -f long.started cleanup.started
	signal_twice TERM sig.json
	assert_equal "$st" 143
	assert_equal "$(status_of cleanup)" cancelled
}

@test "finally steps run again after a resume, once the rest has run" {
	dag wf.json <<'EOF2'
{"finally": ["cleanup"], "steps": [
 {"id": "a", "run": "[ -e fixed ]"},
 {"id": "b", "needs": ["a"], "run": "touch b.out"},
 {"id": "cleanup", "run": "echo $DAG_RUN_STATUS >> cleanup.out"}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	touch fixed
	run -0 timeout 30 dag-run -q --resume latest
	assert_equal "$(paste -sd, cleanup.out)" failed,succeeded
	assert_file_exists b.out
	assert_equal "$(starts_after_all cleanup '["cleanup"]' )" true
}

@test "dag-validate: what finally may name, with the JSON path and the fix" {
	dag bad.json <<'EOF2'
{"finally": ["x", 3, "nope", "x"], "defaults": {"trigger": "none_failed"}, "steps": [
 {"id": "x", "run": "true"},
 {"id": "y", "needs": ["x"], "trigger": "all_done", "run": "true"},
 {"id": "z", "trigger": "one_failed", "run": "true"}]}
EOF2
	run -1 --separate-stderr dag-validate bad.json
	assert_equal "$stderr" 'bad.json: finally[0]: step "x" has trigger none_failed (from defaults), but a finally step runs whatever happened: give it "trigger": "all_done"
bad.json: finally[1]: must be a step id, not a number
bad.json: finally[2]: unknown step "nope"
bad.json: finally[3]: warning: "x" is listed twice
bad.json: steps[1].needs[0]: "x" is in "finally": it runs after every other step, so "y" cannot need it (drop the need, or add "y" to "finally")'
	run -1 --separate-stderr dag-validate - <<<'{"finally": "a", "steps": [{"id": "a", "run": "true"}, {"id": "b", "run": "true"}]}'
	assert_equal "$stderr" '<stdin>: finally: must be an array of step ids, not a string'
	run -1 --separate-stderr dag-validate - <<<'{"finally": ["a"], "steps": [{"id": "a", "run": "true"}]}'
	assert_equal "$stderr" '<stdin>: finally: names every step: finally steps run after the others, so at least one step must be outside it'
	run -1 --separate-stderr dag-validate - <<<'{"finally": ["b"], "steps": [{"id": "a", "run": "true"}, {"id": "b", "trigger": "one_failed", "run": "true"}]}'
	assert_equal "$stderr" '<stdin>: finally[0]: step "b" has trigger one_failed, but a finally step runs whatever happened: drop its "trigger" or make it "all_done"'
	# Valid, and normalizing keeps it valid and the same.
	run -0 dag-validate - <<<'{"finally": ["b"], "defaults": {"trigger": "all_done"}, "steps": [{"id": "a", "run": "true"}, {"id": "b", "run": "true"}]}'
	first=$output
	run -0 dag-validate - <<<"$first"
	assert_equal "$output" "$first"
}

@test "--target names steps as for any step: a finally step needs every other one" {
	dag wf.json <<'EOF2'
{"finally": ["cleanup"], "steps": [
 {"id": "a", "run": "touch a.out"}, {"id": "b", "run": "touch b.out"},
 {"id": "cleanup", "run": "touch cleanup.out"}]}
EOF2
	run -0 timeout 30 dag-run -q --target a wf.json
	assert_file_exists a.out
	assert_file_not_exists b.out
	assert_file_not_exists cleanup.out
	run -0 timeout 30 dag-run -q --target cleanup wf.json
	assert_file_exists b.out
	assert_file_exists cleanup.out
}

@test "a finally step run by dag-step sees how the run went" {
	dag wf.json <<'EOF2'
{"finally": ["cleanup"], "steps": [{"id": "a", "run": "exit ${FAIL:-0}"},
 {"id": "cleanup", "run": "echo $DAG_RUN_STATUS > cleanup.out"}]}
EOF2
	dir=$(dag-run --prepare wf.json)
	FAIL=3 run -1 timeout 30 dag-step -q --run-dir "$dir" a
	run -0 timeout 30 dag-step -q --run-dir "$dir" cleanup
	assert_equal "$(cat cleanup.out)" failed
	dir=$(dag-run --prepare wf.json)
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	run -0 timeout 30 dag-step -q --run-dir "$dir" cleanup
	assert_equal "$(cat cleanup.out)" succeeded
}
