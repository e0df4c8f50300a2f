#!/usr/bin/env bats
# Incremental runs: steps with inputs/outputs (or "cache": true) are skipped
# as "cached" while their key (definition after templates, input JSON, input
# files' content) and their outputs are those of their last success.  What
# ran is counted from a log the steps append to, and from the journal.

load test_helper

latest() { echo "$DAG_RUNS/latest"; }
status_of() { jq -r --arg id "$1" '.steps[$id].status' "$(latest)/run.json"; }
ran() { grep -c "^$1\$" log || true; }
events() { jq -r --arg e "$1" 'select(.event == $e) | .step' "$(latest)/events.jsonl" | sort | tr '\n' ' '; }

# compile <- src/*.c; parse <- data.txt (output: its line count);
# summarize: a pure function of parse's output ("cache": true); deploy:
# never cached.
pipeline() {
	mkdir -p src build
	printf 'int a;\n' > src/a.c
	printf 'int b;\n' > src/b.c
	printf 'x\ny\n' > data.txt
	dag wf.json <<'EOF'
{"name": "pipe", "params": {"flag": "on"}, "steps": [
 {"id": "compile", "run": "cat src/a.c src/b.c > build/app.o; echo compile >> log",
  "inputs": ["src/*.c"], "outputs": ["build/app.o"]},
 {"id": "parse", "run": "echo parse >> log; echo \"{\\\"lines\\\": $(wc -l < data.txt)}\" > $DAG_OUTPUT",
  "inputs": ["data.txt"]},
 {"id": "summarize", "needs": ["parse"], "cache": true,
  "run": "echo summarize >> log; cat $DAG_INPUT > summary.json; cat $DAG_INPUT > $DAG_OUTPUT",
  "outputs": ["summary.json"]},
 {"id": "package", "needs": ["compile", "summarize"], "env": {"MODE": "fast"},
  "run": "echo package >> log; cat build/app.o > build/pkg; echo {{ .params.flag }} >> build/pkg",
  "inputs": ["build/app.o"], "outputs": ["build/pkg"]},
 {"id": "deploy", "needs": ["package"], "run": "echo deploy >> log"}]}
EOF
}

@test "a second run with nothing changed starts no cached step: cached in the journal, run.json, dag-status and progress" {
	pipeline
	run -0 timeout 60 dag-run -q wf.json
	assert_equal "$(wc -l < log)" 5
	: > log
	run -0 --separate-stderr timeout 60 dag-run wf.json
	assert_equal "$(cat log)" deploy
	assert_equal "$(events step_cached)" "compile package parse summarize "
	assert_equal "$(events step_started)" "deploy "
	assert_equal "$(status_of package)" cached
	assert_equal "$(jq -r .status "$(latest)/run.json")" succeeded
	assert_equal "$(jq -c .counts "$(latest)/run.json")" '{"succeeded":1,"cached":4}'
	[[ "$stderr" == *"cached compile"* ]]
	run -0 dag-status latest
	assert_output --regexp 'package +cached'
	# The dependent of a cached step got its recorded output, byte for byte.
	assert_equal "$(jq -c . summary.json)" '{"parse":{"lines":2}}'
	assert_equal "$(cat "$(latest)/steps/parse/output.json")" '{"lines": 2}'
}

@test "one input byte changed: that step and the dependents whose input changed run; one whose input JSON is the same stays cached" {
	pipeline
	run -0 timeout 60 dag-run -q wf.json
	# Same line count: parse runs, makes the same output, summarize stays.
	: > log
	printf 'x\nz\n' > data.txt
	run -0 timeout 60 dag-run -q wf.json
	assert_equal "$(sort log | tr '\n' ' ')" "deploy parse "
	assert_equal "$(status_of summarize)" cached
	# A byte of a source: compile, then package (its input file changed).
	: > log
	printf 'int a2;\n' > src/a.c
	run -0 timeout 60 dag-run -q wf.json
	assert_equal "$(sort log | tr '\n' ' ')" "compile deploy package "
	assert_equal "$(status_of parse)" cached
	assert_equal "$(head -c 8 build/pkg)" "int a2;"
}

@test "touch without a change runs nothing again; a deleted or edited output runs its step" {
	pipeline
	run -0 timeout 60 dag-run -q wf.json
	sleep 0.2
	touch src/a.c src/b.c data.txt build/app.o build/pkg
	: > log
	run -0 timeout 60 dag-run -q wf.json
	assert_equal "$(cat log)" deploy
	rm build/pkg
	: > log
	run -0 timeout 60 dag-run -q wf.json
	assert_equal "$(sort log | tr '\n' ' ')" "deploy package "
	echo tampered > summary.json
	: > log
	run -0 timeout 60 dag-run -q wf.json
	assert_equal "$(sort log | tr '\n' ' ')" "deploy summarize "
	assert_equal "$(jq -c . summary.json)" '{"parse":{"lines":2}}'
}

@test "--explain: one line per step with the reason it runs or up to date" {
	pipeline
	run -0 --separate-stderr timeout 60 dag-run -q --explain wf.json
	assert_equal "$(grep -c 'runs: no earlier run' <<< "$stderr")" 4
	[[ "$stderr" == *"deploy: runs: no inputs or outputs declared"* ]]
	printf 'int a3;\n' > src/a.c
	printf 'x\ny\nz\n' > data.txt
	run -0 --separate-stderr timeout 60 dag-run -q --explain wf.json
	[[ "$stderr" == *"compile: runs: input src/a.c changed"* ]]
	[[ "$stderr" == *"parse: runs: input data.txt changed"* ]]
	[[ "$stderr" == *"summarize: runs: need parse produced different output"* ]]
	[[ "$stderr" == *"package: runs: need summarize produced different output"* ]]
	run -0 --separate-stderr timeout 60 dag-run -q --explain -p flag=off wf.json
	[[ "$stderr" == *"package: runs: command changed"* ]]
	[[ "$stderr" == *"compile: up to date"* ]]
	sed -i 's/"MODE": "fast"/"MODE": "slow"/' wf.json
	run -0 --separate-stderr timeout 60 dag-run -q --explain -p flag=off wf.json
	[[ "$stderr" == *"package: runs: env changed"* ]]
	rm build/app.o
	run -0 --separate-stderr timeout 60 dag-run -q --explain -p flag=off wf.json
	[[ "$stderr" == *"compile: runs: output build/app.o missing"* ]]
	# -n --explain decides without running anything.
	printf 'int a4;\n' > src/a.c
	: > log
	run -0 --separate-stderr timeout 60 dag-run -n --explain -p flag=off wf.json
	[[ "$stderr" == *"compile: runs: input src/a.c changed"* ]]
	[[ "$stderr" == *"parse: up to date"* ]]
	[[ "$stderr" == *"summarize: up to date"* ]]
	[[ "$stderr" == *"package: runs: need compile runs first"* ]]
	assert_equal "$(cut -f1 <<< "$output" | tr '\n' ' ')" "compile package deploy "
	assert_file_not_exist log-x
	assert_equal "$(cat log)" ""
}

@test "--force runs every step; --force=STEP runs that one, and its dependents only if their key changed" {
	pipeline
	run -0 timeout 60 dag-run -q wf.json
	: > log
	run -0 timeout 60 dag-run -q --force wf.json
	assert_equal "$(wc -l < log)" 5
	: > log
	run -0 --separate-stderr timeout 60 dag-run -q --explain --force=compile wf.json
	assert_equal "$(sort log | tr '\n' ' ')" "compile deploy "
	[[ "$stderr" == *"compile: runs: forced (--force)"* ]]
	run -2 --separate-stderr dag-run -q --force=nosuch wf.json
	assert_equal "$stderr" "dag-run: --force=nosuch: no such step"
}

@test "--resume RUN --rerun STEP --downstream: the step and all it reaches run again, the rest keep their outcome, the journal says who asked" {
	pipeline
	run -0 timeout 60 dag-run -q wf.json
	: > log
	run -0 timeout 60 dag-run -q --resume latest --rerun summarize
	assert_equal "$(cat log)" summarize
	run -0 timeout 60 dag-run -n --resume latest --rerun summarize --downstream
	assert_equal "$(cut -f1 <<< "$output" | tr '\n' ' ')" "summarize package deploy "
	assert_equal "$(cat log)" summarize
	: > log
	run -0 timeout 60 dag-run -q --resume latest --rerun summarize --downstream
	assert_equal "$(sort log | tr '\n' ' ')" "deploy package summarize "
	assert_equal "$(status_of compile)" succeeded
	assert_equal "$(jq -r .status "$(latest)/run.json")" succeeded
	run -0 jq -r 'select(.event == "step_reset") | [.step, .reason, .user, (.by | type)] | join(" ")' "$(latest)/events.jsonl"
	assert_line "summarize --rerun $(id -un) number"
	assert_line "package --rerun --downstream $(id -un) number"
	run -2 --separate-stderr dag-run -q --resume latest --rerun nosuch
	[[ "$stderr" == *"--rerun nosuch: no such step"* ]]
	run -2 dag-run -q --downstream wf.json
}

@test "--resume RUN FILE: the edited step runs with its descendants, unchanged successes are kept, removed steps dropped, dag.json kept as dag.1.json" {
	dag v1.json <<'EOF'
{"name": "edit", "on_failure": "continue", "steps": [
 {"id": "a", "run": "echo a >> log"},
 {"id": "b", "needs": ["a"], "run": "echo b >> log; exit 3"},
 {"id": "c", "needs": ["b"], "run": "echo c >> log"},
 {"id": "d", "needs": ["a"], "run": "echo d >> log"},
 {"id": "gone", "run": "echo gone >> log"}]}
EOF
	run -1 timeout 60 dag-run -q v1.json
	sed -e 's/exit 3/exit 0/' -e '/"gone"/d' -e 's/"echo d >> log"}\]/"echo d >> log"}/' v1.json > v2.json
	sed -i 's/"echo d >> log"},/"echo d >> log"}]}/' v2.json
	jq -e . v2.json > /dev/null
	# Not a valid DAG: refused, nothing changed.
	echo '{"name": "edit", "steps": [{"id": "a"}]}' > bad.json
	run -2 timeout 60 dag-run -q --resume latest bad.json
	assert_file_not_exist "$(latest)/dag.1.json"
	# -n shows what would run and changes nothing.
	run -0 --separate-stderr timeout 60 dag-run -n --resume latest v2.json
	assert_equal "$(cut -f1 <<< "$output" | tr '\n' ' ')" "b c "
	assert_file_not_exist "$(latest)/dag.1.json"
	assert_equal "$(jq -r '.steps | keys | join(" ")' "$(latest)/dag.json" | wc -c)" 10
	: > log
	run -0 --separate-stderr timeout 60 dag-run --resume latest v2.json
	assert_equal "$(sort log | tr '\n' ' ')" "b c "
	[[ "$stderr" == *"1 step changed, 0 new, 2 reset, 1 removed"* ]]
	assert_file_exist "$(latest)/dag.1.json"
	assert_equal "$(jq -r '.steps | map(.id) | join(" ")' "$(latest)/dag.json")" "a b c d"
	assert_equal "$(jq -r .status "$(latest)/run.json")" succeeded
	assert_equal "$(jq -r '.steps | keys | join(" ")' "$(latest)/run.json")" "a b c d"
	assert_equal "$(events step_removed)" "gone "
	# Another DAG's file is refused.
	sed 's/"edit"/"other"/' v2.json > other.json
	run -2 --separate-stderr dag-run -q --resume latest other.json
	[[ "$stderr" == *'the run is of DAG "edit", the file is "other"'* ]]
}

@test "a transform with \"cache\": true is cached on its params and needs' outputs" {
	dag t.json <<'EOF'
{"name": "tr", "params": {"k": 1}, "steps": [
 {"id": "src", "run": "echo src >> log; echo '{\"n\": 5}' > $DAG_OUTPUT", "inputs": ["in.txt"]},
 {"id": "double", "needs": ["src"], "cache": true, "transform": "{n: (.src.n * 2), k: $__loc__.line}"},
 {"id": "use", "needs": ["double"], "run": "cat $DAG_INPUT > use.json"}]}
EOF
	sed -i 's/\$__loc__.line/1/' t.json
	echo 1 > in.txt
	run -0 timeout 60 dag-run -q t.json
	run -0 timeout 60 dag-run -q t.json
	assert_equal "$(status_of double)" cached
	assert_equal "$(jq -c . use.json)" '{"double":{"n":10,"k":1}}'
	run -0 timeout 60 dag-run -q -p k=2 t.json
	assert_equal "$(status_of double)" succeeded
}

@test "dag-validate checks inputs, outputs and cache; dag-plan shows them" {
	echo '{"steps": [{"id": "a", "run": "true", "inputs": "x"}]}' > a.json
	run -1 --separate-stderr dag-validate a.json
	assert_equal "$stderr" "a.json: steps[0].inputs: must be an array of paths, not a string"
	echo '{"steps": [{"id": "a", "run": "true", "outputs": ["out/*.o"]}]}' > b.json
	run -1 --separate-stderr dag-validate b.json
	[[ "$stderr" == *'steps[0].outputs[0]: "out/*.o" is a glob'* ]]
	echo '{"steps": [{"id": "a", "run": "true", "inputs": [""], "cache": 1}]}' > c.json
	run -1 --separate-stderr dag-validate c.json
	[[ "$stderr" == *"steps[0].inputs[0]: empty path"* ]]
	[[ "$stderr" == *"steps[0].cache: must be a boolean, not a number"* ]]
	echo '{"steps": [{"id": "a", "transform": ".", "inputs": ["{{ .params.x }}"]}]}' > d.json
	run -1 --separate-stderr dag-validate d.json
	[[ "$stderr" == *"a transform's files cannot have templates"* ]]
	echo '{"defaults": {"inputs": ["common.h"]}, "steps": [{"id": "a", "run": "true", "outputs": ["a.o"]}]}' > e.json
	run -0 dag-plan e.json
	assert_equal "$(jq -c '.steps[0] | [.inputs, .outputs]' <<< "$output")" '[["common.h"],["a.o"]]'
}

@test "templates in inputs and outputs are rendered; a glob that matches nothing yet is no error" {
	mkdir -p data
	echo 1 > data/x.csv
	dag g.json <<'EOF'
{"name": "g", "params": {"dir": "data"}, "steps": [
 {"id": "a", "run": "echo a >> log; cat {{ .params.dir }}/*.csv > out.txt",
  "inputs": ["{{ .params.dir }}/*.csv", "later/*.txt"], "outputs": ["out.txt"]}]}
EOF
	run -0 timeout 60 dag-run -q g.json
	run -0 timeout 60 dag-run -q g.json
	assert_equal "$(ran a)" 1
	echo 2 > data/y.csv
	run -0 --separate-stderr timeout 60 dag-run -q --explain g.json
	[[ "$stderr" == *"a: runs: input data/y.csv is new"* ]]
	mkdir later && echo t > later/t.txt
	run -0 --separate-stderr timeout 60 dag-run -q --explain g.json
	[[ "$stderr" == *"a: runs: input later/t.txt is new"* ]]
	assert_equal "$(ran a)" 3
}

@test "kill -9 while steps record their success, 20 times: no step is ever cached with a wrong output" {
	for i in $(seq 30); do
		echo "{\"id\": \"s$i\", \"run\": \"cat in.txt > o$i.txt; cp in.txt \$DAG_OUTPUT\", \"inputs\": [\"in.txt\"], \"outputs\": [\"o$i.txt\"]}"
	done | jq -s '{name: "k9", steps: .}' > k.json
	for round in $(seq 20); do
		echo "\"round $round\"" > in.txt
		# dag-run itself, not a timeout around it: killing timeout
		# -9 left dag-run running beside the next run (and moving
		# latest), which valgrind's pace made visible.
		dag-run -q -j2 k.json 3>&- &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# What is left must never pass for this round's result.
		run -0 --separate-stderr timeout 60 dag-run -q -j2 k.json
		assert_equal "$stderr" ""
		for i in 1 17 30; do
			assert_equal "$(cat o$i.txt)" "\"round $round\""
			assert_equal "$(cat "$(latest)/steps/s$i/output.json")" "\"round $round\""
		done
	done
	run -0 timeout 60 dag-run -q k.json
	assert_equal "$(events step_started)" ""
}

@test "two dag-runs on one runs directory at once: both succeed, the cache stays readable, a third run is all cached" {
	for i in $(seq 40); do
		echo "{\"id\": \"s$i\", \"run\": \"echo $i > o$i.txt\", \"outputs\": [\"o$i.txt\"]}"
	done | jq -s '{name: "two", steps: .}' > two.json
	timeout 60 dag-run -q -j2 two.json 3>&- &
	p1=$!
	timeout 60 dag-run -q -j2 two.json 3>&- &
	p2=$!
	wait "$p1"
	wait "$p2"
	run -0 --separate-stderr timeout 60 dag-run -j2 two.json
	assert_equal "$(events step_cached | wc -w)" 40
	[[ "$stderr" != *warning* ]]
}

@test "a directory output is hashed as a tree; a FIFO input is not opened; the same DAG run from another directory does not share up-to-date steps" {
	mkdir -p in proj2
	echo 1 > in/x
	mkfifo pipe
	dag d.json <<'EOF2'
{"name": "tree", "steps": [
 {"id": "a", "run": "mkdir -p dist/sub; cp in/* dist/sub/; echo a >> log", "inputs": ["in", "pipe"], "outputs": ["dist"]},
 {"id": "b", "run": "echo b >> log", "inputs": ["in"]}]}
EOF2
	run -0 timeout 60 dag-run -q d.json
	run -0 timeout 60 dag-run -q d.json
	assert_equal "$(ran a)" 1
	echo 2 > dist/sub/x
	run -0 --separate-stderr timeout 60 dag-run -q --explain d.json
	[[ "$stderr" == *"a: runs: output dist changed"* ]]
	assert_equal "$(cat dist/sub/x)" 1
	# Another checkout with the same files, the same runs directory.
	cp -r in d.json proj2/
	cd proj2
	run -0 --separate-stderr timeout 60 dag-run -q --explain d.json
	[[ "$stderr" == *"b: runs: definition changed"* ]]
	assert_equal "$(sort log | tr "\n" " ")" "a b "
}

@test "what the key cannot see is not cached: a transform's input expression, a command reading \$DAG_RUN_ID; defaults' check, max_output, modes and empty directories are in the key" {
	mkdir -p src
	echo a > src/a
	printf '#!/bin/sh\necho hi\n' > tool.sh
	chmod +x tool.sh
	dag k.json <<'EOF2'
{"name": "keys", "defaults": {"check": ". == 1"}, "steps": [
 {"id": "one", "run": "echo 1", "output": "stdout", "cache": true},
 {"id": "t", "needs": ["one"], "input": "{id: .run.id}", "transform": ".id", "cache": true, "check": "true"},
 {"id": "rid", "run": "echo $DAG_RUN_ID > rid.txt", "outputs": ["rid.txt"], "check": "true"},
 {"id": "ls", "run": "ls -R src > ls.txt", "inputs": ["src"], "outputs": ["ls.txt"], "check": "true"},
 {"id": "tool", "run": "./tool.sh > tool.txt", "inputs": ["tool.sh"], "outputs": ["tool.txt"], "check": "true"}]}
EOF2
	run -0 timeout 60 dag-run -q k.json
	run -0 --separate-stderr timeout 60 dag-run -q --explain k.json
	[[ "$stderr" == *"t: runs: not cached: a transform's input expression is evaluated as it runs"* ]]
	[[ "$stderr" == *'rid: runs: not cached: its command reads $DAG_RUN_ID'* ]]
	[[ "$stderr" == *"one: up to date"* ]]
	assert_equal "$(jq -r . "$(latest)/steps/t/output.json")" "$(basename "$(readlink -f "$(latest)")")"
	sed -i 's/"check": ". == 1"/"check": ". == 2"/' k.json
	run -1 --separate-stderr timeout 60 dag-run -q --explain k.json
	[[ "$stderr" == *"one: runs: definition changed"* ]]
	sed -i 's/"check": ". == 2"/"check": ". == 1"/; s/"cache": true}/"cache": true, "max_output": 1}/' k.json
	run -1 --separate-stderr timeout 60 dag-run -q --explain k.json
	[[ "$stderr" == *"one: runs: definition changed"* ]]
	sed -i 's/, "max_output": 1}/}/' k.json
	run -0 timeout 60 dag-run -q k.json
	mkdir src/empty
	chmod -x tool.sh
	# -k: tool's failure must not stop the run before ls is decided.
	run -1 --separate-stderr timeout 60 dag-run -q -k --explain k.json
	[[ "$stderr" == *"ls: runs: input src/empty/ is new"* ]]
	[[ "$stderr" == *"tool: runs: key changed"* || "$stderr" == *"tool: runs: input tool.sh"* ]]
	assert_equal "$(status_of tool)" failed
	grep -q empty ls.txt
}

@test "an input changed while its step ran: the success is not recorded; a damaged stored output is replaced; symlink loops in an input directory end" {
	echo 1 > in
	mkdir -p loopd
	echo hi > loopd/f
	ln -s . loopd/l1
	ln -s . loopd/l2
	dag r.json <<'EOF2'
{"name": "race", "steps": [
 {"id": "a", "run": "cat in > out; touch started; while [ ! -e go ]; do sleep 0.05; done",
  "inputs": ["in", "loopd"], "outputs": ["out"]},
 {"id": "b", "run": "echo \\\"b\\\" > b.json; cp b.json $DAG_OUTPUT", "outputs": ["b.json"]}]}
EOF2
	timeout --foreground 60 dag-run -q r.json 3>&- &
	pid=$!
	wait_for started
	echo 2 > in
	touch go
	wait "$pid"
	# Recorded, it would pair in=1 (as a began) with out=2.
	echo 1 > in
	run -0 --separate-stderr timeout 60 dag-run -q --explain r.json
	[[ "$stderr" == *"a: runs: no earlier run"* ]]
	assert_equal "$(cat out)" 1
	[[ "$stderr" == *"b: up to date"* ]]
	for f in "$DAG_RUNS"/.cache/*/o/*; do echo '"evil"' > "$f"; done
	run -0 --separate-stderr timeout 60 dag-run -q --explain r.json
	[[ "$stderr" == *"b: runs: its cached output is lost or damaged"* ]]
	run -0 --separate-stderr timeout 60 dag-run -q --explain r.json
	[[ "$stderr" == *"b: up to date"* ]]
	assert_equal "$(jq -r . "$(latest)/steps/b/output.json")" b
}

@test "the log is compacted by the run that makes a third of it stale, not left for the next" {
	python3 -c '
import json
json.dump({"name": "many", "steps": [{"id": "t%d" % i, "transform": str(i),
    "cache": True} for i in range(1200)]}, open("m.json", "w"))'
	# 1,200 jq transforms a run: half a minute each under valgrind.
	t=${DAGKIT_SLOW:+300}
	t=${t:-60}
	run -0 timeout "$t" dag-run -q m.json
	log=$(ls "$DAG_RUNS"/.cache/many-*/log)
	assert_equal "$(grep -c . "$log")" 1200
	# --force records every step again: 2,400 lines, half stale, so this
	# run rewrites the log as it ends.
	run -0 timeout "$t" dag-run -q --force m.json
	assert_equal "$(grep -c . "$log")" 1200
	run -0 --separate-stderr timeout "$t" dag-run -q --explain m.json
	assert_equal "$(grep -c ': up to date' <<<"$stderr")" 1200
}

@test "-n writes nothing: no cache made, none compacted; empty --force= and --rerun are usage errors" {
	echo '{"name": "dry", "steps": [{"id": "a", "run": "echo a > a.txt", "outputs": ["a.txt"]}]}' > d.json
	run -0 --separate-stderr dag-run -n --explain d.json
	[[ "$stderr" == *"a: runs: no cache"* ]]
	assert_file_not_exist "$DAG_RUNS/.cache"
	run -2 --separate-stderr dag-run --force= d.json
	assert_equal "$stderr" "dag-run: --force=: give step ids (id,id,...)"
	run -0 timeout 60 dag-run -q d.json
	run -2 dag-run --resume latest --rerun ,
}
