#!/usr/bin/env bats
# dag-run --prepare, dag-step on a prepared run, and the make export.

load test_helper

mixed() {
	dag wf.json <<'EOF2'
{"name": "mk", "steps": [{"id": "a", "run": "echo '{\"x\": 1}' > \"$DAG_OUTPUT\""},
 {"id": "b", "needs": ["a"], "run": "sleep 0.3; exit 1"},
 {"id": "c", "needs": ["a"], "output": "stdout", "run": "sleep 0.3; jq .a.x"},
 {"id": "d", "needs": ["b"], "run": "touch d.ran"},
 {"id": "e", "needs": ["b", "c"], "trigger": "all_done", "run": "cat > e.in"}]}
EOF2
}

@test "--prepare makes a run directory with every step pending and starts nothing" {
	mixed
	run -0 --separate-stderr timeout 30 dag-run --prepare wf.json
	dir=$output
	assert_file_exists "$dir/dag.json"
	assert_equal "$(jq -r '[.status, .external, .counts.pending] | @tsv' "$dir/run.json")" $'running\ttrue\t5'
	assert_file_not_exists d.ran
	run -5 dag-status "$dir"
}

@test "make -j4 runs a prepared run through dag-step; trigger rules hold; make's status is the run's" {
	mixed
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -0 dag-plan --format make --run-dir "$dir"
	echo "$output" > run.mk
	run -2 timeout 60 make -j4 -f run.mk
	assert_file_not_exists d.ran
	assert_equal "$(cat e.in)" '{"c":1}'
	run -1 dag-status "$dir"
	assert_equal "$(jq -r '.steps | [.a, .b, .c, .d, .e] | map(.status) | join(" ")' "$dir/run.json")" \
	    "succeeded failed succeeded upstream_failed succeeded"
	assert_equal "$(jq -r .status "$dir/run.json")" failed
	# The journal has the run's end, written by the dag-step --finish of "all".
	assert_equal "$(tail -1 "$dir/events.jsonl" | jq -r .event)" run_finished
}

@test "make export of a run that succeeds: make exits 0" {
	echo '{"steps": [{"id": "a", "run": "true"}, {"id": "b", "needs": ["a"], "run": "true"}]}' > ok.json
	dir=$(timeout 30 dag-run --prepare ok.json)
	dag-plan --format make --run-dir "$dir" > run.mk
	run -0 timeout 60 make -s -j4 -f run.mk
	run -0 dag-status "$dir"
}

@test "a failed step run again until it succeeds: the run is recorded succeeded, and make agrees" {
	echo '{"steps": [{"id": "a", "run": "test -e flag"}, {"id": "b", "run": "true"}]}' > fx.json
	dir=$(timeout 30 dag-run --prepare fx.json)
	run -0 timeout 30 dag-step -q --run-dir "$dir" b
	run -1 timeout 30 dag-step -q --run-dir "$dir" a
	run -1 dag-status "$dir"
	assert_equal "$(dag-status --json "$dir" | jq -r .status)" failed
	touch flag
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	assert_equal "$(dag-status --json "$dir" | jq -r '[.status, .steps.a.attempts] | @tsv')" $'succeeded\t2'
	run -0 dag-status "$dir"
	# The run's status is its readers' to work out; the last word is
	# --finish's, which make's "all" runs.
	run -1 grep -c run_finished "$dir/events.jsonl"
	dag-plan --format make --run-dir "$dir" > run.mk
	run -0 timeout 60 make -s -f run.mk
	assert_equal "$(jq -r 'select(.event == "run_finished") | .status' "$dir/events.jsonl" | paste -sd' ')" succeeded
	assert_equal "$(jq -r .status "$dir/run.json")" succeeded
	# Failing again says so again.
	rm flag
	run -1 timeout 30 dag-step -q --run-dir "$dir" a
	run -1 dag-status "$dir"
}

@test "dag-step --finish closes an external run: pending steps get their final status" {
	mixed
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	run -1 timeout 30 dag-step -q --run-dir "$dir" b
	run -0 timeout 30 dag-step -q --finish --run-dir "$dir"
	assert_equal "$(jq -r '.steps | [.c, .d, .e] | map(.status) | join(" ")' "$dir/run.json")" \
	    "cancelled upstream_failed cancelled"
	run -1 dag-status "$dir"
}

@test "dag-step --finish closes a step whose dag-step died: what it left is killed, the run ends" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "s", "run": "echo $$ > s.pid; exec sleep 20"}, {"id": "t", "needs": ["s"], "run": "true"},
 {"id": "u", "run": "true"}]}
EOF2
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -0 timeout 30 dag-step -q --run-dir "$dir" u
	dag-step -q --run-dir "$dir" s 3>&- &
	pid=$!
	# s's own step_started (u has one too), not only its pid file.
	for _ in $(seq 300); do grep '"event":"step_started"' "$dir/events.jsonl" | grep -q '"step":"s"' && [ -s s.pid ] && break; sleep 0.1; done
	kill -KILL "$pid"
	wait "$pid" || true
	running "$(cat s.pid)"
	run -0 timeout 30 dag-step -q --finish --run-dir "$dir"
	assert_equal "$(jq -r '.steps | [.s.status, .s.reason, .t.status] | @tsv' "$dir/run.json")" \
	    $'cancelled\tits attempt never ended: the dag-step or dag-run running it died\tupstream_failed'
	assert_equal "$(jq -r 'select(.event == "run_finished") | .status' "$dir/events.jsonl" | tail -n 1)" failed
	run -1 dag-status "$dir"
	for _ in $(seq 50); do running "$(cat s.pid)" || break; sleep 0.1; done
	run ! running "$(cat s.pid)"
	# Killed before its start was journaled: never run, but what it
	# started is killed all the same.
	dir=$(timeout 30 dag-run --prepare wf.json)
	rm s.pid
	dag-step -q --run-dir "$dir" s 3>&- &
	pid=$!
	for _ in $(seq 300); do [ -s s.pid ] && break; sleep 0.1; done
	kill -KILL "$pid"
	wait "$pid" || true
	run -0 timeout 30 dag-step -q --finish --run-dir "$dir"
	for _ in $(seq 50); do running "$(cat s.pid)" || break; sleep 0.1; done
	run ! running "$(cat s.pid)"
	assert_equal "$(jq -r .steps.s.status "$dir/run.json")" cancelled
}

@test "dag-step refuses a step whose needs have not finished, and a run a dag-run holds" {
	mixed
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -2 --separate-stderr timeout 30 dag-step --run-dir "$dir" b
	assert_equal "$stderr" 'dag-step: step "b" needs "a", which has not finished (pending)'
	echo '{"steps": [{"id": "slow", "run": "touch started; sleep 5"}]}' > slow.json
	timeout 30 dag-run -q --run-id held slow.json 3>&- &
	pid=$!
	for _ in $(seq 100); do [ -e started ] && break; sleep 0.1; done
	run -75 timeout 30 dag-step --run-dir "$DAG_RUNS/held" slow
	kill "$pid"
	wait "$pid" || true
}

damaged() {
	dag wf.json <<'EOF2'
{"name": "o", "steps": [{"id": "a", "run": "echo '{\"v\": 1}' > \"$DAG_OUTPUT\""},
 {"id": "b", "needs": ["a"], "run": "cat > b.in"},
 {"id": "c", "needs": ["a"], "when": ".steps.a.output.v == 1", "run": "touch c.ran"}]}
EOF2
}

@test "dag-step starts no step on a need's damaged or missing output.json: exit 4, the file named" {
	damaged
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	out=$dir/steps/a/output.json
	printf '{"v":' > "$out"
	run -4 --separate-stderr timeout 30 dag-step -q --json --run-dir "$dir" b
	assert_equal "$stderr" "dag-step: $out: line 1, column 6: invalid JSON: unexpected end of document; the output of \"a\" is damaged: run a again with dag-step"
	assert_equal "$(jq -r '[.status, .reason] | @tsv' <<<"$output")" $'failed\t'"${stderr#dag-step: }"
	assert_file_not_exists b.in
	run -4 --separate-stderr timeout 30 dag-step -q --run-dir "$dir" c
	assert_equal "$stderr" "dag-step: $out: line 1, column 6: invalid JSON: unexpected end of document; the output of \"a\" is damaged: run a again with dag-step"
	assert_file_not_exists c.ran
	rm "$out"
	run -4 --separate-stderr timeout 30 dag-step -q --run-dir "$dir" b
	assert_equal "$stderr" "dag-step: $out: No such file or directory; the output of \"a\" is lost: run a again with dag-step"
	run -4 --separate-stderr timeout 30 dag-step -q --run-dir "$dir" c
	assert_equal "$stderr" "dag-step: $out: No such file or directory; the output of \"a\" is lost: run a again with dag-step"
	assert_file_not_exists b.in
	assert_file_not_exists c.ran
	assert_equal "$(dag-status --json "$dir" | jq -r '.steps | [.b, .c] | map(.status) | join(" ")')" "failed failed"
	# As the message says: a again, then its dependents run on its output.
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	run -0 timeout 30 dag-step -q --run-dir "$dir" b
	run -0 timeout 30 dag-step -q --run-dir "$dir" c
	assert_equal "$(cat b.in)" '{"a":{"v": 1}}'
	assert_file_exists c.ran
}

@test "--format slurm prints a submission script: steps with the same needs as an array, afterany on the needs' jobs" {
	mixed
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -0 dag-plan --format slurm --run-dir "$dir"
	assert_line --index 0 '#!/bin/bash'
	assert_line "one g0 '' a"
	# b and c need a alone: one array; the trigger rule is dag-step's.
	assert_equal "$(sed -n '/^array g1 /,/^\.end$/p' <<<"$output" | paste -sd' ')" \
	    "array g1 \"afterany:\${job[g0]}\" <<'.end' b c .end"
	assert_line 'one g2 "afterany:${job[g1]}" d'
	assert_line 'one g3 "afterany:${job[g1]}" e'
	[[ "$output" == *"--finish"* ]]
	bash -n <<<"$output"
	run -2 dag-plan --format make wf.json
}

@test "a launcher prefix wraps each command; templates see the step" {
	dag wf.json <<'EOF2'
{"launcher": ["env", "LAUNCHED={{ .step.id }}"], "steps": [{"id": "a", "run": "sh -c 'echo $LAUNCHED > a.out'"},
 {"id": "b", "argv": ["sh", "-c", "echo ${LAUNCHED:-none} > b.out"], "launcher": ["nice", "-n", "1"]}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	assert_equal "$(cat a.out) $(cat b.out)" "a none"
	echo '{"steps": [{"id": "a", "run": "echo $WRAPPED > w.out"}]}' > p.json
	run -0 timeout 30 dag-run -q --launcher '["env", "WRAPPED=yes"]' p.json
	assert_equal "$(cat w.out)" yes
	echo '{"steps": [{"id": "a", "run": "true", "launcher": "qsub"}]}' > bad.json
	run -1 --separate-stderr dag-validate bad.json
	assert_equal "$stderr" 'bad.json: steps[0].launcher: must be "slurm" or an array of strings (a command prefix)'
}

@test "--finish on a prepared run where nothing ran: steps cancelled or upstream_failed, the run failed" {
	echo '{"steps": [{"id": "a", "run": "true"}, {"id": "b", "needs": ["a"], "run": "true"}]}' > wf.json
	dir=$(timeout 30 dag-run --prepare wf.json)
	# A line for each step it gives a status to (none with -q, below).
	run -0 --separate-stderr timeout 30 dag-step --finish --run-dir "$dir"
	assert_equal "$stderr" '[1/2] cancelled a 0ms: never run by the external engine
[2/2] upstream_failed b 0ms: a need did not succeed'
	assert_equal "$(jq -r '[.status, .steps.a.status, .steps.b.status] | @tsv' "$dir/run.json")" $'failed\tcancelled\tupstream_failed'
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -0 --separate-stderr timeout 30 dag-step -q --finish --run-dir "$dir"
	assert_equal "$stderr" ''
	run -1 dag-status "$dir"
	run -0 dag-run -n --launcher slurm wf.json
	assert_line --index 0 --regexp $'^a\tsrun --quiet --job-name=RUN\\.a\\.0 '
}

# slurm_stand_ins MAX: bin/scontrol says MaxArraySize = MAX; bin/sbatch
# logs each call ("ID ARGS") to calls and prints job ids from 101 on, in
# the "id;cluster" form of --parsable.
slurm_stand_ins() {
	mkdir bin
	printf '#!/bin/sh\necho "MaxArraySize            = %s"\n' "$1" >bin/scontrol
	printf '#!/bin/sh\nn=$(($(cat n 2>/dev/null || echo 100) + 1)); echo $n >n\necho "$n $*" >>calls\necho "$n;test"\n' >bin/sbatch
	chmod +x bin/*
}

@test "the slurm export cuts an array into pieces below SLURM's MaxArraySize, each with its own list" {
	jq -n '{name: "cut", steps: ([{id: "first", run: "true"}]
	    + [range(10) | {id: "s\(.)", needs: ["first"], run: "true"}]
	    + [{id: "last", needs: [range(10) | "s\(.)"], run: "true"}])}' >cut.json
	dir=$(timeout 30 dag-run --prepare cut.json)
	dag-plan --format slurm --run-dir "$dir" > submit.sh
	slurm_stand_ins 4
	run -0 --separate-stderr env PATH="$PWD/bin:$PATH" bash submit.sh
	assert_equal "$stderr" "submitted 12 steps in 7 sbatch calls; follow the run with: dag-status -f $dir"
	# first; the ten in pieces of 3, 3, 3 and 1; last after the four; finish.
	assert_equal "$(grep -o -- '--array=[^ ]*' calls | paste -sd' ')" \
	    "--array=0-2 --array=0-2 --array=0-2 --array=0-0"
	assert_equal "$(grep -o -- '--dependency=[^ ]*' calls | sed -n 5p)" "--dependency=afterany:102:103:104:105"
	assert_equal "$(cat "$dir/steps/.slurm/g1.3")" s9
	assert_equal "$(cat "$dir/steps/.slurm/g1.0" "$dir/steps/.slurm/g1.1" "$dir/steps/.slurm/g1.2" | paste -sd' ')" "s0 s1 s2 s3 s4 s5 s6 s7 s8"
	# A task runs the step its list names at its index.
	run -0 timeout 30 dag-step -q --run-dir "$dir" first
	run -0 env SLURM_ARRAY_TASK_ID=2 dag-step -q --run-dir "$dir" --array-list "$dir/steps/.slurm/g1.1"
	assert_equal "$(dag-status --json "$dir" | jq -r '.steps.s5.status')" succeeded
	run -2 env SLURM_ARRAY_TASK_ID=3 dag-step -q --run-dir "$dir" --array-list "$dir/steps/.slurm/g1.1"
	assert_output --partial "no line 3"
	run -2 env -u SLURM_ARRAY_TASK_ID dag-step -q --run-dir "$dir" --array-list "$dir/steps/.slurm/g1.1"
	assert_output "dag-step: --array-list $dir/steps/.slurm/g1.1: SLURM_ARRAY_TASK_ID is unset: it is set by sbatch --array"
	for bad in ' 1' +1 -1 1x ''; do
		run -2 env SLURM_ARRAY_TASK_ID="$bad" dag-step -q --run-dir "$dir" --array-list "$dir/steps/.slurm/g1.1"
		assert_output --partial "SLURM_ARRAY_TASK_ID is \"$bad\", not a task index"
	done
	# The last line may lack its newline; a missing list is a system error.
	printf 's6\ns7' >last
	run -0 env SLURM_ARRAY_TASK_ID=1 dag-step -q --run-dir "$dir" --array-list last
	assert_equal "$(dag-status --json "$dir" | jq -r '.steps.s7.status')" succeeded
	run -4 env SLURM_ARRAY_TASK_ID=0 dag-step -q --run-dir "$dir" --array-list nosuch
	assert_output "dag-step: --array-list nosuch: No such file or directory"
}

@test "ids that could end an export's list early stay ids: EOF, endef, define; a step named all is refused by the make export" {
	jq -n '{name: "odd", steps: ([{id: "first", run: "true"}]
	    + (["EOF", "endef", "define", "z"] | map({id: ., needs: ["first"], run: "true"})))}' >odd.json
	dir=$(timeout 30 dag-run --prepare odd.json)
	dag-plan --format slurm --run-dir "$dir" > submit.sh
	slurm_stand_ins 1001
	run -0 --separate-stderr env PATH="$PWD/bin:$PATH" bash submit.sh
	assert_equal "$(cat "$dir/steps/.slurm/g1" | paste -sd' ')" "EOF endef define z"
	dag-plan --format make --run-dir "$dir" > run.mk
	run -0 timeout 60 make -s -j2 -f run.mk
	assert_equal "$(jq -r '[.steps[].status] | unique | join(" ")' "$dir/run.json")" succeeded
	echo '{"steps": [{"id": "all", "run": "true"}, {"id": "b", "needs": ["all"], "run": "true"}]}' >all.json
	dir=$(timeout 30 dag-run --prepare all.json)
	run -2 dag-plan --format make --run-dir "$dir"
	assert_output --partial 'a step is named "all"'
}
