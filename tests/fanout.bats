#!/usr/bin/env bats
# Fan-out and fan-in: a step's matrix (GitHub's strategy.matrix, with
# include and exclude) expands into one step per combination, and its
# dependents get the instances' outputs as one array.

load test_helper

latest() { echo "$DAG_RUNS/latest"; }
status_of() { jq -r --arg id "$1" '.steps[$id].status' "$(latest)/run.json"; }

@test "matrix: product, first list outermost, exclude and include as GitHub has them" {
	dag m.json <<'EOF'
{"steps": [
 {"id": "build", "matrix": {"os": ["bookworm", "trixie"], "cc": ["gcc", "clang"],
   "exclude": [{"os": "trixie", "cc": "clang"}],
   "include": [{"os": "bookworm", "cc": "gcc", "lto": true}, {"cc": "clang", "asan": 1},
               {"os": "sid", "cc": "tcc"}]},
  "run": "echo \"$DAG_MATRIX\"", "output": "stdout"},
 {"id": "gather", "needs": ["build"], "run": "cat", "output": "stdout"}]}
EOF
	run -0 dag-plan --format text m.json
	assert_line --index 0 --partial "m: 5 steps, 2 levels, width 4"
	run -0 jq -c '.plan.order' <(dag-plan m.json)
	assert_output '["build[bookworm,gcc]","build[bookworm,clang]","build[trixie,gcc]","build[sid,tcc]","gather"]'
	run -0 timeout 60 dag-run -q m.json
	# Each instance saw its own combination; include added keys to the
	# combinations it matched, and made one of its own where none did.
	run -0 jq -c '.build' "$(latest)/steps/gather/output.json"
	assert_output '[{"os":"bookworm","cc":"gcc","lto":true},{"os":"bookworm","cc":"clang","asan":1},{"os":"trixie","cc":"gcc"},{"os":"sid","cc":"tcc"}]'
	# The frozen DAG keeps the matrix as written (a resume expands it again).
	run -0 jq -c '.steps[0].matrix.os' "$(latest)/dag.json"
	assert_output '["bookworm","trixie"]'
	run -0 timeout 60 dag-run -q --resume latest --rerun 'build[trixie,gcc]'
	run -0 jq -c '[.steps[] | .attempts]' "$(latest)/run.json"
	assert_output '[1,1,2,1,1]'
}

@test "matrix: .matrix in templates, when and input; fan-in array in order with null for no output" {
	dag m.json <<'EOF'
{"steps": [
 {"id": "sq", "matrix": {"x": [1, 2, 3, 4]}, "when": ".matrix.x != 3",
  "input": ".matrix", "transform": "{x: .x, sq: (.x * .x)}"},
 {"id": "echo", "matrix": {"word": ["a b", "c'd"]}, "run": "printf '%s|' {{ .matrix.word }}; echo $DAG_STEP_ID", "output": "stdout"},
 {"id": "sum", "needs": ["sq", "echo"], "trigger": "none_failed",
  "when": ".steps.sq.status == \"succeeded\" and (.steps.sq.instances | map(.id) == [\"sq[1]\",\"sq[2]\",\"sq[3]\",\"sq[4]\"]) and .steps.sq.instances[2].status == \"skipped\"",
  "input": "{sq: .steps.sq.output, echo: .steps.echo.output}",
  "transform": "{total: ([.sq[] | select(. != null) | .sq] | add), sq: .sq, echo: .echo}"}]}
EOF
	run -0 timeout 60 dag-run -q m.json
	assert_equal "$(status_of 'sq[3]') $(status_of sum)" "skipped succeeded"
	run -0 jq -c . "$(latest)/steps/sum/output.json"
	assert_output '{"total":21,"sq":[{"x":1,"sq":1},{"x":2,"sq":4},null,{"x":4,"sq":16}],"echo":["a b|echo[0]","c'"'"'d|echo[1]"]}'
}

@test "matrix: trigger rules count every instance; a target names them all, or one" {
	dag m.json <<'EOF'
{"on_failure": "continue", "steps": [
 {"id": "t", "matrix": {"n": [0, 1, 2]}, "run": "echo {{ .matrix.n }} >> ran; test {{ .matrix.n }} != 1"},
 {"id": "all", "needs": ["t"], "run": "true"},
 {"id": "alert", "needs": ["t"], "trigger": "one_failed", "run": "true"},
 {"id": "some", "needs": ["t"], "trigger": "one_success", "run": "true"},
 {"id": "none", "needs": ["t"], "trigger": "all_failed", "run": "true"},
 {"id": "other", "run": "echo other >> ran"}]}
EOF
	run -1 timeout 60 dag-run -q m.json
	assert_equal "$(status_of 't[1]') $(status_of all) $(status_of alert) $(status_of some) $(status_of none)" \
	    "failed upstream_failed succeeded succeeded skipped"
	rm ran
	run -1 timeout 60 dag-run -q --target t m.json
	assert_equal "$(sort ran | paste -sd' ')" "0 1 2"
	rm ran
	run -0 timeout 60 dag-run -q --target 't[2]' m.json
	assert_equal "$(cat ran)" "2"
	run -2 dag-run -q --target 't[9]' m.json
	assert_output --partial "--target t[9]: no such step"
}

@test "matrix: logs and dag-step name one instance; the group's name says so" {
	dag m.json <<'EOF'
{"steps": [{"id": "b", "matrix": {"os": ["x", "y"]}, "run": "echo on {{ .matrix.os }}"}]}
EOF
	run -0 timeout 60 dag-run -q m.json
	run -0 dag-status --logs 'b[y]'
	assert_output "on y"
	run -2 dag-status --logs b
	assert_output --partial '"b" is a matrix of 2 steps: name one, such as "b[x]"'
	run -0 timeout 60 dag-run -q --prepare --run-dir prep m.json
	run -0 timeout 60 dag-step -q --run-dir prep 'b[x]'
	run -0 jq -r '.steps["b[x]"].status, .steps["b[y]"].status' prep/run.json
	assert_output $'succeeded\npending'
	run -2 dag-step -q --run-dir prep b
	assert_output --partial 'is a matrix of 2 steps'
}

@test "matrix: the make export escapes the instances' brackets and runs them" {
	dag m.json <<'EOF'
{"steps": [{"id": "b", "matrix": {"os": ["x", "y"]}, "run": "echo {{ .matrix.os }}", "output": "stdout"},
 {"id": "all", "needs": ["b"], "run": "cat", "output": "stdout"}]}
EOF
	run -0 timeout 60 dag-run -q --prepare --run-dir prep m.json
	run -0 dag-plan --format make --run-dir prep m.json
	printf '%s\n' "$output" >Makefile
	assert_line 'all: b\[x\] b\[y\]'
	touch bx by		# what an unescaped b[x] would glob to
	run -0 timeout 60 make -s -j2 -f Makefile
	run -0 jq -c . prep/steps/all/output.json
	assert_output '{"b":["x","y"]}'
	run -0 dag-plan --format slurm --run-dir prep m.json
	assert_line --partial "job[all]=\$(submit all --dependency=afterok:\${job['b[x]']}:\${job['b[y]']})"
	printf '%s\n' "$output" | bash -n
}

@test "matrix: values that cannot be part of an id number the instances" {
	dag m.json <<'EOF'
{"steps": [{"id": "p", "matrix": {"path": ["a/b", "c"], "v": [{"k": 1}]}, "run": "echo \"$DAG_MATRIX\"", "output": "stdout"}]}
EOF
	run -0 timeout 60 dag-run -q m.json
	run -0 jq -c '.steps | keys' "$(latest)/run.json"
	assert_output '["p[0]","p[1]"]'
	run -0 jq -c . "$(latest)/steps/p[0]/output.json"
	assert_output '{"path":"a/b","v":{"k":1}}'
}

@test "matrix: bad matrices are refused with the path and the fix" {
	dag m.json <<'EOF'
{"defaults": {"matrix": {"a": [1]}}, "steps": [
 {"id": "a", "matrix": [1], "run": "true"},
 {"id": "b", "matrix": {"x": []}, "run": "true"},
 {"id": "c", "matrix": {"x": [1], "exclude": [{"x": 1}]}, "run": "true"},
 {"id": "d", "matrix": {"x": [1], "exclude": [{"y": 1}], "include": [3]}, "run": "true"},
 {"id": "e", "matrix": {}, "run": "true"},
 {"id": "f", "run": "echo {{ .matrix.x }}"},
 {"id": "g", "matrix": {"a": [1,2,3,4,5,6,7,8,9,10], "b": [1,2,3,4,5,6,7,8,9,10], "c": [1,2,3,4,5,6,7,8,9,10],
   "d": [1,2,3,4,5,6,7,8,9,10], "e": [1,2,3,4,5,6,7,8,9,10], "f": [1, 2]}, "run": "true"}]}
EOF
	run -1 dag-validate m.json
	assert_line 'm.json: defaults.matrix: not allowed in defaults (only in a step)'
	assert_line --partial 'm.json: steps[0].matrix: must be an object of lists'
	assert_line 'm.json: steps[1].matrix: "x" must be a non-empty array of values'
	assert_line 'm.json: steps[2].matrix: has no combination left: "exclude" removed them all'
	assert_line "m.json: steps[3].matrix: exclude[0]: \"y\" is not one of the matrix's lists"
	assert_line 'm.json: steps[3].matrix: include[0] must be a non-empty object of matrix values'
	assert_line --partial 'm.json: steps[4].matrix: must name at least one list'
	assert_line --partial 'm.json: steps[5].run: template {{ .matrix.x }} reads .matrix, which the context never has'
	assert_line 'm.json: steps[6].matrix: has 200000 combinations; at most 100000 are allowed'
}
