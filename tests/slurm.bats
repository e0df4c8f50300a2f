#!/usr/bin/env bats
# Steps on a real SLURM cluster (slurmctld, slurmd and munged started by
# tests/slurm/cluster.sh), and the make and slurm exports.  If the cluster
# cannot start here the tests say so loudly and skip; they never pass empty.

load test_helper

setup_file() {
	export CLUSTER_DIR="$BATS_FILE_TMPDIR/cluster"
	if out=$("$BATS_TEST_DIRNAME/slurm/cluster.sh" start "$CLUSTER_DIR" 2>"$BATS_FILE_TMPDIR/start.err"); then
		eval "$out"
		export SLURM_CONF
	else
		echo "# SLURM CLUSTER DID NOT START: $(tail -3 "$BATS_FILE_TMPDIR/start.err")" >&3
		export SLURM_BROKEN=1
	fi
}

teardown_file() {
	"$BATS_TEST_DIRNAME/slurm/cluster.sh" stop "$CLUSTER_DIR" >/dev/null 2>&1 || true
}

need_cluster() {
	[ -z "${SLURM_BROKEN:-}" ] || skip "SLURM cluster could not start (see the loud message above)"
}

status_of() { jq -r ".steps[\"$1\"].status" "$DAG_RUNS/latest/run.json"; }

@test "steps run as SLURM jobs: SLURM_JOB_ID, data flow across jobs, exit codes" {
	need_cluster
	dag wf.json <<'EOF2'
{"launcher": "slurm", "on_failure": "continue", "steps": [
 {"id": "make", "run": "echo \"{\\\"job\\\": \\\"$SLURM_JOB_ID\\\", \\\"n\\\": 41}\" > \"$DAG_OUTPUT\""},
 {"id": "use", "needs": ["make"], "output": "stdout", "run": "jq '.make.n + 1'"},
 {"id": "fail", "run": "echo doomed >&2; exit 3"},
 {"id": "sig", "run": "kill -TERM $$"}]}
EOF2
	run -1 timeout 120 dag-run -q -j4 wf.json
	d=$(cd "$DAG_RUNS/latest" && pwd -P)
	[[ "$(jq -r .job "$d/steps/make/output.json")" =~ ^[0-9]+$ ]]
	assert_equal "$(cat "$d/steps/use/output.json")" 42
	assert_equal "$(jq -r '.steps.fail | [.status, .exit_code] | @tsv' "$d/run.json")" $'failed\t3'
	# The step's own stderr, without srun's "error:" lines.
	assert_equal "$(cat "$d/steps/fail/1.stderr")" doomed
	assert_equal "$(jq -r '.steps.sig.exit_code' "$d/run.json")" 143
}

@test "retries resubmit the step as a new job" {
	need_cluster
	dag wf.json <<'EOF2'
{"launcher": "slurm", "steps": [{"id": "flaky", "retry": {"attempts": 3, "delay": 0},
  "run": "echo $SLURM_JOB_ID >> jobs; [ $DAG_ATTEMPT -ge 2 ]"}]}
EOF2
	run -0 timeout 120 dag-run -q wf.json
	assert_equal "$(status_of flaky)" succeeded
	assert_equal "$(sort -u jobs | wc -l)" 2
}

@test "a timeout cancels the job by name: nothing left in squeue" {
	need_cluster
	dag wf.json <<'EOF2'
{"launcher": "slurm", "steps": [{"id": "slow", "timeout": "2s", "kill_grace": "2s", "run": "sleep 120"}]}
EOF2
	run -1 timeout 120 dag-run -q wf.json
	assert_equal "$(status_of slow)" timed_out
	for _ in $(seq 100); do [ -z "$(squeue -h -o %i)" ] && break; sleep 0.1; done
	assert_equal "$(squeue -h -o %j)" ""
}

@test "SIGTERM to dag-run cancels every job" {
	need_cluster
	dag wf.json <<'EOF2'
{"launcher": "slurm", "steps": [{"id": "a", "run": "touch a.started; sleep 120"}, {"id": "b", "run": "touch b.started; sleep 120"}]}
EOF2
	timeout 120 dag-run -q -j2 wf.json 3>&- &
	pid=$!
	for _ in $(seq 300); do [ -e a.started ] && [ -e b.started ] && break; sleep 0.1; done
	[ "$(squeue -h -o %j | wc -l)" -eq 2 ]
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	for _ in $(seq 100); do [ -z "$(squeue -h -o %i)" ] && break; sleep 0.1; done
	assert_equal "$(squeue -h -o %j)" ""
	assert_equal "$(status_of a) $(status_of b)" "cancelled cancelled"
}

@test "a second signal kills at once and still cancels every job" {
	need_cluster
	dag wf.json <<'EOF2'
{"launcher": "slurm", "steps": [{"id": "a", "kill_grace": "60s", "run": "trap '' TERM; touch a.started; sleep 120"}]}
EOF2
	timeout --foreground 120 dag-run -q wf.json 3>&- &
	pid=$!
	for _ in $(seq 300); do [ -e a.started ] && break; sleep 0.1; done
	[ "$(squeue -h -o %j | wc -l)" -eq 1 ]
	kill -TERM "$pid"
	sleep 0.5
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	for _ in $(seq 100); do [ -z "$(squeue -h -o %i)" ] && break; sleep 0.1; done
	assert_equal "$(squeue -h -o %j)" ""
	assert_equal "$(status_of a)" cancelled
}

@test "a launcher prefix with srun works like the built-in" {
	need_cluster
	dag wf.json <<'EOF2'
{"launcher": ["srun", "--quiet", "--job-name={{ .run.id }}.{{ .step.id }}", "--"],
 "steps": [{"id": "a", "run": "echo $SLURM_JOB_NAME > name"}]}
EOF2
	run -0 timeout 120 dag-run -q --run-id r1 wf.json
	assert_equal "$(cat name)" r1.a
}

@test "the slurm export submits the whole DAG; dag-status -f follows it to the end" {
	need_cluster
	dag wf.json <<'EOF2'
{"name": "batch", "steps": [{"id": "a", "run": "echo '{\"x\": 1}' > \"$DAG_OUTPUT\""},
 {"id": "b", "needs": ["a"], "run": "exit 1"},
 {"id": "c", "needs": ["a"], "output": "stdout", "run": "jq .a.x"},
 {"id": "d", "needs": ["b"], "run": "touch d.ran"},
 {"id": "e", "needs": ["b", "c"], "trigger": "all_done", "run": "cat > e.in"},
 {"id": "alert", "needs": ["b"], "trigger": "one_failed", "run": "touch alerted"}]}
EOF2
	dir=$(timeout 30 dag-run --prepare wf.json)
	dag-plan --format slurm --run-dir "$dir" > submit.sh
	run -0 timeout 60 bash submit.sh
	run -1 --separate-stderr timeout 120 dag-status -f "$dir"
	assert_equal "$(dag-status --json "$dir" | jq -r '.steps | [.a, .b, .c, .d, .e, .alert] | map(.status) | join(" ")')" \
	    "succeeded failed succeeded upstream_failed succeeded succeeded"
	assert_file_not_exists d.ran
	assert_file_exists alerted
	assert_equal "$(cat e.in)" '{"c":1}'
}

@test "the slurm export runs a matrix's instances as jobs, a foreach's inside its step's job, and joins them" {
	need_cluster
	dag wf.json <<'EOF2'
{"steps": [{"id": "m", "matrix": {"x": ["a", "b"]}, "output": "stdout",
   "run": "echo \"$SLURM_JOB_ID\" > m.{{ .matrix.x }}.job; echo {{ .matrix.x }}"},
 {"id": "fe", "needs": ["m"], "foreach": ".steps.m.output", "foreach_key": ".", "output": "stdout",
  "run": "echo \"$SLURM_JOB_ID\" > fe.{{ .item }}.job; echo {{ .item }}{{ .item }}"},
 {"id": "z", "needs": ["fe"], "run": "cat > z.in"}]}
EOF2
	dir=$(timeout 30 dag-run --prepare wf.json)
	dag-plan --format slurm --run-dir "$dir" > submit.sh
	run -0 timeout 60 bash submit.sh
	run -0 --separate-stderr timeout 120 dag-status -f "$dir"
	assert_equal "$(cat z.in)" '{"fe":["aa","bb"]}'
	# One job per matrix instance; the foreach's instances share one.
	[[ "$(cat m.a.job)" =~ ^[0-9]+$ ]]
	[ "$(cat m.a.job)" != "$(cat m.b.job)" ]
	assert_equal "$(cat fe.a.job)" "$(cat fe.b.job)"
	assert_equal "$(jq -r '[.steps["fe[a]"].status, .steps["fe[b]"].status, .status] | join(" ")' "$dir/run.json")" \
	    "succeeded succeeded succeeded"
}

# sbatch_counted: sbatch on PATH logs each call to sbatch.calls first.
sbatch_counted() {
	mkdir -p wrap
	printf '#!/bin/sh\necho "$*" >>"%s/sbatch.calls"\nexec %s "$@"\n' "$PWD" "$(command -v sbatch)" >wrap/sbatch
	chmod +x wrap/sbatch
	PATH=$PWD/wrap:$PATH
}

@test "the slurm export submits a fan-out as one job array: a handful of sbatch calls, every step run" {
	need_cluster
	n=200
	[ -z "${DAGKIT_SLOW:-}${ASAN_OPTIONS:-}" ] || n=40
	jq -n --argjson n "$n" '{name: "fan", steps: ([{id: "first", run: "true"}]
	    + [range($n) | {id: "s\(.)", needs: ["first"], run: "echo \"$SLURM_ARRAY_JOB_ID\" >> tasks"}]
	    + [{id: "last", needs: [range($n) | "s\(.)"], run: "true"}])}' >fan.json
	dir=$(timeout 30 dag-run --prepare fan.json)
	dag-plan --format slurm --run-dir "$dir" > submit.sh
	sbatch_counted
	run -0 --separate-stderr timeout 60 bash submit.sh
	assert_equal "$stderr" "submitted $((n + 2)) steps in 4 sbatch calls; follow the run with: dag-status -f $dir"
	assert_equal "$(wc -l <sbatch.calls)" 4
	grep -q -- "--array=0-$((n - 1)) " sbatch.calls
	run -0 --separate-stderr timeout 600 dag-status -f "$dir"
	assert_equal "$(dag-status --json "$dir" | jq '[.steps[] | select(.status == "succeeded")] | length')" $((n + 2))
	# One array: every task ran under the same array job.
	assert_equal "$(wc -l <tasks) $(sort -u tasks | wc -l)" "$n 1"
}


@test "a random DAG with every trigger rule and failures ends on SLURM with dag-run's statuses" {
	need_cluster
	n=120
	# 60 is the least of this seed that has every outcome.
	[ -z "${DAGKIT_SLOW:-}${ASAN_OPTIONS:-}" ] || n=60
	random_dag "$n"
	run timeout 120 dag-run -q -j4 --run-dir local rnd.json
	jq -S '.steps | map_values(.status)' local/run.json > local.st
	grep -q '"upstream_failed"' local.st
	grep -q '"skipped"' local.st
	dir=$(timeout 30 dag-run --prepare rnd.json)
	dag-plan --format slurm --run-dir "$dir" > submit.sh
	run -0 timeout 60 bash submit.sh
	run timeout 900 dag-status -f "$dir"
	dag-status --json "$dir" | jq -S '.steps | map_values(.status)' > slurm.st
	diff local.st slurm.st
	assert_equal "$(dag-status --json "$dir" | jq -r .status)" "$(jq -r .status local/run.json)"
	# The last job closed the run.
	for _ in $(seq 300); do grep -q run_finished "$dir/events.jsonl" && break; sleep 0.1; done
	assert_equal "$(jq -r .status "$dir/run.json")" "$(jq -r .status local/run.json)"
}

@test "the make export runs a prepared run under make -j4 with steps on SLURM" {
	need_cluster
	dag wf.json <<'EOF2'
{"launcher": "slurm", "steps": [{"id": "a", "run": "true"}, {"id": "b", "needs": ["a"], "run": "echo $SLURM_JOB_ID > b.job"},
 {"id": "c", "needs": ["a"], "run": "true"}, {"id": "d", "needs": ["b", "c"], "run": "true"}]}
EOF2
	dir=$(timeout 30 dag-run --prepare wf.json)
	dag-plan --format make --run-dir "$dir" > run.mk
	run -0 timeout 120 make -s -j4 -f run.mk
	[[ "$(cat b.job)" =~ ^[0-9]+$ ]]
	run -0 dag-status "$dir"
}

@test "a 3-node emulated cluster runs a fan-out across its nodes" {
	need_cluster
	"$BATS_TEST_DIRNAME/slurm/cluster.sh" stop "$CLUSTER_DIR"
	out=$("$BATS_TEST_DIRNAME/slurm/cluster.sh" start "$CLUSTER_DIR" 3) || skip "3-node cluster did not start"
	eval "$out"
	dag wf.json <<'EOF2'
{"launcher": "slurm", "steps": [
 {"id": "n1", "run": "echo $SLURMD_NODENAME >> nodes; sleep 2"},
 {"id": "n2", "run": "echo $SLURMD_NODENAME >> nodes; sleep 2"},
 {"id": "n3", "run": "echo $SLURMD_NODENAME >> nodes; sleep 2"},
 {"id": "join", "needs": ["n1", "n2", "n3"], "run": "true"}]}
EOF2
	run -0 timeout 120 dag-run -q -j3 wf.json
	assert_equal "$(sort -u nodes | paste -sd' ')" "n1 n2 n3"
}

@test "max_parallel holds on the cluster: an array of 12 runs at most 3 tasks at once on 6 CPUs" {
	need_cluster
	# The cluster of the test before: three nodes of two CPUs.
	[ "$(sinfo -h -o %D)" -eq 3 ] || skip "the 3-node cluster is not up"
	jq -n '{name: "thr", max_parallel: 3, steps: ([{id: "first", run: "true"}]
	    + [range(12) | {id: "s\(.)", needs: ["first"], run: "sleep 1"}])}' >thr.json
	dir=$(timeout 30 dag-run --prepare thr.json)
	dag-plan --format slurm --run-dir "$dir" > submit.sh
	grep -q -- '--array="0-$(((n - k < max ? n - k : max) - 1))%3"' submit.sh
	run -0 timeout 60 bash submit.sh
	run -0 --separate-stderr timeout 300 dag-status -f "$dir"
	# From the journal: never more than 3 at once, and more than 1.
	m=$(max_together "$dir")
	[ "$m" -le 3 ] && [ "$m" -ge 2 ]
}
