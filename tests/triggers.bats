#!/usr/bin/env bats
# Trigger rules with skipped needs: a skip cascades through all_success,
# Airflow's way; none_failed runs after a skip.

load test_helper

latest() { echo "$DAG_RUNS/latest"; }
status_of() { jq -r --arg id "$1" '.steps[$id].status' "$(latest)/run.json"; }
reason_of() { jq -r --arg id "$1" '.steps[$id].reason' "$(latest)/run.json"; }

@test "deploy skipped by its when skips announce-deploy; a none_failed report still runs" {
	dag wf.json <<'EOF2'
{"params": {"deploy": false}, "steps": [
 {"id": "build", "run": "true"},
 {"id": "deploy", "needs": ["build"], "when": ".params.deploy", "run": "echo deployed >> log"},
 {"id": "announce-deploy", "needs": ["deploy"], "run": "echo announced >> log"},
 {"id": "tell-everyone", "needs": ["announce-deploy"], "run": "echo told >> log"},
 {"id": "report", "needs": ["announce-deploy"], "trigger": "none_failed", "run": "echo report >> log"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	assert_equal "$(cat log)" "report"
	assert_equal "$(status_of deploy) $(status_of announce-deploy) $(status_of tell-everyone) $(status_of report)" \
	    "skipped skipped skipped succeeded"
	assert_equal "$(reason_of announce-deploy)" "need deploy was skipped"
	assert_equal "$(reason_of tell-everyone)" "need announce-deploy was skipped"
	assert_equal "$(jq -r 'select(.event == "step_skipped" and .step == "announce-deploy") | .reason' "$(latest)/events.jsonl")" \
	    "need deploy was skipped"
	run -0 timeout 30 dag-status
	assert_line --regexp '^tell-everyone +skipped '
	rm log
	run -0 timeout 30 dag-run -q -p deploy=true wf.json
	# told and report run side by side: in either order.
	assert_equal "$(head -n 2 log | paste -sd' ')" "deployed announced"
	assert_equal "$(tail -n 2 log | sort | paste -sd' ')" "report told"
}

@test "all six trigger rules with a skipped need: beside a success, alone, beside a failure" {
	{
		printf '{"on_failure": "continue", "steps": [\n'
		printf ' {"id": "ok", "run": "true"},\n'
		printf ' {"id": "sk", "when": "false", "run": "true"},\n'
		printf ' {"id": "bad", "run": "sleep 0.2; false"}'
		for r in all_success none_failed all_done all_failed one_failed one_success; do
			printf ',\n {"id": "%s-os", "needs": ["ok", "sk"], "trigger": "%s", "run": "true"}' "$r" "$r"
			printf ',\n {"id": "%s-s", "needs": ["sk"], "trigger": "%s", "run": "true"}' "$r" "$r"
			printf ',\n {"id": "%s-sb", "needs": ["sk", "bad"], "trigger": "%s", "run": "true"}' "$r" "$r"
		done
		printf ']}\n'
	} > wf.json
	run -1 timeout 60 dag-run -q wf.json
	got=$(jq -r '.steps | to_entries[] | select(.key | contains("-")) | "\(.key)=\(.value.status)"' "$(latest)/run.json" | paste -sd' ')
	# Airflow's outcomes (trigger_rule_dep.py) for the same needs.
	want="all_success-os=skipped all_success-s=skipped all_success-sb=upstream_failed"
	want+=" none_failed-os=succeeded none_failed-s=succeeded none_failed-sb=upstream_failed"
	want+=" all_done-os=succeeded all_done-s=succeeded all_done-sb=succeeded"
	want+=" all_failed-os=skipped all_failed-s=skipped all_failed-sb=skipped"
	want+=" one_failed-os=skipped one_failed-s=skipped one_failed-sb=succeeded"
	want+=" one_success-os=succeeded one_success-s=skipped one_success-sb=upstream_failed"
	assert_equal "$got" "$want"
	# The outcome does not depend on which need ended first.
	sed -i 's/"sleep 0.2; false"/"false"/; s/"when": "false", "run": "true"/"when": "false", "run": "true", "needs": ["slow"]/' wf.json
	sed -i 's/ {"id": "ok", "run": "true"},/ {"id": "ok", "run": "true"}, {"id": "slow", "run": "sleep 0.2"},/' wf.json
	run -1 timeout 60 dag-run -q wf.json
	got=$(jq -r '.steps | to_entries[] | select(.key | contains("-")) | "\(.key)=\(.value.status)"' "$(latest)/run.json" | paste -sd' ')
	assert_equal "$got" "$want"
}

@test "a skip cascades down a long chain without recursion" {
	n=100000
	[ -z "$DAGKIT_SLOW" ] || n=20000	# valgrind's pace
	jq -n --argjson n $n '{steps: ([{id: "s0", when: "false", run: "true"}] + [range(1; $n) | {id: "s\(.)", needs: ["s\(. - 1)"], run: "true"}])}' > wf.json
	run -0 timeout 300 dag-run -q wf.json
	assert_equal "$(jq -c .counts "$(latest)/run.json")" "{\"skipped\":$n}"
	assert_equal "$(reason_of s$((n - 1)))" "need s$((n - 2)) was skipped"
}
