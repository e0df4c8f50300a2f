#!/usr/bin/env bats
# dag-step at scale: a prepared run's step index (dag.idx), read so that a
# dag-step costs what its step's neighbourhood costs, not the whole DAG.

load test_helper

# A DAG whose last step reads a grandparent and a matrix's instances.
near() {
	dag wf.json <<'EOF2'
{"name": "near", "params": {"who": "world"},
 "steps": [
  {"id": "a", "run": "test ! -e broken && printf '{\"n\": 7}' > \"$DAG_OUTPUT\""},
  {"id": "m", "needs": ["a"], "matrix": {"os": ["deb", "alp"]}, "output": "stdout",
   "run": "echo \"$DAG_MATRIX\" | jq .os"},
  {"id": "b", "needs": ["m"], "when": ".steps.a.output.n == 7",
   "run": "echo '{{ .params.who }} {{ .steps.a.output.n }}' > b.out; cat > b.in"},
  {"id": "zzzz", "run": "echo unrelated"}]}
EOF2
}

@test "dag-step of a prepared run reads its step's neighbourhood only: a damaged far step does not stop it" {
	near
	dir=$(timeout 30 dag-run --prepare wf.json)
	assert_file_exists "$dir/dag.idx"
	# Same length and time, no longer JSON: only a whole-document load
	# would see it.
	cp -p "$dir/dag.json" orig.json
	sed -i 's/"echo unrelated"/{echo unrelated}/' "$dir/dag.json"
	touch -r orig.json "$dir/dag.json"
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	run -0 timeout 30 dag-step -q --run-dir "$dir" 'm[deb]'
	run -0 timeout 30 dag-step -q --run-dir "$dir" 'm[alp]'
	run -0 timeout 30 dag-step -q --run-dir "$dir" b
	assert_equal "$(cat b.out)" "world 7"
	assert_equal "$(cat b.in)" '{"m":["deb","alp"]}'
	# The far step itself needs its own object: the whole load says why.
	run -2 --separate-stderr timeout 30 dag-step -q --run-dir "$dir" zzzz
	assert_output ""
	assert_regex "$stderr" "dag.json: line 1, column [0-9]+: invalid JSON"
}

@test "a need's status comes from its dag-step's own lines, kept beside it; without them, from the journal" {
	near
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	assert_equal "$(jq -r .event "$dir/steps/a/journal" | paste -sd' ')" "step_started step_finished"
	run -0 timeout 30 dag-step -q --run-dir "$dir" 'm[deb]'
	rm "$dir/steps/m[deb]/journal"
	run -0 timeout 30 dag-step -q --run-dir "$dir" 'm[alp]'
	# Its need's copy gone, b reads the journal, with the same result.
	run -0 timeout 30 dag-step -q --run-dir "$dir" b
	assert_equal "$(cat b.in)" '{"m":["deb","alp"]}'
	# A need run again to failure: its dependent sees it at once.
	touch broken
	run -1 timeout 30 dag-step -q --run-dir "$dir" a
	assert_equal "$(jq -r .event "$dir/steps/a/journal" | paste -sd' ')" "step_reset step_started step_finished"
	run -1 --separate-stderr timeout 30 dag-step -q --run-dir "$dir" 'm[deb]'
	run -0 bash -c "dag-status --json '$dir' | jq -r '[.status, .steps.a.status, .steps.\"m[deb]\".status] | @tsv'"
	assert_output $'running\tfailed\tupstream_failed'
}

@test "dag-run --resume of a prepared run removes its index: dag-steps then read the whole run" {
	near
	dir=$(timeout 30 dag-run --prepare wf.json)
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	run -0 timeout 60 dag-run -q --resume "$(basename "$dir")" --runs "$(dirname "$dir")"
	assert_file_not_exists "$dir/dag.idx"
	assert_equal "$(jq -r .status "$dir/run.json")" succeeded
	run -0 timeout 30 dag-step -q --run-dir "$dir" b
	assert_equal "$(dag-status --json "$dir" | jq -r .status)" succeeded
}


@test "a random DAG with every trigger rule ends the same through the make export and dag-step as under dag-run" {
	n=150
	# 60 is the least of this seed that has every outcome.
	[ -z "${DAGKIT_SLOW:-}" ] || n=60
	random_dag "$n"
	run timeout 120 dag-run -q -j4 --run-dir local rnd.json
	jq -S '.steps | map_values(.status)' local/run.json > local.st
	# Both outcomes occur, or the comparison proves little.
	grep -q '"failed"' local.st
	grep -q '"upstream_failed"' local.st
	grep -q '"skipped"' local.st
	dir=$(timeout 30 dag-run --prepare rnd.json)
	dag-plan --format make --run-dir "$dir" > run.mk
	run timeout 300 make -s -j4 -f run.mk
	jq -S '.steps | map_values(.status)' "$dir/run.json" > make.st
	diff local.st make.st
	assert_equal "$(jq -r .status "$dir/run.json")" "$(jq -r .status local/run.json)"
}

@test "dag-step runs several steps at once: operands or --from, -j of them together, a step named twice once" {
	jq -n '{name: "several", steps: ([{id: "first", run: "true"}]
	    + [range(6) | {id: "s\(.)", needs: ["first"], run: "sleep 0.2"}])}' >sev.json
	dir=$(timeout 30 dag-run --prepare sev.json)
	run -2 --separate-stderr timeout 30 dag-step -q --run-dir "$dir" s0 s1
	assert_equal "$stderr" 'dag-step: step "s0" needs "first", which has not finished (pending)'
	run -0 timeout 30 dag-step -q --run-dir "$dir" first
	run -2 --separate-stderr timeout 30 dag-step -q --run-dir "$dir" s0 nosuch
	assert_equal "$stderr" "dag-step: $dir: no step \"nosuch\" in this run"
	run -0 --separate-stderr timeout 60 dag-step -j 2 --json --run-dir "$dir" s0 s1 s2 s1
	assert_equal "$(jq -r .id <<<"$output" | paste -sd' ')" "s0 s1 s2"
	assert_equal "$(max_together "$dir")" 2
	printf 's3\n\ns4\ns5\n' >list
	run -0 timeout 60 dag-step -q -j 3 --run-dir "$dir" --from list
	assert_equal "$(dag-status --json "$dir" | jq -r '[.steps[].status] | unique | join(" ")')" succeeded
	run -1 grep -c '"step":"s1","attempt":2' "$dir/events.jsonl"
	: >empty
	run -2 --separate-stderr dag-step -q --run-dir "$dir" --from empty
	assert_equal "$stderr" "dag-step: --from empty: no step in it"
	run -2 dag-step -q --run-dir "$dir" --from list s0
	assert_output --partial "usage: dag-step"
}

@test "the make export runs steps with the same needs in one dag-step, at make's -j" {
	jq -n '{name: "grouped", steps: ([{id: "first", run: "true"}]
	    + [range(8) | {id: "s\(.)", needs: ["first"], run: "sleep 0.2"}]
	    + [{id: "last", needs: [range(8) | "s\(.)"], run: "true"}])}' >grp.json
	dir=$(timeout 30 dag-run --prepare grp.json)
	dag-plan --format make --run-dir "$dir" > run.mk
	printf '#!/bin/sh\necho "$*" >>"%s/calls"\nexec dag-step "$@"\n' "$PWD" >step
	chmod +x step
	run -0 timeout 120 make -s -j2 -f run.mk DAG_STEP="$PWD/step"
	# first, the eight as one, last, and the closing --finish.
	assert_equal "$(wc -l <calls)" 4
	grep -q -- "-j 2 --run-dir $dir --from $dir/steps/.make.g1" calls
	assert_equal "$(max_together "$dir")" 2
	assert_equal "$(jq -r .status "$dir/run.json")" succeeded
	# One target of the group builds the group.
	dir=$(timeout 30 dag-run --prepare grp.json)
	dag-plan --format make --run-dir "$dir" > run.mk
	run -0 timeout 120 make -s -j2 -f run.mk s3
	assert_equal "$(dag-status --json "$dir" | jq -r '[.steps[] | select(.status == "succeeded")] | length')" 9
}

@test "an edited dag.json or a damaged index is not used: dag-step reads the whole DAG" {
	dag ed.json <<'EOF2'
{"name": "ed", "env": {"H": "old"}, "steps": [{"id": "a", "output": "stdout", "run": "echo \"\\\"$H\\\"\""},
 {"id": "b", "needs": ["a"], "run": "true"}]}
EOF2
	dir=$(timeout 30 dag-run --prepare ed.json)
	sed -i 's/"old"/"new"/' "$dir/dag.json"
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	assert_equal "$(cat "$dir/steps/a/output.json")" '"new"'
	# A span past the end of dag.json: the whole DAG, not an error.
	dir=$(timeout 30 dag-run --prepare ed.json)
	sed -i 's/^\(b\t.\t[0-9]*\t\)[0-9]*/\199999999999999/' "$dir/dag.idx"
	grep -q 99999999999999 "$dir/dag.idx"
	run -0 timeout 30 dag-step -q --run-dir "$dir" a
	run -0 timeout 30 dag-step -q --run-dir "$dir" b
}

@test "a matrix instance ends while its sibling, run by another dag-step, waits to retry" {
	dag mr.json <<'EOF2'
{"name": "mr", "steps": [{"id": "m", "matrix": {"v": ["a", "b"]}, "run": "exit 3", "retry": {"attempts": 2, "delay": "2s"}}]}
EOF2
	dir=$(timeout 30 dag-run --prepare mr.json)
	timeout 30 dag-step -q --run-dir "$dir" 'm[a]' 3>&- &
	pid=$!
	for _ in $(seq 100); do grep -q '"m\[a\]","attempt":1,"status"' "$dir/events.jsonl" && break; sleep 0.05; done
	run -1 timeout 30 dag-step -q --run-dir "$dir" 'm[b]'
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 1
	# Neither wrote a line for the other.
	run -1 grep -c '"status":"pending"' "$dir/events.jsonl"
	assert_equal "$(dag-status --json "$dir" | jq -r '[.steps[] | .status, .attempts] | join(" ")')" "failed 2 failed 2"
}
