#!/usr/bin/env bats
# Typed params: a param's type is its default's JSON type; -p, --params
# FILE and -p key:=JSON set them, and the run records the typed values.

load test_helper

latest() { echo "$DAG_RUNS/latest"; }
statuses() { jq -r '[.steps[] | .status] | join(" ")' "$(latest)/run.json"; }

@test "-p deploy=false is false and -p amount=5 is 5: the gates read what was meant" {
	dag wf.json <<'EOF2'
{"params": {"deploy": false, "amount": 10},
 "steps": [{"id": "deploy", "when": ".params.deploy", "run": "echo DEPLOYING"},
  {"id": "big", "when": ".params.amount > 100", "run": "echo BIG"}]}
EOF2
	run -0 timeout 30 dag-run -v -p deploy=false -p amount=5 wf.json
	refute_output --partial DEPLOYING
	refute_output --partial BIG
	assert_equal "$(statuses)" "skipped skipped"
	assert_equal "$(jq -c .params "$(latest)/run.json")" '{"deploy":false,"amount":5}'
	assert_equal "$(jq -c 'select(.event == "run_started") | .params' "$(latest)/events.jsonl")" '{"deploy":false,"amount":5}'
	run -0 timeout 30 dag-run -v -p deploy=true -p amount=500 wf.json
	assert_output --partial DEPLOYING
	assert_output --partial BIG
}

@test "every JSON type: a value of the default's type is taken, another is refused naming param, type, default and value" {
	dag wf.json <<'EOF2'
{"params": {"s": "x", "n": 1.5, "b": true, "z": null, "a": [1], "o": {"k": "v"}},
 "steps": [{"id": "show", "run": "printf '%s' \"$P\" > params.out", "env": {"P": "{{ .params | tojson }}"}}]}
EOF2
	run -0 timeout 30 dag-run -q -p 's={"not":"parsed"}' -p n=-2e3 -p b=false -p z=null \
	    -p 'a=[true, "x"]' -p 'o={"dry": true}' wf.json
	assert_equal "$(cat params.out)" '{"s":"{\"not\":\"parsed\"}","n":-2000,"b":false,"z":null,"a":[true,"x"],"o":{"dry":true}}'
	assert_equal "$(jq -c .params "$(latest)/run.json")" "$(cat params.out)"
	# A string param takes its text as it is: empty, spaces, a number's look.
	run -0 timeout 30 dag-run -q -p 's=' wf.json
	assert_equal "$(jq -c .s params.out)" '""'
	run -0 timeout 30 dag-run -q -p 's= 42 ' wf.json
	assert_equal "$(jq -c .s params.out)" '" 42 "'
	n=$(ls "$DAG_RUNS" | wc -l)
	run -2 --separate-stderr timeout 30 dag-run -q -p n=five wf.json
	assert_equal "$stderr" 'dag-run: -p n=five: param "n" is a number (default 1.5), got five'
	run -2 --separate-stderr timeout 30 dag-run -q -p 'n="5"' wf.json
	assert_equal "$stderr" 'dag-run: -p n="5": param "n" is a number (default 1.5), got "5"'
	run -2 --separate-stderr timeout 30 dag-run -q -p b=flase wf.json
	assert_equal "$stderr" 'dag-run: -p b=flase: param "b" is a boolean (default true), got flase'
	run -2 --separate-stderr timeout 30 dag-run -q -p b=1 wf.json
	assert_equal "$stderr" 'dag-run: -p b=1: param "b" is a boolean (default true), got 1'
	run -2 --separate-stderr timeout 30 dag-run -q -p z=0 wf.json
	assert_equal "$stderr" 'dag-run: -p z=0: param "z" is null (default null), got 0'
	run -2 --separate-stderr timeout 30 dag-run -q -p 'a={}' wf.json
	assert_equal "$stderr" 'dag-run: -p a={}: param "a" is an array (default [1]), got {}'
	run -2 --separate-stderr timeout 30 dag-run -q -p 'o=[1,2' wf.json
	assert_equal "$stderr" 'dag-run: -p o=[1,2: param "o" is an object (default {"k":"v"}), got [1,2'
	run -2 --separate-stderr timeout 30 dag-run -q -p 'n=1 2' wf.json
	assert_equal "$stderr" 'dag-run: -p n=1 2: param "n" is a number (default 1.5), got 1 2'
	# Refused before a run directory is made.
	assert_equal "$(ls "$DAG_RUNS" | wc -l)" "$n"
}

@test "-p key:=JSON sets any JSON value; a bad one is refused" {
	dag wf.json <<'EOF2'
{"params": {"s": "x", "n": 1}, "steps": [{"id": "show", "run": "true"}]}
EOF2
	run -0 timeout 30 dag-run -q -p 's:={"a":[1,null]}' -p 'n:="five"' wf.json
	assert_equal "$(jq -c .params "$(latest)/run.json")" '{"s":{"a":[1,null]},"n":"five"}'
	run -2 --separate-stderr timeout 30 dag-run -q -p 's:=nope' wf.json
	assert_equal "$stderr" 'dag-run: -p s:=nope: not one JSON value'
	run -2 --separate-stderr timeout 30 dag-run -q -p ':=1' wf.json
	assert_equal "$stderr" "dag-run: -p ':=1': expected key=value or key:=json"
	run -2 --separate-stderr timeout 30 dag-run -q -p 'zz:=1' wf.json
	assert_equal "$stderr" "dag-run: -p zz: unknown parameter (the DAG's params declare the keys)"
}

@test "--params FILE and --params - merge an object of params, typed; -p goes over them" {
	dag wf.json <<'EOF2'
{"params": {"deploy": false, "amount": 10, "who": "me"},
 "steps": [{"id": "deploy", "when": ".params.deploy", "run": "true"}]}
EOF2
	printf '{"deploy": true, "amount": 7}' > p.json
	run -0 timeout 30 dag-run -q --params p.json wf.json
	assert_equal "$(jq -c .params "$(latest)/run.json")" '{"deploy":true,"amount":7,"who":"me"}'
	assert_equal "$(statuses)" "succeeded"
	run -0 timeout 30 dag-run -q --params - -p amount=8 wf.json <<<'{"who": "you"}'
	assert_equal "$(jq -c .params "$(latest)/run.json")" '{"deploy":false,"amount":8,"who":"you"}'
	assert_equal "$(statuses)" "skipped"
	printf '{"deploy": "yes"}' > p.json
	run -2 --separate-stderr timeout 30 dag-run -q --params p.json wf.json
	assert_equal "$stderr" 'dag-run: --params p.json: param "deploy" is a boolean (default false), got "yes"'
	printf '{"nope": 1}' > p.json
	run -2 --separate-stderr timeout 30 dag-run -q --params p.json wf.json
	assert_equal "$stderr" "dag-run: --params p.json: nope: unknown parameter (the DAG's params declare the keys)"
	printf '[1]' > p.json
	run -2 --separate-stderr timeout 30 dag-run -q --params p.json wf.json
	assert_equal "$stderr" "dag-run: --params p.json: expected a JSON object of params"
	printf '{"deploy": tru' > p.json
	run -2 --separate-stderr timeout 30 dag-run -q --params p.json wf.json
	assert_equal "$stderr" "p.json: line 1, column 14: invalid JSON: Invalid literal at EOF"
	run -2 --separate-stderr timeout 30 dag-run -q --params missing.json wf.json
	assert_equal "$stderr" "dag-run: open 'missing.json': No such file or directory"
}

@test "typed params reach -n, --prepare and dag-step" {
	dag wf.json <<'EOF2'
{"params": {"n": 1, "deploy": false},
 "steps": [{"id": "calc", "run": "echo {{ .params.n + 1 }} > calc.out"},
  {"id": "deploy", "when": ".params.deploy", "run": "echo deployed > deploy.out"}]}
EOF2
	run -0 --separate-stderr timeout 30 dag-run -n -p n=41 wf.json
	assert_line --index 1 "deploy	echo deployed > deploy.out"
	run -2 --separate-stderr timeout 30 dag-run -n -p n=x wf.json
	assert_equal "$stderr" 'dag-run: -p n=x: param "n" is a number (default 1), got x'
	run -0 --separate-stderr timeout 30 dag-run --prepare -p n=9 -p deploy=true wf.json
	dir=$output
	assert_equal "$(jq -c .params "$dir/run.json")" '{"n":9,"deploy":true}'
	run -0 timeout 30 dag-step -q --run-dir "$dir" calc
	assert_equal "$(cat calc.out)" "10"
	run -0 timeout 30 dag-step -q --run-dir "$dir" deploy
	assert_file_exists deploy.out
	# A run that began with deploy=false skips it in dag-step too.
	rm deploy.out
	run -0 timeout 30 dag-run -q -p deploy=false wf.json
	run -0 timeout 30 dag-step -q --run-dir "$(latest)" deploy
	assert_file_not_exists deploy.out
	assert_equal "$(jq -r .steps.deploy.status "$(latest)/run.json")" "skipped"
}

@test "a resume with the same typed value is no change; another is refused" {
	dag wf.json <<'EOF2'
{"params": {"n": 1}, "steps": [{"id": "a", "run": "test -e ok"}]}
EOF2
	run -1 timeout 30 dag-run -q -p n=2 wf.json
	touch ok
	run -2 --separate-stderr timeout 30 dag-run -q --resume latest -p n=3
	assert_equal "$stderr" 'dag-run: --resume: -p differs from the params the run began with: n was 2, now 3 (give --params-changed to re-run what did not succeed with the new values)'
	run -0 timeout 30 dag-run -q --resume latest -p n=2.0
	assert_equal "$(jq -c .params "$(latest)/run.json")" '{"n":2}'
}
