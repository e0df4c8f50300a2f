#!/usr/bin/env bats
# dag-run against real child processes, signals and files.

load test_helper

latest() { echo "$DAG_RUNS/latest"; }
status_of() { jq -r ".steps[\"$1\"].status" "$(latest)/run.json"; }
# alive PIDFILE: succeeds if the pid in the file still runs
alive() { kill -0 "$(cat "$1")" 2>/dev/null; }

@test "runs a DAG: exit 0, run directory complete, latest link, statuses" {
	dag wf.json <<'EOF2'
{"name": "w", "steps": [{"id": "a", "run": "echo hello; echo oops >&2"},
 {"id": "b", "needs": ["a"], "argv": ["printf", "%s\n", "x y"]}]}
EOF2
	run -0 --separate-stderr timeout 30 dag-run wf.json
	assert_equal "$output" ""
	[[ "${stderr_lines[0]}" =~ ^\[1/2\]\ ok\ a\ [0-9]+ms$ ]]
	d=$(latest)
	assert_file_exists "$d/dag.json"
	assert_file_exists "$d/events.jsonl"
	assert_file_exists "$d/lock"
	assert_equal "$(cat "$d/steps/a/1.stdout")" hello
	assert_equal "$(cat "$d/steps/a/1.stderr")" oops
	assert_equal "$(cat "$d/steps/b/1.stdout")" "x y"
	assert_equal "$(jq -r '[.format, .status, .counts.succeeded, .dag] | @tsv' "$d/run.json")" $'1\tsucceeded\t2\tw'
	[[ "$(readlink "$d")" =~ ^[0-9]{8}T[0-9]{6}Z-w-[0-9a-f]{4}$ ]]
	# Every journal line is complete JSON with ts, run and event.
	run jq -e -s 'all(.[]; has("ts") and has("run") and has("event"))' "$d/events.jsonl"
	assert_success
	assert_equal "$(jq -r .event "$d/events.jsonl" | paste -sd' ')" \
	    "run_started step_started step_finished step_started step_finished run_finished"
}

@test "-j bounds parallelism; steps run in parallel up to it" {
	# Each step waits until $N steps have started (or 20 s): with -jN
	# and a barrier of N, N steps must be running at once to get past it.
	# The journal, not the clock, shows how many ran together.
	cat > barrier.sh <<'EOF2'
touch "up.$DAG_STEP_ID"; i=0
while [ "$(ls up.* | wc -l)" -lt "$N" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
[ "$(ls up.* | wc -l)" -ge "$N" ]
EOF2
	jq -nc '{steps: [range(6) | {id: "s\(.)", argv: ["sh", "barrier.sh"]}]}' > wf.json
	for j in 4 2; do
		rm -f up.*
		N=$j run -0 timeout 60 dag-run -q -j$j wf.json
		assert_equal "$(max_together "$(latest)")" "$j"
	done
	# -j1: never two at once, whatever the machine's load.
	N=1 run -0 timeout 60 dag-run -q -j1 wf.json
	assert_equal "$(max_together "$(latest)")" 1
	run jq -rs '[.[] | select(.event == "step_started" or .event == "step_finished") | .event] | join(" ")' "$(latest)/events.jsonl"
	assert_output "$(printf 'step_started step_finished %.0s' 1 2 3 4 5 6 | sed 's/ $//')"
}

@test "event-driven: a short chain beside a long step finishes before it" {
	# long ends only once s3 has run: with -j2 it holds one slot, so the
	# chain must go on in the other as each step ends, not by levels.
	dag wf.json <<'EOF2'
{"steps": [{"id": "long", "run": "i=0; while [ ! -e s3.done ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done; [ -e s3.done ]"},
 {"id": "s1", "run": "true"}, {"id": "s2", "needs": ["s1"], "run": "true"},
 {"id": "s3", "needs": ["s2"], "run": "touch s3.done"},
 {"id": "after", "needs": ["long", "s3"], "run": "true"}]}
EOF2
	run -0 timeout 60 dag-run -q -j2 wf.json
	run jq -r 'select(.event == "step_finished") | .step' "$(latest)/events.jsonl"
	assert_equal "$(paste -sd' ' <<<"$output")" "s1 s2 s3 long after"
}

@test "ready steps start by longest remaining path; --order declaration keeps the document's order" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true", "x-estimate": 0.5}, {"id": "b", "run": "true"},
 {"id": "c", "needs": ["b"], "run": "true"}, {"id": "d", "run": "true", "x-estimate": 5}]}
EOF2
	started() { jq -r 'select(.event == "step_started") | .step' "$(latest)/events.jsonl" | paste -sd' '; }
	run -0 dag-run -q -j1 wf.json
	assert_equal "$(started)" "d b c a"
	run -0 dag-run -q -j1 --order declaration wf.json
	assert_equal "$(started)" "a b c d"
	# Past runs now time b and c in milliseconds, below a's 0.5 s hint.
	run -0 dag-run -q -j1 --order=critical-path wf.json
	assert_equal "$(started)" "d a b c"
	run -2 --separate-stderr dag-run --order fifo wf.json
	assert_equal "$stderr" "dag-run: --order 'fifo': expected critical-path or declaration"
}

@test "pools limit steps sharing a resource" {
	dag wf.json <<'EOF2'
{"pools": {"db": 1}, "steps": [
 {"id": "a", "pool": "db", "run": "mkdir inuse && sleep 0.3 && rmdir inuse"},
 {"id": "b", "pool": "db", "run": "mkdir inuse && sleep 0.3 && rmdir inuse"},
 {"id": "c", "pool": "db", "run": "mkdir inuse && sleep 0.3 && rmdir inuse"},
 {"id": "free", "run": "sleep 0.1"}]}
EOF2
	run -0 timeout 30 dag-run -q -j4 wf.json
	assert_equal "$(jq -r .counts.succeeded "$(latest)/run.json")" 4
}

@test "timeout kills the whole process group, background grandchildren included" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "slow", "timeout": "500ms", "run": "sleep 60 & echo $! > bg.pid; sleep 60"}]}
EOF2
	run -1 --separate-stderr timeout 30 dag-run wf.json
	assert_equal "$(status_of slow)" timed_out
	assert_equal "$(jq -r '.steps.slow.reason' "$(latest)/run.json")" "timed out"
	run ! alive bg.pid
	[[ "$stderr" == *"TIMEOUT slow"* ]]
}

@test "a step that ignores SIGTERM is killed with SIGKILL after kill_grace" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "stubborn", "timeout": "300ms", "kill_grace": "500ms",
  "run": "trap '' TERM; echo $$ > me.pid; while :; do sleep 0.1; done"}]}
EOF2
	start=$(date +%s%N)
	run -1 timeout 30 dag-run -q wf.json
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_equal "$(status_of stubborn)" timed_out
	[ "$ms" -ge 700 ]
	[ "$ms" -lt 10000 ]
	run ! alive me.pid
}

@test "kill_grace 0: a step that ignores SIGTERM gets SIGKILL at once" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "timeout": "100ms", "kill_grace": 0,
  "run": "trap '' TERM; echo $$ > me.pid; while :; do sleep 0.1; done"}]}
EOF2
	for _ in 1 2 3; do
		run -1 timeout 30 dag-run -q wf.json
		assert_equal "$(jq -r '.steps.a | [.status, .signal] | @tsv' "$(latest)/run.json")" $'timed_out\t9'
		run ! alive me.pid
	done
}

@test "a stopped step that times out gets SIGCONT with its SIGTERM: it ends by SIGTERM, not after kill_grace" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "timeout": "500ms", "kill_grace": "60s", "run": "kill -STOP $$; echo resumed"}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	assert_equal "$(jq -r '.steps.a | [.status, .signal] | @tsv' "$(latest)/run.json")" $'timed_out\t15'
}

@test "a timed-out step whose leader obeys SIGTERM: the rest of its group still gets SIGKILL after kill_grace" {
	# Attempt 1 leaves a child that ignores SIGTERM; attempt 2 outlasts
	# the grace by 2.5 s, then b looks for that child.  The timeout
	# leaves attempt 2 4.5 s to spare (busy CPUs, valgrind).
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "timeout": "8s", "kill_grace": "1s", "retry": {"attempts": 2, "delay": "100ms"},
  "run": "if [ $DAG_ATTEMPT = 1 ]; then sh -c 'trap \"\" TERM; exec sleep 60' & echo $! > stray.pid; exec sleep 60; else sleep 3.5; fi"},
 {"id": "b", "needs": ["a"], "run": "p=$(cat stray.pid); if [ -d /proc/$p ] && ! grep -q '^State:.*Z' /proc/$p/status; then echo alive; else echo gone; fi > stray.state"}]}
EOF2
	run -0 timeout 60 dag-run -q wf.json
	assert_equal "$(cat stray.state)" gone
	assert_equal "$(jq -r '.steps.a | [.status, .attempts] | @tsv' "$(latest)/run.json")" $'succeeded\t2'
}

@test "no stray process outlives a run: background jobs and daemons are swept" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "bg", "run": "sleep 300 & echo $! > bg.pid"},
 {"id": "daemon", "run": "setsid sh -c 'sleep 300 & echo $! > d.pid' < /dev/null > /dev/null 2>&1 &"},
 {"id": "after", "needs": ["bg", "daemon"], "run": "sleep 0.5"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	[ -s bg.pid ] && [ -s d.pid ]
	run ! alive bg.pid
	run ! alive d.pid
}

@test "children dag-run had before it started (a shell's, a >(...) reader) are not swept; the steps' are" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "sleep 60 & echo $! > stray.pid"}]}
EOF2
	run -0 timeout 30 sh -c 'sleep 60 & echo $! > mine.pid; exec dag-run -q wf.json'
	kill -0 "$(cat mine.pid)"
	run ! kill -0 "$(cat stray.pid)"
	kill "$(cat mine.pid)"
	# The reader of a process substitution gets every event.
	run -0 timeout 30 bash -c 'dag-run -q --events wf.json > >(sleep 1; wc -l > events.count); sleep 3'
	assert_equal "$(cat events.count)" 4
}

@test "run deadline: running steps are stopped, exit 3" {
	dag wf.json <<'EOF2'
{"timeout": "700ms", "steps": [{"id": "a", "run": "sleep 30"}, {"id": "b", "needs": ["a"], "run": "true"}]}
EOF2
	run -3 --separate-stderr timeout 30 dag-run wf.json
	assert_equal "$(jq -r .status "$(latest)/run.json")" timed_out
	assert_equal "$(status_of a)" timed_out
	assert_equal "$(status_of b)" pending
	[[ "$stderr" == *"run deadline exceeded"* ]]
}

@test "retries: attempts with exponential backoff, each attempt's output kept" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "flaky", "retry": {"attempts": 3, "delay": "200ms", "factor": 2},
  "run": "echo try $DAG_ATTEMPT; n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; [ $n -ge 2 ]"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	d=$(latest)
	assert_equal "$(jq -r '.steps.flaky | [.status, .attempts] | @tsv' "$d/run.json")" $'succeeded\t3'
	assert_equal "$(cat "$d/steps/flaky/1.stdout") $(cat "$d/steps/flaky/3.stdout")" "try 1 try 3"
	assert_equal "$(jq -c 'select(.event == "step_retry") | [.attempt, .delay]' "$d/events.jsonl" | paste -sd' ')" "[2,0.2] [3,0.4]"
	# The backoff really waited: attempt 3 started >= 0.6 s after attempt 1.
	run jq -rs '[.[] | select(.event == "step_started") | .ts | sub("\\.[0-9]+Z$"; "Z") ] | length' "$d/events.jsonl"
	assert_output 3
}

@test "retry exit_codes: only listed statuses are retried, and a timeout is not one" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "retry": {"attempts": 5, "delay": 0, "exit_codes": [75]}, "run": "exit 3"},
 {"id": "b", "retry": {"attempts": 3, "delay": 0, "exit_codes": [75]}, "run": "exit 75"},
 {"id": "t", "timeout": "100ms", "retry": {"attempts": 3, "delay": 0, "exit_codes": [143]}, "run": "exec sleep 10"}]}
EOF2
	run -1 timeout 30 dag-run -q -k wf.json
	assert_equal "$(jq -r '[.steps.a.attempts, .steps.a.exit_code, .steps.b.attempts, .steps.b.exit_code] | @tsv' "$(latest)/run.json")" $'1\t3\t3\t75'
	assert_equal "$(jq -r '.steps.t | [.status, .attempts, .exit_code] | @tsv' "$(latest)/run.json")" $'timed_out\t1\t143'
}

@test "retries under on_failure stop and max_duration: no new attempt, the last outcome stands" {
	# waits: fails, waits 30 s to retry; bad then fails and the run stops:
	# waits ends failed at once and its all_done handler runs.  runs: fails
	# after the stop, no retry.  capped: its retry would start after
	# max_duration.
	dag wf.json <<'EOF2'
{"steps": [{"id": "waits", "retry": {"attempts": 3, "delay": "30s"}, "run": "exit 5"},
 {"id": "runs", "retry": {"attempts": 3, "delay": 0}, "run": "sleep 1; exit 6"},
 {"id": "bad", "run": "sleep 0.3; exit 1"},
 {"id": "cleanup", "needs": ["waits", "runs"], "trigger": "all_done", "run": "touch cleanup.done"}]}
EOF2
	run -1 timeout 20 dag-run -q -j3 wf.json
	d=$(latest)
	assert_equal "$(jq -r '[.status, (.steps | .waits, .runs | .status, .attempts, .exit_code, .reason), .steps.cleanup.status] | @tsv' "$d/run.json")" $'failed\tfailed\t1\t5\texit status 5\tfailed\t1\t6\texit status 6\tsucceeded'
	assert_file_exists cleanup.done
	run -1 dag-status "$d"
	refute_output --partial retry_wait
	dag cap.json <<'EOF2'
{"steps": [{"id": "capped", "retry": {"attempts": 5, "delay": "2s", "factor": 1, "max_duration": "1s"}, "run": "exit 1"}]}
EOF2
	run -1 timeout 20 dag-run -q cap.json
	assert_equal "$(jq -r '.steps.capped.attempts' "$(latest)/run.json")" 1
}

@test "a retry whose delay is over but that waits for a slot ends with its failure when the run stops" {
	# -j2: long holds a slot; r fails, f takes its slot; r's delay ends
	# while f runs, then f fails and the run stops: r is not left pending.
	dag wf.json <<'EOF2'
{"steps": [{"id": "long", "run": "i=0; while [ ! -e f.done ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done"},
 {"id": "r", "run": "exit 3", "retry": {"attempts": 2, "delay": "100ms"}},
 {"id": "f", "run": "i=0; until grep -q step_retry \"$DAG_RUN_DIR/events.jsonl\" || [ $i -ge 400 ]; do sleep 0.05; i=$((i + 1)); done; sleep 1; touch f.done; exit 1"}]}
EOF2
	run -1 timeout 60 dag-run -q -j2 --order declaration wf.json
	assert_equal "$(jq -r '.steps.r | [.status, .attempts, .exit_code] | @tsv' "$(latest)/run.json")" $'failed\t1\t3'
	assert_equal "$(jq -c 'select(.step == "r" and .event == "step_finished") | .retry' "$(latest)/events.jsonl" | paste -sd' ')" "true null"
	run -1 dag-status
	refute_output --partial retry_wait
}

@test "on_failure stop: nothing new starts; -k continues; abort kills running steps" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "bad", "run": "exit 1"}, {"id": "slow", "run": "sleep 1; touch slow.done"},
 {"id": "later", "needs": ["slow"], "run": "touch later.done"},
 {"id": "cleanup", "needs": ["bad", "later"], "trigger": "all_done", "run": "touch cleanup.done"}]}
EOF2
	run -1 timeout 30 dag-run -q -j2 wf.json
	assert_file_exists slow.done
	assert_file_not_exists later.done
	assert_equal "$(status_of later)" pending
	# The cleanup is an exit handler: later will not start, so it runs.
	assert_equal "$(status_of cleanup)" succeeded
	assert_file_exists cleanup.done
	rm -f slow.done cleanup.done
	run -1 timeout 30 dag-run -q -j2 -k wf.json
	assert_file_exists later.done
	assert_file_exists cleanup.done
	assert_equal "$(status_of bad)" failed
	rm -f slow.done later.done
	jq '.on_failure = "abort" | .steps[0].run = "sleep 0.3; exit 1"' wf.json > abort.json
	run -1 timeout 30 dag-run -q -j2 abort.json
	assert_equal "$(status_of slow)" cancelled
	assert_file_not_exists slow.done
}

@test "trigger rules: all_success, all_done, all_failed, one_failed, one_success, none_failed" {
	dag wf.json <<'EOF2'
{"on_failure": "continue", "steps": [
 {"id": "ok", "run": "true"}, {"id": "bad", "run": "false"}, {"id": "skip", "run": "true", "when": "false"},
 {"id": "t_all_success", "needs": ["ok", "bad"], "run": "true"},
 {"id": "t_all_success_skip", "needs": ["ok", "skip"], "run": "true"},
 {"id": "t_all_done", "needs": ["ok", "bad"], "trigger": "all_done", "run": "true"},
 {"id": "t_all_failed", "needs": ["bad"], "trigger": "all_failed", "run": "true"},
 {"id": "t_all_failed_no", "needs": ["ok", "bad"], "trigger": "all_failed", "run": "true"},
 {"id": "t_one_failed", "needs": ["ok", "bad"], "trigger": "one_failed", "run": "true"},
 {"id": "t_one_failed_no", "needs": ["ok"], "trigger": "one_failed", "run": "true"},
 {"id": "t_one_success", "needs": ["ok", "bad"], "trigger": "one_success", "run": "true"},
 {"id": "t_one_success_no", "needs": ["bad"], "trigger": "one_success", "run": "true"},
 {"id": "t_none_failed", "needs": ["ok", "skip"], "trigger": "none_failed", "run": "true"},
 {"id": "t_none_failed_no", "needs": ["ok", "bad"], "trigger": "none_failed", "run": "true"},
 {"id": "downstream", "needs": ["t_all_success"], "run": "true"}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	run jq -r '.steps | to_entries[] | "\(.key)=\(.value.status)"' "$(latest)/run.json"
	assert_equal "$(paste -sd' ' <<<"$output")" "ok=succeeded bad=failed skip=skipped t_all_success=upstream_failed t_all_success_skip=skipped t_all_done=succeeded t_all_failed=succeeded t_all_failed_no=skipped t_one_failed=succeeded t_one_failed_no=skipped t_one_success=succeeded t_one_success_no=upstream_failed t_none_failed=succeeded t_none_failed_no=upstream_failed downstream=upstream_failed"
}

@test "allow_failure: recorded as failed, the run and dependents go on" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "lint", "allow_failure": true, "run": "exit 4"}, {"id": "next", "needs": ["lint"], "run": "true"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	assert_equal "$(status_of lint) $(status_of next)" "failed succeeded"
}

@test "when: false skips; the condition sees ancestors' outputs" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "count", "run": "echo '{\"n\": 0}' > \"$DAG_OUTPUT\""},
 {"id": "load", "needs": ["count"], "when": ".steps.count.output.n > 0", "run": "touch loaded"},
 {"id": "report", "needs": ["count"], "when": ".steps.count.status == \"succeeded\"", "run": "touch reported"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	assert_equal "$(status_of load) $(status_of report)" "skipped succeeded"
	assert_equal "$(jq -r .steps.load.reason "$(latest)/run.json")" "when is false"
	assert_file_not_exists loaded
	assert_file_exists reported
}

@test "data flow: \$DAG_OUTPUT, stdout output, stdin input, input expression, transform" {
	dag wf.json <<'EOF2'
{"steps": [
 {"id": "users", "run": "echo '[\"ann\", \"bob\"]' > \"$DAG_OUTPUT\""},
 {"id": "shout", "needs": ["users"], "output": "stdout", "run": "jq -c '.users | map(ascii_upcase)'"},
 {"id": "count", "needs": ["shout"], "transform": "{n: (.shout | length)}"},
 {"id": "plain", "output": "stdout", "run": "echo not json"},
 {"id": "pick", "needs": ["count", "plain"], "input": ".steps.count.output.n", "run": "cat > got; echo $DAG_INPUT > path"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	d=$(cd "$(latest)" && pwd -P)
	assert_equal "$(cat "$d/steps/shout/output.json")" '["ANN","BOB"]'
	# A need's output reaches its dependent as it was written.
	assert_equal "$(cat "$d/steps/users/output.json")" '["ann", "bob"]'
	assert_equal "$(cat "$d/steps/shout/input.json")" '{"users":["ann", "bob"]}'
	assert_equal "$(cat "$d/steps/count/output.json")" '{"n":2}'
	assert_equal "$(cat "$d/steps/plain/output.json")" '"not json"'
	assert_equal "$(cat got)" 2
	assert_equal "$(cat path)" "$d/steps/pick/input.json"
}

@test "check: false fails the step even with exit 0; bad JSON output fails" {
	dag wf.json <<'EOF2'
{"on_failure": "continue", "steps": [
 {"id": "c", "run": "echo '{\"loaded\": false}' > \"$DAG_OUTPUT\"", "check": ".loaded == true"},
 {"id": "j", "run": "echo '{oops' > \"$DAG_OUTPUT\""},
 {"id": "e", "transform": "error(\"no way\")"}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	d=$(latest)
	assert_equal "$(jq -r '.steps.c | [.status, .exit_code, .reason] | @tsv' "$d/run.json")" $'failed\t0\tcheck failed'
	[[ "$(jq -r '.steps.j.reason' "$d/run.json")" == "output: line 1, column 2: invalid JSON: "* ]]
	assert_equal "$(jq -r '.steps.e.reason' "$d/run.json")" "transform: no way"
}

@test "a param full of quotes and \$(...) stays data in run, argv and env" {
	dag wf.json <<'EOF2'
{"params": {"v": "x"}, "steps": [
 {"id": "r", "run": "printf '%s' {{ .params.v }} > r.out"},
 {"id": "dq", "run": "printf '%s' \"<{{ .params.v }}>\" > dq.out"},
 {"id": "sq", "run": "printf '%s' '<{{ .params.v }}>' > sq.out"},
 {"id": "sub", "run": "printf '%s' \"$(printf '%s' {{ .params.v }})|$(printf '%s' \"{{ .params.v }}\")\" > sub.out # it's fine"},
 {"id": "cont", "run": "printf '%s' \"$\\\n(printf '%s' {{ .params.v }})\" \\\n  '{{ .params.v }}' > cont.out"},
 {"id": "a", "argv": ["sh", "-c", "printf '%s' \"$1\" > a.out", "sh", "{{ .params.v }}"]},
 {"id": "e", "env": {"V": "{{ .params.v }}"}, "run": "printf '%s' \"$V\" > e.out"}]}
EOF2
	evil="it's \"q\" \$(touch pwned) \`touch pwned2\` \\\$HOME \\; rm -rf nothing"
	run -0 timeout 30 dag-run -q -p "v=$evil" wf.json
	assert_equal "$(cat r.out)" "$evil"
	# Quoted for where they stand: inside "..." and '...' too.
	assert_equal "$(cat dq.out)" "<$evil>"
	assert_equal "$(cat sq.out)" "<$evil>"
	assert_equal "$(cat sub.out)" "$evil|$evil"
	# Backslash-newline is gone before the shell reads: "$\<newline>(" is $(.
	assert_equal "$(cat cont.out)" "$evil$evil"
	assert_equal "$(cat a.out)" "$evil"
	assert_equal "$(cat e.out)" "$evil"
	assert_file_not_exists pwned
	assert_file_not_exists pwned2
	run -2 --separate-stderr timeout 30 dag-run -q -p nope=1 wf.json
	assert_equal "$stderr" "dag-run: -p nope: unknown parameter (the DAG's params declare the keys)"
}

@test "the step environment: DAG_* variables, DAG env under step env" {
	dag wf.json <<'EOF2'
{"name": "envy", "env": {"A": "dag", "B": "dag"}, "steps": [
 {"id": "s", "env": {"B": "step", "DAG_ATTEMPT": "9"}, "run": "env | grep -E '^(A|B|DAG_[A-Z_]+)=' | sort > env.out"},
 {"id": "t", "needs": ["s"], "run": "env | grep -E '^DAG_[A-Z_]+=' | sort > env2.out"},
 {"id": "u", "needs": ["s"], "run": "echo '{\"x\": 1}' > \"$DAG_OUTPUT\""},
 {"id": "v", "needs": ["u"], "run": "env | grep -E '^DAG_[A-Z_]+=' | sort > env3.out"}]}
EOF2
	DAG_STEP_ID=leak DAG_RUN_DIR=leak run -0 timeout 30 dag-run -q wf.json
	d=$(cd "$(latest)" && pwd -P)
	run cat env.out
	assert_line "A=dag"
	assert_line "B=step"
	assert_line "DAG_STEP_ID=s"
	assert_line "DAG_ATTEMPT=1"
	assert_line "DAG_INPUT=/dev/null"
	assert_line "DAG_RUN_ID=$(basename "$d")"
	assert_line "DAG_RUN_DIR=$d"
	assert_line "DAG_OUTPUT=$d/steps/s@1.output"
	# Each once: ours replace the step's and dag-run's own.
	for v in RUN_ID RUN_DIR STEP_ID ATTEMPT INPUT OUTPUT; do
		[ "$(grep -c "^DAG_$v=" env.out)" -eq 1 ]
		[ "$(grep -c "^DAG_$v=" env2.out)" -eq 1 ]
	done
	run cat env2.out
	assert_line "DAG_STEP_ID=t"
	assert_line "DAG_OUTPUT=$d/steps/t@1.output"
	# {}: the sealed in-memory file dag-run holds, read-only.
	assert_line --regexp "^DAG_INPUT=/proc/[0-9]+/fd/[0-9]+$"
	run cat env3.out
	assert_line "DAG_INPUT=$d/steps/v/input.json"
	[ "$(jq -c . "$d/steps/v/input.json")" = '{"u":{"x":1}}' ]
}

@test "ids that look like another step's output file: both orders run, outputs apart" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a.1.output", "run": "echo '{\"from\": \"dotted\"}' > \"$DAG_OUTPUT\""},
 {"id": "a", "needs": ["a.1.output"], "run": "echo '{\"v\": 1}' > \"$DAG_OUTPUT\"; cat > a.in"},
 {"id": "b.1.output", "needs": ["b"], "run": "cat > b.in"},
 {"id": "b", "run": "echo '{\"w\": 2}' > \"$DAG_OUTPUT\""}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	jq -e '.counts == {"succeeded": 4}' "$(latest)/run.json"
	assert_equal "$(jq -c . a.in)" '{"a.1.output":{"from":"dotted"}}'
	assert_equal "$(jq -c . b.in)" '{"b":{"w":2}}'
	assert_equal "$(jq -c . "$(latest)/steps/a/output.json")" '{"v":1}'
}

@test "signals in a step: none blocked, SIGPIPE default, what the caller ignored stays ignored" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "argv": ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]},
 {"id": "b", "run": "grep -E '^Sig(Ign|Blk)' /proc/self/status"}]}
EOF2
	# bit n-1 of the masks is signal n
	pipe=$((1 << 12)) usr1=$((1 << 9)) own=$(((1 << 0) | (1 << 1) | (1 << 14) | (1 << 16)))
	for ignored in "" USR1; do
		rm -rf "$DAG_RUNS"
		run -0 timeout 30 bash -c "trap '' $ignored USR2; trap - USR2; exec dag-run -q wf.json"
		for s in a b; do
			f=$(latest)/steps/$s/1.stdout
			blk=$(awk '$1 == "SigBlk:" { print $2 }' "$f")
			ign=$(awk '$1 == "SigIgn:" { print $2 }' "$f")
			[ -n "$blk" ] && [ -n "$ign" ]
			(( 0x$blk == 0 ))
			# dag-run ignores SIGPIPE and blocks HUP, INT, TERM, CHLD.
			(( (0x$ign & (pipe | own)) == 0 ))
			if [ -n "$ignored" ]; then (( 0x$ign & usr1 )); else (( !(0x$ign & usr1) )); fi
		done
	done
}

@test "SIGTERM cancels: exit 143, running steps cancelled, nothing left running" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "echo $$ > a.pid; sleep 60"}, {"id": "b", "run": "sleep 60 & echo $! > b.pid; wait"},
 {"id": "c", "needs": ["a"], "run": "true"}]}
EOF2
	timeout 30 dag-run -q wf.json 3>&- &
	pid=$!
	for _ in $(seq 100); do [ -s a.pid ] && [ -s b.pid ] && break; sleep 0.1; done
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	assert_equal "$(status_of a) $(status_of b) $(status_of c)" "cancelled cancelled pending"
	assert_equal "$(jq -r .status "$(latest)/run.json")" cancelled
	run ! alive a.pid
	run ! alive b.pid
}

@test "--events streams the journal as JSON Lines; a closed reader does not stop the run" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"}, {"id": "b", "needs": ["a"], "run": "sleep 0.3; touch b.done"}]}
EOF2
	run -0 --separate-stderr timeout 30 dag-run -q --events wf.json
	assert_equal "$(jq -r .event <<<"$output" | paste -sd' ')" "run_started step_started step_finished step_started step_finished run_finished"
	assert_equal "$output" "$(cat "$(latest)/events.jsonl")"
	rm -f b.done
	run -0 bash -c 'timeout 30 dag-run -q --events wf.json | head -1 > first.json; exit ${PIPESTATUS[0]}'
	assert_file_exists b.done
	assert_equal "$(jq -r .event first.json)" run_started
}

@test "--events to a reader that does not read yet: the run goes on, the reader gets every line later" {
	# 600 steps make far more lines than a pipe holds; the reader starts
	# reading only once the run is over (or after 60 s: the old stall).
	jq -n '{steps: ([range(600) | {id: "s\(.)", argv: ["true"]}] + [{id: "last", needs: [range(600) | "s\(.)"], run: "touch run.over"}])}' > wf.json
	run -0 bash -c 'timeout 120 dag-run -q -j2 --events wf.json | { n=0; until [ -e run.over ] || [ $n -ge 600 ]; do sleep 0.1; n=$((n + 1)); done; [ -e run.over ] && echo saw > reader.saw; cat > events.out; }; exit ${PIPESTATUS[0]}'
	assert_file_exists reader.saw
	assert_equal "$(wc -l < events.out)" 1204
	cmp events.out "$(latest)/events.jsonl"
}

@test "-n prints what would run and runs nothing" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "b", "needs": ["a"], "run": "touch b"}, {"id": "a", "argv": ["touch", "a file"]},
 {"id": "t", "transform": "1"}]}
EOF2
	run -0 --separate-stderr dag-run -n wf.json
	assert_equal "$output" $'a\ttouch a file\nb\ttouch b\nt\ttransform'
	assert_file_not_exists b
	assert_file_not_exists "$DAG_RUNS"
}

@test "--target runs only the step and its ancestors" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "touch a"}, {"id": "b", "needs": ["a"], "run": "touch b"},
 {"id": "c", "needs": ["a"], "run": "touch c"}, {"id": "d", "needs": ["c"], "run": "touch d"}]}
EOF2
	run -0 timeout 30 dag-run -q --target c wf.json
	assert_file_exists a
	assert_file_exists c
	assert_file_not_exists b
	assert_file_not_exists d
	assert_equal "$(jq -c .counts "$(latest)/run.json")" '{"succeeded":2}'
	run -2 dag-run -q --target nope wf.json
}

@test "--json prints the final run state on stdout" {
	echo '{"steps": [{"id": "a", "run": "true"}]}' > wf.json
	run -0 --separate-stderr timeout 30 dag-run -q --json wf.json
	assert_equal "$(jq -r '[.status, .steps.a.status, .steps.a.exit_code] | @tsv' <<<"$output")" $'succeeded\tsucceeded\t0'
}

@test "-v relays step output live, prefixed with the step id" {
	echo '{"steps": [{"id": "talk", "run": "echo one; echo two >&2; printf three"}]}' > wf.json
	run -0 --separate-stderr timeout 30 dag-run -v wf.json
	assert_equal "$output" ""
	[[ "$stderr" == *"[talk] one"* ]]
	[[ "$stderr" == *"[talk] two"* ]]
	[[ "$stderr" == *"[talk] three"* ]]
	assert_equal "$(cat "$(latest)/steps/talk/1.stdout")" $'one\nthree'
}

@test "-v relays whole lines: unfinished lines of steps running together do not mix" {
	# a leaves "abc" unfinished until b has written its lines.
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "printf abc; touch a.half; until [ -e b.done ]; do sleep 0.01; done; printf 'def\\n'; printf tail"},
 {"id": "b", "run": "until [ -e a.half ]; do sleep 0.01; done; echo bbb; printf err >&2; touch b.done"}]}
EOF2
	run -0 --separate-stderr timeout 30 dag-run -v -j2 wf.json
	assert_equal "$(grep -E '^\[[ab]\] ' <<<"$stderr" | LC_ALL=C sort | paste -sd'|')" '[a] abcdef|[a] tail|[b] bbb|[b] err'
	# Every line of stderr is a relayed line or a progress line.
	run grep -cvE '^\[([ab]|[0-9]+/2)\] ' <<<"$stderr"
	assert_output 0
	# A line longer than 64 KiB goes out in pieces of 64 KiB at most.
	echo '{"steps": [{"id": "w", "run": "head -c 200000 /dev/zero | tr \"\\\\0\" x; echo; echo end"}]}' > long.json
	run -0 --separate-stderr timeout 30 dag-run -q -v long.json
	assert_equal "$(awk '{ print length($0) }' <<<"$stderr" | paste -sd' ')" "65540 65540 65540 3396 7"
}

@test "a missing command exits 127 with a reason; a missing cwd fails clearly" {
	dag wf.json <<'EOF2'
{"on_failure": "continue", "steps": [{"id": "r", "run": "no-such-cmd-xyz"}, {"id": "a", "argv": ["no-such-cmd-xyz"]},
 {"id": "c", "cwd": "no/such/dir", "run": "true"}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	d=$(latest)
	assert_equal "$(jq -r '.steps.r.exit_code, .steps.a.exit_code, .steps.a.reason' "$d/run.json" | paste -sd' ')" \
	    "127 127 no-such-cmd-xyz: command not found"
	[[ "$(cat "$d/steps/r/1.stderr")" == *"not found"* ]]
	assert_equal "$(jq -r '.steps.c.reason' "$d/run.json")" "cwd 'no/such/dir': No such file or directory"
}

@test "exit statuses: 0, 1, 2 usage and invalid DAG, 4 unreadable" {
	echo '{"steps": [{"id": "a", "run": "true"}]}' > ok.json
	echo '{"steps": [{"id": "a", "run": "false"}]}' > bad.json
	echo '{"steps": [{"id": "a", "run": "true", "needs": ["a"]}]}' > invalid.json
	run -0 timeout 30 dag-run -q ok.json
	run -1 timeout 30 dag-run -q bad.json
	run -2 --separate-stderr timeout 30 dag-run -q invalid.json
	assert_equal "$stderr" 'invalid.json: steps[0].needs[0]: step "a" needs itself'
	run -2 dag-run --bogus
	run -2 dag-run --run-id ../escape ok.json
	run -2 --separate-stderr dag-run --rerun a ok.json
	assert_equal "$stderr" "dag-run: --rerun and --downstream go with --resume RUN"
	run -4 dag-run -q missing.json
	run -0 dag-run --version
	assert_output --regexp '^dag-run [0-9.]+$'
}

@test "a step's input.json that cannot be written: exit 4, the step not started, the file named" {
	# a puts a file where b's directory goes.
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "echo '{\"v\": 1}' > \"$DAG_OUTPUT\"; touch \"$DAG_RUN_DIR/steps/b\""},
 {"id": "b", "needs": ["a"], "run": "cat > b.in"}]}
EOF2
	run -4 --separate-stderr timeout 30 dag-run -q --run-id r wf.json
	assert_equal "$stderr" "dag-run: $DAG_RUNS/r/steps/b/input.json: Not a directory"
	assert_file_not_exists b.in
	assert_equal "$(jq -r .steps.b.status "$DAG_RUNS/r/run.json")" failed
}

@test "a need's output.json damaged or missing: exit 4, the dependent not started, the file named" {
	dag wf.json <<'EOF2'
{"name": "o", "steps": [{"id": "a", "run": "echo '{\"v\": 1}' > \"$DAG_OUTPUT\""},
 {"id": "b", "needs": ["a"], "run": "printf '{\"v\":' > \"$DAG_RUN_DIR/steps/a/output.json\""},
 {"id": "c", "needs": ["a", "b"], "run": "cat > c.in"},
 {"id": "z", "needs": ["c"], "trigger": "all_done", "run": "touch z.ran"}]}
EOF2
	# b damages it in place after reading it: c reads it again.
	run -4 --separate-stderr timeout 30 dag-run -q --run-id r0 wf.json
	assert_equal "$stderr" "dag-run: $DAG_RUNS/r0/steps/a/output.json: line 1, column 6: invalid JSON: unexpected end of document; the output of \"a\" is damaged: run a again with dag-step"
	assert_file_not_exists c.in
	# A system error starts nothing new, not even an all_done handler.
	assert_file_not_exists z.ran
	assert_equal "$(jq -r '.steps | [.a, .b, .c] | map(.status) | join(" ")' "$DAG_RUNS/r0/run.json")" "succeeded succeeded failed"
	# --resume: b and c fail until go exists; c has a when (a jq child).
	dag wf.json <<'EOF2'
{"name": "o", "on_failure": "continue", "steps": [{"id": "a", "run": "echo '{\"v\": 1}' > \"$DAG_OUTPUT\""},
 {"id": "b", "needs": ["a"], "run": "[ -e go ] && cat > b.in"},
 {"id": "c", "needs": ["a"], "when": ".steps.a.output.v == 1", "run": "[ -e go ] && touch c.ran"}]}
EOF2
	run -1 timeout 30 dag-run -q --run-id r1 wf.json
	run -1 timeout 30 dag-run -q --run-id r2 --target c wf.json
	touch go
	out=$DAG_RUNS/r1/steps/a/output.json
	printf '[1' > "$out"
	run -4 --separate-stderr timeout 30 dag-run -q --resume r1
	# One line for each of b and c that was started (-j: both may be).
	for l in "${stderr_lines[@]}"; do
		assert_equal "$l" "dag-run: $out: line 1, column 3: invalid JSON: expected ',' or ']' in array; the output of \"a\" is damaged: run a again with dag-step"
	done
	[ "${#stderr_lines[@]}" -ge 1 ]
	assert_file_not_exists b.in
	assert_equal "$(jq -r .status "$DAG_RUNS/r1/run.json")" failed
	rm "$DAG_RUNS/r2/steps/a/output.json"
	# --target aims each invocation that names it (a resume too).
	run -4 --separate-stderr timeout 30 dag-run -q --resume r2 --target c
	assert_equal "$stderr" "dag-run: $DAG_RUNS/r2/steps/a/output.json: No such file or directory; the output of \"a\" is lost: run a again with dag-step"
	assert_file_not_exists c.ran
}

@test "dag-step re-runs one step with its recorded input and appends an attempt" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "echo '{\"x\": 41}' > \"$DAG_OUTPUT\""},
 {"id": "b", "needs": ["a"], "output": "stdout", "run": "jq '.a.x + 1'"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	d=$(latest)
	run -0 --separate-stderr timeout 30 dag-step -q --json --run-dir "$d" b
	assert_equal "$(jq -r '[.id, .status, .attempts] | @tsv' <<<"$output")" $'b\tsucceeded\t2'
	assert_equal "$(cat "$d/steps/b/2.stdout")" 42
	assert_equal "$(jq -r '.steps.b.attempts' "$d/run.json")" 2
	run -2 dag-step --run-dir "$d" nope
	run -2 dag-step b
}

# ---------------------------------------------------------------------------
# The run's lifecycle (sched.c): each of these failed before the engine
# was redesigned.

@test "a 300,000-step chain whose first step fails settles: the rest upstream_failed, exit 1, no stack overflow" {
	n=300000
	# Under ASan or valgrind frames are bigger and journal lines slower.
	[ -n "${ASAN_OPTIONS:-}${DAGKIT_SLOW:-}" ] && n=100000
	jq -nc --argjson n "$n" '{name: "chain", steps: ([{id: "s0", run: "false"}]
	    + [range(1; $n) | {id: "s\(.)", run: "true", needs: ["s\(. - 1)"]}])}' > chain.json
	run -1 --separate-stderr timeout 900 dag-run -q chain.json
	assert_equal "$(jq -c .counts "$(latest)/run.json")" "{\"failed\":1,\"upstream_failed\":$((n - 1))}"
	assert_equal "$(jq -r '.steps["s'$((n - 1))'"].reason' "$(latest)/run.json")" "a need did not succeed"
	assert_equal "$(grep -c '"event":"step_skipped"' "$(latest)/events.jsonl")" $((n - 1))
}

@test "--target aims only the invocation that names it: a later --resume without it runs the whole DAG" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "test -e fixed"}, {"id": "b", "needs": ["a"], "run": "touch b.ran"}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	assert_equal "$(status_of b)" upstream_failed
	touch fixed
	run -0 timeout 30 dag-run -q --resume latest --target a
	assert_file_not_exists b.ran
	assert_equal "$(jq -c .counts "$(latest)/run.json")" '{"succeeded":1}'
	run -0 timeout 30 dag-run -q --resume latest
	assert_file_exists b.ran
	run -0 dag-status
	assert_line "status   succeeded"
	assert_line "done     2/2"
	assert_equal "$(jq -c .counts "$(latest)/run.json")" '{"succeeded":2}'
	# The journal says it: targets on the invocation that named them only.
	assert_equal "$(jq -c 'select(.event == "run_started") | .targets' "$(latest)/events.jsonl" | paste -sd' ')" 'null ["a"] null'
}

@test "--resume with other params is refused, naming them; --params-changed records the new ones" {
	dag wf.json <<'EOF2'
{"params": {"day": "today", "n": "1"}, "steps": [{"id": "a", "run": "echo a {{ .params.day }} >> log"},
 {"id": "b", "needs": ["a"], "run": "echo b {{ .params.day }} >> log; test -e ok"}]}
EOF2
	run -1 timeout 30 dag-run -q -p day=2026-01-01 wf.json
	touch ok
	nev=$(wc -l < "$(latest)/events.jsonl")
	run -2 --separate-stderr timeout 30 dag-run -q --resume latest -p day=2099-12-31 -p n=1
	assert_equal "$stderr" 'dag-run: --resume: -p differs from the params the run began with: day was "2026-01-01", now "2099-12-31" (give --params-changed to re-run what did not succeed with the new values)'
	# Refused before anything was written or run.
	assert_equal "$(wc -l < "$(latest)/events.jsonl")" "$nev"
	assert_equal "$(paste -sd' ' log)" "a 2026-01-01 b 2026-01-01"
	run -2 --separate-stderr timeout 30 dag-run -q --params-changed wf.json
	assert_equal "$stderr" "dag-run: --params-changed goes with --resume"
	# The same values are no change; no -p keeps the run's.
	rm ok
	run -1 timeout 30 dag-run -q --resume latest -p day=2026-01-01
	run -1 timeout 30 dag-run -q --resume latest
	assert_equal "$(paste -sd' ' log)" "a 2026-01-01 b 2026-01-01 b 2026-01-01 b 2026-01-01"
	touch ok
	run -0 timeout 30 dag-run -q --resume latest -p day=2099-12-31 --params-changed
	assert_equal "$(paste -sd' ' log)" "a 2026-01-01 b 2026-01-01 b 2026-01-01 b 2026-01-01 b 2099-12-31"
	assert_equal "$(jq -c .params "$(latest)/run.json")" '{"day":"2099-12-31","n":"1"}'
	assert_equal "$(jq -r 'select(.event == "run_started") | .params.day' "$(latest)/events.jsonl" | paste -sd' ')" \
	    "2026-01-01 2026-01-01 2026-01-01 2099-12-31"
}

@test "a resumed step gets its full retry budget again; attempt numbers go on" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "echo $DAG_ATTEMPT >> attempts; test -e ok", "retry": {"attempts": 3, "delay": 0}}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	assert_equal "$(paste -sd' ' attempts)" "1 2 3"
	run -1 timeout 30 dag-run -q --resume latest
	assert_equal "$(paste -sd' ' attempts)" "1 2 3 4 5 6"
	assert_equal "$(jq -r '.steps.a | [.status, .attempts] | @tsv' "$(latest)/run.json")" $'failed\t6'
	assert_equal "$(jq -r 'select(.event == "step_finished") | "\(.attempt):\(.retry // false)"' "$(latest)/events.jsonl" | paste -sd' ')" \
	    "1:true 2:true 3:false 4:true 5:true 6:false"
	touch ok
	run -0 timeout 30 dag-run -q --resume latest
	assert_equal "$(jq -r '.steps.a | [.status, .attempts] | @tsv' "$(latest)/run.json")" $'succeeded\t7'
}
