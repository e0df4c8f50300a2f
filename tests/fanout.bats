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
	run -0 bash -c "dag-status --json prep | jq -r '.steps[\"b[x]\"].status, .steps[\"b[y]\"].status'"
	assert_output $'succeeded\npending'
	run -2 dag-step -q --run-dir prep b
	assert_output --partial 'is a matrix of 2 steps'
}

@test "matrix: the make export escapes the instances' brackets and runs them" {
	dag m.json <<'EOF'
{"steps": [{"id": "b", "matrix": {"os": ["x", "y"]}, "run": "echo {{ .matrix.os }}", "output": "stdout"},
 {"id": "join", "needs": ["b"], "run": "cat", "output": "stdout"}]}
EOF
	run -0 timeout 60 dag-run -q --prepare --run-dir prep m.json
	run -0 dag-plan --format make --run-dir prep m.json
	printf '%s\n' "$output" >Makefile
	assert_line 'join: b\[x\] b\[y\]'
	touch bx by		# what an unescaped b[x] would glob to
	run -0 timeout 60 make -s -j2 -f Makefile
	run -0 jq -c . prep/steps/join/output.json
	assert_output '{"b":["x","y"]}'
	run -0 dag-plan --format slurm --run-dir prep m.json
	# The instances as one array, listed raw in a quoted here-document.
	assert_line 'b[x]'
	assert_line 'b[y]'
	assert_line "one g1 \"afterany:\${job[g0]}\" join"
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

@test "foreach over an upstream output: one instance per item, .item, DAG_ITEM, DAG_ITEM_INDEX, fan-in in item order" {
	dag f.json <<'EOF2'
{"steps": [
 {"id": "find", "run": "printf '[\"b.csv\", \"a.csv\", \"c d.csv\"]'", "output": "stdout"},
 {"id": "proc", "needs": ["find"], "foreach": ".steps.find.output",
  "run": "printf '%s|%s|%s' {{ .item }} \"$DAG_ITEM\" \"$DAG_ITEM_INDEX\"", "output": "stdout"},
 {"id": "gather", "needs": ["proc"], "run": "cat", "output": "stdout"},
 {"id": "ctx", "needs": ["proc"], "input": "{st: .steps.proc.status, ids: [.steps.proc.instances[].id], out: .steps.proc.output}", "transform": "."}]}
EOF2
	run -0 timeout 60 dag-run -q f.json
	run -0 jq -c . "$(latest)/steps/gather/output.json"
	assert_output '{"proc":["b.csv|\"b.csv\"|0","a.csv|\"a.csv\"|1","c d.csv|\"c d.csv\"|2"]}'
	run -0 jq -c . "$(latest)/steps/ctx/output.json"
	assert_output '{"st":"succeeded","ids":["proc[0]","proc[1]","proc[2]"],"out":["b.csv|\"b.csv\"|0","a.csv|\"a.csv\"|1","c d.csv|\"c d.csv\"|2"]}'
	run -0 jq -r 'select(.event == "step_expanded") | "\(.step) \(.items)"' "$(latest)/events.jsonl"
	assert_output "proc 3"
	assert_equal "$(status_of proc) $(status_of 'proc[2]')" "succeeded succeeded"
	run -0 dag-status --logs 'proc[1]'
	assert_output 'a.csv|"a.csv"|1'
}

@test "foreach over params: an object's entries keyed by their keys; foreach_key names instances; zero items skip" {
	dag f.json <<'EOF2'
{"params": {"tables": {"users": 1, "orders": 2}, "hosts": [{"name": "db1"}, {"name": "web-2"}]},
 "steps": [
 {"id": "dump", "foreach": ".params.tables", "run": "echo {{ .item.key }}={{ .item.value }}", "output": "stdout"},
 {"id": "ping", "foreach": ".params.hosts", "foreach_key": ".name", "run": "echo \"$DAG_STEP_ID\"", "output": "stdout"},
 {"id": "none", "foreach": ".params.hosts | map(select(.name == \"x\"))", "run": "echo never"},
 {"id": "after-none", "needs": ["none"], "run": "echo never"},
 {"id": "report", "needs": ["none", "dump"], "trigger": "none_failed", "run": "cat", "output": "stdout"}]}
EOF2
	run -0 timeout 60 dag-run -q f.json
	assert_equal "$(status_of 'dump[users]') $(status_of 'dump[orders]') $(status_of 'ping[db1]') $(status_of 'ping[web-2]')" \
	    "succeeded succeeded succeeded succeeded"
	run -0 jq -r '.steps.none.reason, .steps["after-none"].status' "$(latest)/run.json"
	assert_output $'no items\nskipped'
	run -0 jq -c . "$(latest)/steps/report/output.json"
	assert_output '{"dump":["users=1","orders=2"]}'
	run -0 jq -c . "$(latest)/steps/ping[web-2]/output.json"
	assert_output '"ping[web-2]"'
}

@test "foreach: trigger rules count every instance; fail_fast cancels the others" {
	dag f.json <<'EOF2'
{"on_failure": "continue", "steps": [
 {"id": "t", "foreach": "[0, 1, 2]", "run": "test {{ .item }} != 1"},
 {"id": "all", "needs": ["t"], "run": "true"},
 {"id": "alert", "needs": ["t"], "trigger": "one_failed", "run": "true"},
 {"id": "some", "needs": ["t"], "trigger": "one_success", "run": "true"},
 {"id": "none", "needs": ["t"], "trigger": "all_failed", "run": "true"},
 {"id": "ff", "foreach": "[1, 2, 3, 4, 5]", "fail_fast": true, "max_parallel": 1,
  "run": "echo {{ .item }} >> ff.log; test {{ .item }} != 2"}]}
EOF2
	run -1 timeout 60 dag-run -q f.json
	assert_equal "$(status_of 't[1]') $(status_of t) $(status_of all) $(status_of alert) $(status_of some) $(status_of none)" \
	    "failed failed upstream_failed succeeded succeeded skipped"
	assert_equal "$(paste -sd' ' ff.log)" "1 2"
	assert_equal "$(status_of 'ff[2]') $(status_of 'ff[4]')" "cancelled cancelled"
	run -0 jq -r '.steps["ff[3]"].reason' "$(latest)/run.json"
	assert_output "fail_fast: another instance failed"
	# A target on an instance aims at its step: the instances that did
	# not succeed run again, the others keep their outcome.
	run -1 timeout 60 dag-run -q --resume latest --target 't[1]'
	assert_equal "$(jq -r '[.steps["t[0]"].attempts, .steps["t[1]"].attempts] | join(" ")' "$(latest)/run.json")" "1 2"
}

@test "foreach: max_parallel bounds the instances at once, from the journal; retries and timeouts are per instance" {
	dag f.json <<'EOF2'
{"steps": [
 {"id": "mp", "foreach": "[range(8)]", "max_parallel": 2, "run": "sleep 0.1"},
 {"id": "flaky", "foreach": "[\"a\", \"b\"]", "retry": {"attempts": 3, "delay": 0},
  "run": "echo x >> {{ .item }}.n; test $(wc -l < {{ .item }}.n) -ge 2"},
 {"id": "slow", "foreach": "[0, 5]", "timeout": "1s", "allow_failure": true, "run": "sleep {{ .item }}"}]}
EOF2
	run -0 timeout 60 dag-run -q -j8 f.json
	run -0 jq -s '[.[] | select(.step != null and (.step | startswith("mp["))) | select(.event == "step_started" or .event == "step_finished")
	    | if .event == "step_started" then 1 else -1 end]
	    | reduce .[] as $d ({n: 0, max: 0}; .n += $d | .max = ([.max, .n] | max)) | .max' "$(latest)/events.jsonl"
	assert_output 2
	assert_equal "$(jq -r '.steps["flaky[0]"].attempts, .steps["flaky[1]"].attempts' "$(latest)/run.json" | paste -sd' ')" "2 2"
	assert_equal "$(status_of 'slow[0]') $(status_of 'slow[1]') $(status_of slow)" "succeeded timed_out failed"
	run -0 jq -r '.steps.slow.allowed_failure' "$(latest)/run.json"
	assert_output true
}

@test "foreach: kill -9 mid-fan-out, then --resume runs only the unfinished instances" {
	dag f.json <<'EOF2'
{"steps": [
 {"id": "list", "run": "echo '[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]'", "output": "stdout"},
 {"id": "work", "needs": ["list"], "foreach": ".steps.list.output",
  "run": "echo {{ .item }} >> ran.log; if [ {{ .item }} = d ] && [ ! -e go ]; then sleep 60; fi; echo {{ .item }}", "output": "stdout"},
 {"id": "sum", "needs": ["work"], "transform": ".work | join(\"\")"}]}
EOF2
	dag-run -q -j1 f.json 3>&- &
	pid=$!
	wait_for ran.log
	for _ in $(seq 400); do grep -q d ran.log && break; sleep 0.05; done
	kill -9 "$pid"
	wait "$pid" || true
	pkill -f 'sleep 60' || true
	assert_equal "$(paste -sd' ' ran.log)" "a b c d"
	touch go
	run -0 timeout 60 dag-run -q --resume latest
	# d, e and f ran again (side by side: in any order), a, b, c did not.
	assert_equal "$(sort ran.log | paste -sd' ')" "a b c d d e f"
	run -0 jq -c . "$(latest)/steps/sum/output.json"
	assert_output '"abcdef"'
	run -0 timeout 60 dag-run -q --resume latest --rerun 'work[4]'
	assert_equal "$(tail -n 1 ran.log)" "e"
}

@test "foreach: a changed list on resume keeps keyed instances whose items stay; index items run again" {
	dag f.json <<'EOF2'
{"params": {"list": ["a", "b", "c"]}, "on_failure": "continue", "steps": [
 {"id": "k", "foreach": ".params.list", "foreach_key": ".", "run": "echo k{{ .item }} >> ran.log; test {{ .item }} != b"},
 {"id": "i", "foreach": ".params.list", "run": "echo i{{ .item }} >> ran.log; test {{ .item }} != b"}]}
EOF2
	run -1 timeout 60 dag-run -q -j1 f.json
	rm ran.log
	run -0 timeout 60 dag-run -j1 --resume latest --params-changed -p 'list:=["c", "a", "x"]'
	assert_equal "$(grep '^k' ran.log | paste -sd' ')" "kx"
	assert_equal "$(grep '^i' ran.log | paste -sd' ')" "ic ia ix"
	assert_output --partial "i: the list of items changed: its 3 items run again"
	run -0 jq -c '.steps | keys' "$(latest)/run.json"
	assert_output '["i","i[0]","i[1]","i[2]","k","k[a]","k[c]","k[x]"]'
}

@test "foreach: bad foreach values and keys fail the step with the reason; bad documents are refused" {
	dag f.json <<'EOF2'
{"on_failure": "continue", "steps": [
 {"id": "str", "foreach": "\"abc\"", "run": "true"},
 {"id": "dup", "foreach": "[1, 1]", "foreach_key": ".", "run": "true"},
 {"id": "slash", "foreach": "[\"a/b\"]", "foreach_key": ".", "run": "true"}]}
EOF2
	run -1 timeout 60 dag-run -q f.json
	run -0 jq -r '.steps.str.reason, .steps.dup.reason, .steps.slash.reason' "$(latest)/run.json"
	assert_line --index 0 "foreach must give an array or an object, not string"
	assert_line --index 1 "foreach_key gave one key twice: 1"
	assert_line --index 2 --partial "foreach_key gave a key an id cannot hold"
	dag bad.json <<'EOF2'
{"defaults": {"foreach": "[1]"}, "steps": [
 {"id": "a", "run": "true"},
 {"id": "b", "foreach": "[1]", "matrix": {"x": [1]}, "run": "true"},
 {"id": "c", "foreach_key": ".", "run": "true"},
 {"id": "d", "max_parallel": 2, "run": "true"},
 {"id": "e", "foreach": ".steps.a.output", "run": "true"},
 {"id": "f", "foreach": ".item", "run": "echo {{ .item }}"}]}
EOF2
	run -1 dag-validate bad.json
	assert_line 'bad.json: defaults.foreach: not allowed in defaults (only in a step)'
	assert_line 'bad.json: steps[1]: has both "matrix" and "foreach": keep one'
	assert_line 'bad.json: steps[2]: has "foreach_key" but no "foreach"'
	assert_line --partial 'bad.json: steps[3]: has "max_parallel", which is for the instances'
	assert_line 'bad.json: steps[4].foreach: refers to .steps.a, which is not an ancestor of "e" (add it to needs)'
	assert_line 'bad.json: steps[5].foreach: reads .item, which the context never has (it has .params, .run, .step and .steps)'
}

@test "foreach: dag-status groups the instances, --json and --html show each; dag-plan shows one node; dag-step runs one" {
	dag f.json <<'EOF2'
{"on_failure": "continue", "steps": [
 {"id": "list", "run": "echo '[\"x\", \"y\", \"z\"]'", "output": "stdout"},
 {"id": "each", "needs": ["list"], "foreach": ".steps.list.output", "foreach_key": ".",
  "run": "echo on {{ .item }}; test {{ .item }} != y"},
 {"id": "end", "needs": ["each"], "trigger": "all_done", "run": "true"}]}
EOF2
	run -0 dag-plan --format text f.json
	assert_line --regexp '^  each\[\*\] +est '
	run -0 dag-plan --format dot f.json
	assert_line --partial '"each" [label="each[*]"'
	run -1 timeout 60 dag-run -q f.json
	run -1 dag-status
	assert_line --regexp '^each +failed '
	assert_line --regexp '^each\[\*\] +2/3 ok, 1 failed$'
	refute_line --regexp '^each\[x\]'
	run -1 dag-status --json
	assert_equal "$(jq -r '.steps["each[y]"].status' <<<"$output")" failed
	run -1 dag-status --html report.html
	assert_file_contains report.html 'each\[z\]'
	run -0 dag-status --logs 'each[z]'
	assert_output "on z"
	run -1 dag-status --gantt
	assert_line --regexp '^each\[y\] +\|'
	# The completion offers the instances of the run.
	run -0 bash -c 'source "$1"; COMP_WORDS=(dag-status --logs "each["); COMP_CWORD=2
	    spec=$(complete -p dag-status); fn=${spec##*-F }; fn=${fn%% *}
	    "$fn" dag-status "each[" --logs; printf "%s\n" "${COMPREPLY[@]}"' bash "$TOP/share/completion/dagkit.bash"
	assert_output $'each[x]\neach[y]\neach[z]'
	# An event stream grows as the instances come.
	run -1 bash -c 'dag-run -q --events f.json | dag-status -'
	assert_line --regexp '^\[1/3\] ok list '
	assert_line --regexp '^\[6/6\] ok end '
	assert_line --regexp '^\[[2-4]/6\] FAILED each\[y\] '
	assert_line --regexp '^dag-status: run .* failed$'
	# dag-step on one instance, in a run prepared for make: the foreach
	# step's target expands it, then one instance runs again alone.
	run -0 timeout 60 dag-run -q --prepare --run-dir prep f.json
	run -0 dag-plan --format make --run-dir prep f.json
	printf '%s\n' "$output" >Makefile
	run -0 timeout 60 make -s -j2 -f Makefile list each
	run -0 bash -c "dag-status --json prep | jq -r '.steps[\"each[x]\"].status, .steps[\"each[y]\"].status, .steps.each.status'"
	assert_output $'succeeded\nfailed\nfailed'
	run -0 timeout 60 dag-step -q --run-dir prep 'each[x]'
	run -0 jq -r '.steps["each[x]"].attempts' prep/run.json
	assert_output 2
	assert_equal "$(cat 'prep/steps/each[x]/2.stdout')" "on x"
}

@test "foreach: each instance is cached on its own; a changed file runs only its instance" {
	mkdir -p src
	for f in a b c; do echo "$f" > "src/$f.txt"; done
	dag c.json <<'EOF2'
{"steps": [
 {"id": "find", "run": "ls src | jq -R . | jq -cs .", "output": "stdout"},
 {"id": "up", "needs": ["find"], "foreach": ".steps.find.output", "foreach_key": ".",
  "inputs": ["src/{{ .item }}"], "outputs": ["out/{{ .item }}"],
  "run": "mkdir -p out && tr a-z A-Z < src/{{ .item }} > out/{{ .item }}; echo {{ .item }} >> ran.log"},
 {"id": "all", "needs": ["up"], "run": "cat out/* > all.txt", "inputs": ["out"], "outputs": ["all.txt"]}]}
EOF2
	run -0 timeout 60 dag-run -q c.json
	assert_equal "$(sort ran.log | paste -sd' ')" "a.txt b.txt c.txt"
	rm ran.log
	run -0 timeout 60 dag-run -q c.json
	assert_file_not_exists ran.log
	assert_equal "$(jq -r '[.steps[] | .status] | join(" ")' "$(latest)/run.json")" \
	    "succeeded succeeded cached cached cached cached"
	echo x > src/b.txt
	run -0 timeout 60 dag-run -q --explain c.json
	assert_equal "$(cat ran.log)" "b.txt"
	assert_line 'up[b.txt]: runs: input src/b.txt changed'
	assert_line 'up[a.txt]: up to date'
	assert_equal "$(paste -sd' ' all.txt)" "A X C"
}

@test "foreach: its trigger decides once, for all instances; a stop before it expands ends it, and finally runs" {
	dag of.json <<'EOF2'
{"steps": [{"id": "bad", "run": "exit 1"},
 {"id": "alert", "needs": ["bad"], "trigger": "one_failed", "foreach": "[\"mail\", \"page\"]", "run": "echo ALERT"}]}
EOF2
	run -1 timeout 60 dag-run -q of.json
	assert_equal "$(status_of 'alert[0]') $(status_of 'alert[1]') $(status_of alert)" "succeeded succeeded succeeded"
	# The list comes after bad failed the run (on_failure stop): the
	# instances never start, the step ends, finally still runs.
	dag stop.json <<'EOF2'
{"steps": [{"id": "bad", "run": "exit 1"},
 {"id": "fe", "foreach": "last(range(3000000)) as $x | [1, 2]", "run": "true"},
 {"id": "fin", "run": "echo FIN"}], "finally": ["fin"]}
EOF2
	run -1 timeout 60 dag-run -q -j2 stop.json
	assert_equal "$(status_of fe) $(status_of fin) $(jq -r .status "$(latest)/run.json")" "cancelled succeeded failed"
	run -0 jq -r '.steps.fe.reason' "$(latest)/run.json"
	assert_output "an instance was cancelled or did not start"
}

@test "foreach: a dropped instance stays out of --rerun, targets and the report; a skipped instance names itself" {
	dag d.json <<'EOF2'
{"params": {"items": ["a", "b"]}, "steps": [
 {"id": "fe", "foreach": ".params.items", "foreach_key": ".", "when": ".item != \"c\"", "run": "true"},
 {"id": "after", "needs": ["fe"], "run": "true"}]}
EOF2
	run -0 timeout 60 dag-run -q --run-id R d.json
	run -0 timeout 60 dag-run -q --resume R --params-changed -p 'items:=["a"]' --rerun fe
	run -0 timeout 60 dag-run -q --resume R --rerun fe --downstream
	run -0 jq -r '.status, (.steps | keys | join(" "))' "$(latest)/run.json"
	assert_output $'succeeded\nafter fe fe[a]'
	run -2 dag-run -q --resume R --rerun 'fe[b]'
	assert_output --partial "--rerun fe[b]: no such step"
	run -0 dag-status --html r.html R
	run ! grep -q 'fe\[b\]' r.html
	run -2 dag-status --logs fe R
	assert_output --partial '"fe" is a foreach of 1 steps: name one, such as "fe[a]"'
	run -0 timeout 60 dag-run -q --resume R --params-changed -p 'items:=["a", "c"]' --rerun fe --downstream
	assert_equal "$(status_of 'fe[c]') $(status_of after)" "skipped skipped"
	run -0 jq -r '.steps.after.reason' "$(latest)/run.json"
	assert_output "an instance of a need was skipped"
}

@test "foreach under an external driver: --finish closes the run, dag-step on instances ends the step again" {
	dag e.json <<'EOF2'
{"steps": [{"id": "fe", "foreach": "[\"a\", \"b\", \"c\"]", "foreach_key": ".", "run": "test {{ .item }} != b || test -e fixed"},
 {"id": "z", "needs": ["fe"], "run": "true"}]}
EOF2
	run -0 timeout 60 dag-run -q --prepare --run-dir rd e.json
	run -1 timeout 60 dag-step -q --run-dir rd fe
	run -0 timeout 60 dag-step -q --run-dir rd --finish
	run -1 dag-status --run-dir rd
	assert_equal "$(jq -r '[.status, .steps["fe[c]"].status] | join(" ")' rd/run.json)" "failed cancelled"
	run -0 dag-step -n --run-dir rd 'fe[b]'
	assert_output --partial 'fe[b]'
	touch fixed
	run -0 timeout 60 dag-step -q --run-dir rd 'fe[b]'
	assert_equal "$(jq -r .steps.fe.status rd/run.json)" cancelled
	run -0 timeout 60 dag-step -q --run-dir rd 'fe[c]'
	assert_equal "$(jq -r .steps.fe.status rd/run.json)" succeeded
	run -0 timeout 60 dag-step -q --run-dir rd z
	run -0 dag-status --run-dir rd
}

@test "matrix: an edited DAG that adds a combination runs it and its dependents again; values make and ids cannot hold" {
	dag ed.json <<'EOF2'
{"name": "ed", "steps": [{"id": "m", "matrix": {"x": ["a", "b"]}, "run": "echo \"$DAG_MATRIX\"", "output": "stdout"},
 {"id": "z", "needs": ["m"], "run": "cat", "output": "stdout"}]}
EOF2
	run -0 timeout 60 dag-run -q --run-id E ed.json
	sed 's/\["a", "b"\]/["a", "b", "c"]/' ed.json > ed2.json
	run -0 timeout 60 dag-run -q --resume E ed2.json
	run -0 jq -c . "$DAG_RUNS/E/steps/z/output.json"
	assert_output '{"m":[{"x":"a"},{"x":"b"},{"x":"c"}]}'
	dag colon.json <<'EOF2'
{"steps": [{"id": "m", "matrix": {"v": ["a:b", "c=d"]}, "run": "true"}]}
EOF2
	run -0 jq -c '.plan.order' <(dag-plan colon.json)
	assert_output '["m[0]","m[1]"]'
}
