#!/usr/bin/env bats
# dag-plan: order, levels, width, critical path, slack, formats (SPEC 8).

load test_helper

diamond() {
	dag wf.json <<'EOF2'
{"name": "d", "steps": [
 {"id": "fetch", "run": "true", "x-estimate": "2s"},
 {"id": "lint", "run": "true"},
 {"id": "build", "needs": ["fetch"], "run": "true", "x-estimate": 10},
 {"id": "docs", "needs": ["fetch"], "run": "true", "x-estimate": "3s"},
 {"id": "test", "needs": ["build", "lint"], "run": "true", "x-estimate": "5s"},
 {"id": "ship", "needs": ["test", "docs"], "run": "true"}]}
EOF2
}

@test "json plan: stable order, levels, width, critical path, estimates and slack" {
	diamond
	run --separate-stderr dag-plan wf.json
	assert_success
	assert_equal "$(jq -c '.plan | [.order, .levels, .width, .critical_path]' <<<"$output")" \
	    '[["fetch","lint","build","docs","test","ship"],[["fetch","lint"],["build","docs"],["test"],["ship"]],2,{"steps":["fetch","build","test","ship"],"duration":18}]'
	assert_equal "$(jq -c '.plan.steps.docs, .plan.steps.lint, .plan.steps.ship' <<<"$output" | paste -sd' ')" \
	    '{"level":1,"earliest_start":2,"latest_start":14,"slack":12,"estimate":3} {"level":0,"earliest_start":0,"latest_start":11,"slack":11,"estimate":1} {"level":3,"earliest_start":17,"latest_start":17,"slack":0,"estimate":1}'
	# The plan carries the normalized DAG, so it feeds dag-plan again.
	assert_equal "$(jq -c '.steps | length' <<<"$output")" 6
}

@test "order is stable: declaration order among steps ready together" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "z", "run": "true", "needs": ["m"]}, {"id": "y", "run": "true"},
 {"id": "m", "run": "true"}, {"id": "a", "run": "true", "needs": ["y"]}]}
EOF2
	run --separate-stderr dag-plan wf.json
	assert_equal "$(jq -c .plan.order <<<"$output")" '["y","m","z","a"]'
	assert_equal "$(jq -c .plan.levels <<<"$output")" '[["y","m"],["z","a"]]'
}

@test "level is the longest chain of needs" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"}, {"id": "b", "run": "true", "needs": ["a"]},
 {"id": "c", "run": "true", "needs": ["b"]}, {"id": "d", "run": "true", "needs": ["a", "c"]}]}
EOF2
	run --separate-stderr dag-plan wf.json
	assert_equal "$(jq -c '[.plan.steps[] | .level]' <<<"$output")" '[0,1,2,3]'
}

@test "critical path and slack are exact: a long estimate does not cut the path short" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true", "x-estimate": "365d"},
 {"id": "b", "run": "true", "needs": ["a"], "x-estimate": "100ms"},
 {"id": "c", "run": "true", "needs": ["b"], "x-estimate": "300ms"}]}
EOF2
	run --separate-stderr dag-plan wf.json
	assert_success
	assert_equal "$(jq -c .plan.critical_path <<<"$output")" \
	    '{"steps":["a","b","c"],"duration":31536000.4}'
	assert_equal "$(jq -c '[.plan.steps[].slack]' <<<"$output")" '[0,0,0]'
	run --separate-stderr dag-plan --format text wf.json
	assert_line 'critical path: a -> b -> c'
}

@test "no floating noise: a 0.1/0.2/0.3 chain lasts 0.6 with slack 0" {
	dag wf.json <<'EOF2'
{"name": "f", "steps": [{"id": "a", "run": "true", "x-estimate": 0.1},
 {"id": "b", "run": "true", "needs": ["a"], "x-estimate": 0.2},
 {"id": "c", "run": "true", "needs": ["b"], "x-estimate": 0.3}]}
EOF2
	run --separate-stderr dag-plan wf.json
	assert_success
	# Compare the bytes dag-plan printed, not jq's reading of them.
	assert_output --partial '"critical_path":{"steps":["a","b","c"],"duration":0.6}'
	assert_output --partial '"a":{"level":0,"earliest_start":0,"latest_start":0,"slack":0,"estimate":0.1}'
	assert_output --partial '"b":{"level":1,"earliest_start":0.1,"latest_start":0.1,"slack":0,"estimate":0.2}'
	assert_output --partial '"c":{"level":2,"earliest_start":0.3,"latest_start":0.3,"slack":0,"estimate":0.3}'
	# History medians go through the same rounding: (0.1 + 0.2) / 2.
	mkdir -p runs/r1 runs/r2
	echo '{"format":1,"dag":"f","steps":{"d":{"status":"succeeded","duration":0.1}}}' > runs/r1/run.json
	echo '{"format":1,"dag":"f","steps":{"d":{"status":"succeeded","duration":0.2}}}' > runs/r2/run.json
	jq '.steps += [{id: "d", run: "true", needs: ["c"]}]' wf.json > wf2.json
	run --separate-stderr dag-plan --history runs wf2.json
	assert_success
	assert_output --partial '"critical_path":{"steps":["a","b","c","d"],"duration":0.75}'
	assert_output --partial '"d":{"level":3,"earliest_start":0.6,"latest_start":0.6,"slack":0,"estimate":0.15}'
}

@test "reads stdin, a normalized DAG, or an earlier plan" {
	diamond
	run --separate-stderr sh -c 'dag-plan < wf.json | jq -c .plan.order'
	assert_output '["fetch","lint","build","docs","test","ship"]'
	run --separate-stderr sh -c 'dag-validate wf.json | dag-plan | dag-plan | jq -c .plan.critical_path.duration'
	assert_output '18'
}

@test "--format text lists levels and the critical path" {
	diamond
	run --separate-stderr dag-plan --format text wf.json
	assert_success
	assert_line --index 0 'd: 6 steps, 4 levels, width 2, critical path 18.00s'
	assert_line --index 1 'level 0:'
	assert_line --index 2 --regexp '^  fetch +est 2\.00s +slack 0ms +critical$'
	assert_line --index 3 --regexp '^  lint +est 1\.00s +slack 11\.00s *$'
	assert_line 'critical path: fetch -> build -> test -> ship'
}

@test "--format text: a 3000-step chain has 3000 levels of one step each" {
	# Declared last to first, so declaration order is not level order.
	jq -n '{name: "c", steps: [range(2999; -1; -1) as $i
	    | {id: "s\($i)", run: "true"}
	      + (if $i > 0 then {needs: ["s\($i - 1)"]} else {} end)]}' > wf.json
	run --separate-stderr dag-plan --format text wf.json
	assert_success
	assert_equal "${#lines[@]}" 6002
	assert_line --index 0 'c: 3000 steps, 3000 levels, width 1, critical path 50m00s'
	assert_line --index 1 'level 0:'
	assert_line --index 2 --regexp '^  s0 +est 1\.00s +slack 0ms critical$'
	assert_line --index 5999 'level 2999:'
	assert_line --index 6000 --regexp '^  s2999 +est 1\.00s +slack 0ms critical$'
	# Every level heads exactly its own step, in order.
	assert_equal "$(awk 'NR > 1 && NR < 6002 { print $1, $2 }' <<<"$output" | paste -sd' ')" \
	    "$(seq 0 2999 | awk '{ print "level", $1 ":", "s" $1, "est" }' | paste -sd' ')"
}

@test "--format dot is a Graphviz digraph with need -> step edges" {
	diamond
	run --separate-stderr dag-plan --format dot wf.json
	assert_success
	assert_line --index 0 'digraph "d" {'
	assert_line $'\t"fetch" -> "build" [penwidth=2, color=red];'
	assert_line $'\t"fetch" -> "docs";'
	assert_line --index $((${#lines[@]} - 1)) '}'
}

@test "--format mermaid is a flowchart" {
	diamond
	run --separate-stderr dag-plan --format mermaid wf.json
	assert_success
	assert_line --index 0 'flowchart LR'
	assert_line '    n0["fetch"]'
	assert_line '    n0 --> n2'
	assert_line '    class n5 critical'
}

@test "--history takes medians of past successful runs of the same DAG" {
	diamond
	mkdir -p runs/r1 runs/r2 runs/r3 runs/other
	echo '{"format":1,"dag":"d","steps":{"lint":{"status":"succeeded","duration":4}}}' > runs/r1/run.json
	echo '{"format":1,"dag":"d","steps":{"lint":{"status":"succeeded","duration":8}}}' > runs/r2/run.json
	echo '{"format":1,"dag":"d","steps":{"lint":{"status":"failed","duration":100}}}' > runs/r3/run.json
	echo '{"format":1,"dag":"x","steps":{"lint":{"status":"succeeded","duration":100}}}' > runs/other/run.json
	run --separate-stderr dag-plan --history runs wf.json
	assert_success
	# x-estimate wins over history; lint has only history: median of 4 and 8.
	assert_equal "$(jq -c '.plan.steps.lint.estimate, .plan.steps.fetch.estimate' <<<"$output" | paste -sd' ')" '6 2'
}

@test "exit statuses: 1 invalid, 2 usage, 4 unreadable" {
	echo '{"steps": [{"id": "a", "run": "true", "needs": ["a"]}]}' > bad.json
	run -1 --separate-stderr dag-plan bad.json
	assert_equal "$output" ""
	assert_equal "$stderr" 'bad.json: steps[0].needs[0]: step "a" needs itself'
	run -2 --separate-stderr dag-plan --format svg bad.json
	assert_equal "${stderr_lines[0]}" "dag-plan: unknown format 'svg' (json, text, dot, mermaid, make or slurm)"
	run -2 dag-plan a.json b.json
	run -4 --separate-stderr dag-plan nothere.json
	assert_equal "$stderr" "dag-plan: open 'nothere.json': No such file or directory"
	run -0 dag-plan --version
	assert_output --regexp '^dag-plan [0-9.]+$'
}

@test "dpkg's acyclic dependency graph: order and levels respect every edge" {
	[ -r /var/lib/dpkg/status ] || skip "no /var/lib/dpkg/status on this machine"
	awk -v acyclic=1 -f "$FIXTURES/dpkg2dag.awk" /var/lib/dpkg/status > dpkg.json
	run -0 --separate-stderr dag-plan dpkg.json
	echo "$output" > plan.json
	[ "$(jq '[.steps[].needs | length] | add' plan.json)" -gt 50 ]
	run jq -r '
	    .plan as $p
	    | ($p.order | to_entries | map({(.value): .key}) | add) as $pos
	    | [.steps[] | .id as $s | (.needs // [])[]
	       | select($pos[.] >= $pos[$s] or $p.steps[.].level >= $p.steps[$s].level)]
	    | length' plan.json
	assert_output 0
	assert_equal "$(jq '.plan.order | length' plan.json)" "$(jq '.steps | length' plan.json)"
}
