#!/usr/bin/env bats
# dag-status views and exit statuses; resume after crashes; the cron lock.

load test_helper

latest() { echo "$DAG_RUNS/latest"; }

two_steps() {
	dag wf.json <<'EOF2'
{"name": "two", "steps": [{"id": "build", "run": "echo built; echo warn >&2"},
 {"id": "test", "needs": ["build"], "run": "echo tested"}]}
EOF2
}

@test "default view: header and step table of the latest run, exit 0" {
	two_steps
	run -0 timeout 30 dag-run -q wf.json
	run -0 dag-status
	assert_line --index 0 --regexp "^run      [0-9]{8}T[0-9]{6}Z-two-[0-9a-f]{4}$"
	assert_line --index 1 "dag      two"
	assert_line --index 2 "status   succeeded"
	assert_line --regexp '^started  [0-9-]{10}T[0-9:.]{12}Z$'
	assert_line "done     2/2"
	assert_line --regexp '^STEP +STATUS +ATTEMPTS +DURATION +EXIT$'
	assert_line --regexp '^build +succeeded +1 +[0-9.]+m?s +0$'
	assert_line --regexp '^test +succeeded +1 +[0-9.]+m?s +0$'
}

@test "--json is the run state; --run-dir and RUN select a run" {
	two_steps
	run -0 timeout 30 dag-run -q --run-id first wf.json
	run -0 --separate-stderr dag-status --json
	assert_equal "$(jq -r '[.format, .id, .status, .steps.test.status, .counts.succeeded] | @tsv' <<<"$output")" $'1\tfirst\tsucceeded\tsucceeded\t2'
	run -0 --separate-stderr dag-status --json --run-dir "$DAG_RUNS/first"
	assert_equal "$(jq -r .id <<<"$output")" first
	run -0 --separate-stderr dag-status --json first
	assert_equal "$(jq -r .id <<<"$output")" first
	run -2 --separate-stderr dag-status nosuch
	assert_equal "$stderr" "dag-status: no such run: $DAG_RUNS/nosuch"
}

@test "exit statuses: 1 failed, 3 timed out, 130 cancelled, 2 usage" {
	echo '{"steps": [{"id": "a", "run": "echo oops; false"}]}' > bad.json
	run -1 timeout 30 dag-run -q bad.json
	run -1 dag-status
	assert_line "status   failed"
	# Output that cannot be written is an I/O error (4), said once, not
	# the run's status.
	for view in "" --json --gantt "--html -" "--logs a"; do
		run -4 --separate-stderr sh -c "dag-status $view > /dev/full"
		assert_equal "$stderr" "dag-status: stdout: No space left on device"
	done
	echo '{"timeout": "300ms", "steps": [{"id": "a", "run": "sleep 10"}]}' > slow.json
	run -3 timeout 30 dag-run -q slow.json
	run -3 dag-status
	assert_line "status   timed_out"
	echo '{"steps": [{"id": "a", "run": "touch started; sleep 10"}]}' > long.json
	timeout 30 dag-run -q long.json 3>&- &
	pid=$!
	for _ in $(seq 100); do [ -e started ] && break; sleep 0.1; done
	kill -INT "$pid"
	wait "$pid" || true
	run -130 dag-status
	assert_line "status   cancelled"
	run -2 dag-status --bogus
	run -2 --separate-stderr dag-status --json --gantt
	assert_equal "$stderr" "dag-status: --json and --gantt are two views: choose one"
	run -2 --separate-stderr dag-status --list --json
	assert_equal "$stderr" "dag-status: --list and --json are two views: choose one"
	# No such run: named as given.
	run -2 --separate-stderr dag-status --run-dir /nonexistent
	assert_equal "$stderr" "dag-status: no such run: /nonexistent"
	# A directory that is no run (no dag.json): 2, and nothing leaks on
	# the way out (the ASan pass sees it).
	mkdir notarun
	run -2 --separate-stderr dag-status --run-dir notarun
	[[ "$stderr" == "dag-status: open 'notarun/dag.json': No such file or directory" ]]
}

@test "exit 5 while running, 6 when the dag-run died (interrupted)" {
	echo '{"steps": [{"id": "a", "run": "touch started; sleep 30"}]}' > long.json
	dag-run -q long.json 3>&- &
	pid=$!
	for _ in $(seq 100); do [ -e started ] && break; sleep 0.1; done
	run -5 dag-status
	assert_line "status   running"
	assert_line --regexp '^eta      '
	kill -KILL "$pid"
	wait "$pid" || true
	run -6 dag-status
	assert_line "status   interrupted"
	# Nothing happens in a dead run: its elapsed time stops at its last event.
	run -6 --separate-stderr dag-status --json
	d1=$(jq .duration <<<"$output")
	sleep 1.1
	run -6 --separate-stderr dag-status --json
	assert_equal "$(jq .duration <<<"$output")" "$d1"
	run -0 dag-status --list
	assert_line --index 1 --regexp ' interrupted '
	# Another reader probing the lock at the same moment (flock -s, as
	# dag-status does) is not taken for a live dag-run.
	flock -s "$(latest)/lock" sleep 5 3>&- &
	reader=$!
	for _ in $(seq 100); do flock -n "$(latest)/lock" true || break; sleep 0.05; done
	run -6 dag-status
	run -0 dag-status --list
	assert_line --index 1 --regexp ' interrupted '
	kill "$reader" || true
	pkill -f 'sleep 30' || true
}

@test "--list shows past runs newest first with status and duration" {
	two_steps
	run -0 timeout 30 dag-run -q --run-id 20260101T000000Z-a wf.json
	echo '{"steps": [{"id": "a", "run": "false"}]}' > bad.json
	run -1 timeout 30 dag-run -q --run-id 20260102T000000Z-b bad.json
	run -0 dag-status --list
	assert_line --index 0 --regexp '^RUN +STATUS +STARTED +DURATION$'
	assert_line --index 1 --regexp '^20260102T000000Z-b +failed +[0-9T:.Z-]+ +[0-9.]+m?s$'
	assert_line --index 2 --regexp '^20260101T000000Z-a +succeeded '
	# By start time, not by name: a later run with an earlier-sorting id.
	run -0 timeout 30 dag-run -q --run-id 00-first-by-name wf.json
	run -0 dag-status --list
	assert_line --index 1 --regexp '^00-first-by-name +succeeded '
	# A run's first run.json comes with its first command: one without
	# it is running while its lock is held, else it was interrupted; a
	# directory that is no run says "?".
	# Its start time is its journal's.
	rm "$DAG_RUNS/00-first-by-name/run.json"
	mkdir "$DAG_RUNS/not-a-run"
	run -0 dag-status --list
	assert_line --index 1 --regexp '^00-first-by-name +interrupted +[0-9T:.Z-]+ '
	assert_line --regexp '^not-a-run +\? '
	exec 4>>"$DAG_RUNS/00-first-by-name/lock"
	flock -x 4
	run -0 dag-status --list
	exec 4>&-
	assert_line --index 1 --regexp '^00-first-by-name +running '
}

@test "--logs prints a step's captured output; --attempt picks an attempt" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "f", "retry": {"attempts": 2, "delay": 0}, "run": "echo out $DAG_ATTEMPT; echo err $DAG_ATTEMPT >&2; [ $DAG_ATTEMPT = 2 ]"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	run -0 --separate-stderr dag-status --logs f
	assert_equal "$output" "out 2"
	assert_equal "$stderr" "err 2"
	run -0 --separate-stderr dag-status --logs f --attempt 1
	assert_equal "$output" "out 1"
	run -2 --separate-stderr dag-status --logs f --attempt 3
	assert_equal "$stderr" 'dag-status: step "f" has 2 attempts, not 3'
	# --attempt means nothing to the other views.
	run -2 --separate-stderr dag-status --attempt 1
	assert_equal "$stderr" 'dag-status: --attempt goes with --logs'
	run -2 dag-status --logs nope
	# A step that printed nothing has no files and nothing to show.
	echo '{"steps": [{"id": "q", "run": "true"}, {"id": "n", "needs": ["q"], "when": "false", "run": "true"}]}' > quiet.json
	run -0 timeout 30 dag-run -q quiet.json
	run -0 --separate-stderr dag-status --logs q
	assert_equal "$output$stderr" ""
	run -2 --separate-stderr dag-status --logs n
	assert_equal "$stderr" 'dag-status: step "n" has not run'
}

# fix_times DIR A: the run's journal with its times made exact, whatever
# the machine's load was: the run from 0 to 600 ms, step A from 0 to 300,
# the other step from 300 to 600.
fix_times() {
	jq -c --arg a "$2" 'def t(ms): "2026-01-01T00:00:00.\(("00" + (ms | tostring))[-3:])Z";
	    .ts = (if .event == "run_started" then t(0) elif .event == "run_finished" then t(600)
	        elif .step == $a then (if .event == "step_started" then t(0) else t(300) end)
	        elif .event == "step_started" then t(300) else t(600) end)' "$1/events.jsonl" > "$1/events.new"
	mv "$1/events.new" "$1/events.jsonl"
}

@test "--gantt draws a text timeline scaled to the width" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"}, {"id": "b", "needs": ["a"], "run": "true"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	fix_times "$DAG_RUNS/latest" a
	COLUMNS=60 run -0 dag-status --gantt
	assert_line --index 0 --regexp '^STEP \| {42}\| 600ms$'
	assert_line --index 1 --regexp '^a    \|#{21} {21}\| 300ms$'
	assert_line --index 2 --regexp '^b    \| {21}#{21}\| 300ms$'
}

@test "--gantt fits COLUMNS down to 40: a long id is cut, the bar keeps 10 columns" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a_step_identifier_longer_than_thirty_columns", "run": "true"},
 {"id": "b", "needs": ["a_step_identifier_longer_than_thirty_columns"], "run": "true"}]}
EOF2
	run -0 timeout 30 dag-run -q wf.json
	fix_times "$DAG_RUNS/latest" a_step_identifier_longer_than_thirty_columns
	for c in 40 44 45 53 54 1000; do
		COLUMNS=$c run -0 dag-status --gantt
		for l in "${lines[@]}"; do
			[ "${#l}" -le "$c" ] || fail "COLUMNS=$c: ${#l} columns: $l"
		done
		assert_line --index 1 --regexp '^a_step_identifie[a-z_]* \|#+ +\| 300ms$'
		bar=${lines[1]#*|}
		bar=${bar%|*}
		[ "${#bar}" -ge 10 ] || fail "COLUMNS=$c: a bar of ${#bar}"
	done
	COLUMNS=40 run -0 dag-status --gantt
	assert_line --index 0 --regexp '^STEP {13}\| {10}\| 600ms$'
	assert_line --index 1 --regexp '^a_step_identifie \|#{5} {5}\| 300ms$'
	assert_line --index 2 --regexp '^b {16}\| {5}#{5}\| 300ms$'
	# Where it fits, as before: the id column is 30 wide at most.
	COLUMNS=80 run -0 dag-status --gantt
	assert_line --index 1 --regexp '^a_step_identifier_longer_than_ \|#{18} {18}\| 300ms$'
}

@test "--html writes a self-contained report that Chromium renders" {
	dag wf.json <<'EOF2'
{"on_failure": "continue", "steps": [{"id": "ok", "run": "true"}, {"id": "boom", "run": "echo '<b>bad</b> & worse' >&2; exit 2"},
 {"id": "after", "needs": ["ok"], "run": "true"}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	run -1 dag-status --html report.html
	assert_file_exists report.html
	# "-" is standard output, the same page (but for when it was made).
	dag-status --html - > stdout.html || true
	cmp <(grep -v '^<footer>' stdout.html) <(grep -v '^<footer>' report.html)
	assert_file_not_exists ./-
	grep -q '<svg id="timeline"' report.html
	grep -q '&lt;b&gt;bad&lt;/b&gt; &amp; worse' report.html
	run grep -Ec '(src|href)="https?:' report.html
	assert_output 0
	command -v chromium >/dev/null || skip "chromium is not installed"
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic \
	    --no-first-run --disable-background-networking --disable-component-update \
	    --disable-sync --user-data-dir="$BATS_TEST_TMPDIR/chrome" \
	    --screenshot="$BATS_TEST_TMPDIR/shot.png" --window-size=1200,900 \
	    "file://$BATS_TEST_TMPDIR/report.html" 2>/dev/null
	assert_file_exists shot.png
	[ "$(stat -c %s shot.png)" -gt 5000 ]
	run timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic \
	    --no-first-run --disable-background-networking --disable-component-update \
	    --disable-sync --user-data-dir="$BATS_TEST_TMPDIR/chrome2" \
	    --dump-dom "file://$BATS_TEST_TMPDIR/report.html"
	[[ "$output" == *'<svg id="timeline"'* ]]
	[[ "$output" == *boom* ]]
}

@test "-f follows a run until it ends and exits with its status" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "sleep 0.5"}, {"id": "b", "needs": ["a"], "run": "sleep 0.5; echo boom >&2; exit 1"}]}
EOF2
	timeout 30 dag-run -q wf.json 3>&- &
	pid=$!
	for _ in $(seq 50); do [ -e "$DAG_RUNS/latest/events.jsonl" ] && break; sleep 0.1; done
	run -1 --separate-stderr timeout 30 dag-status -f
	wait "$pid" || true
	[[ "$stderr" == *"ok a"* ]]
	[[ "$stderr" == *"FAILED b"* ]]
	[[ "$stderr" == *"    b | boom"* ]]	# the failed step's stderr tail
	[[ "$stderr" == *"dag-status: run "*" failed"* ]]
}

@test "- reads an event stream: dag-run --events wf.json | dag-status -" {
	two_steps
	run -0 --separate-stderr bash -c 'timeout 30 dag-run -q --events wf.json | dag-status -'
	[[ "$stderr" == *"[1/2] ok build"* ]]
	[[ "$stderr" == *"[2/2] ok test"* ]]
	[[ "$stderr" == *"succeeded"* ]]
	echo '{"steps": [{"id": "a", "run": "echo nope >&2; false"}]}' > bad.json
	run -1 --separate-stderr bash -c 'timeout 30 dag-run -q --events bad.json | dag-status -'
	[[ "$stderr" == *"    a | nope"* ]]
}

@test "resume after a failure re-runs only what did not succeed" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "echo a >> ran"}, {"id": "b", "needs": ["a"], "run": "echo b >> ran; [ -e fixed ]"},
 {"id": "c", "needs": ["b"], "run": "echo c >> ran"}]}
EOF2
	run -1 timeout 30 dag-run -q wf.json
	assert_equal "$(paste -sd' ' ran)" "a b"
	touch fixed
	run -0 timeout 30 dag-run -q --resume latest
	assert_equal "$(paste -sd' ' ran)" "a b b c"
	run -0 dag-status
	assert_line "status   succeeded"
	assert_equal "$(jq -r .steps.b.attempts "$(latest)/run.json")" 2
}

@test "resume after Ctrl-C" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "echo a >> ran"}, {"id": "b", "needs": ["a"], "run": "touch b.started; [ -e fast ] || sleep 30; echo b >> ran"}]}
EOF2
	timeout 60 dag-run -q wf.json 3>&- &
	pid=$!
	for _ in $(seq 100); do [ -e b.started ] && break; sleep 0.1; done
	kill -INT "$pid"
	wait "$pid" || true
	touch fast
	run -0 timeout 30 dag-run -q --resume latest
	assert_equal "$(paste -sd' ' ran)" "a b"
}

@test "crash test: SIGKILL at random moments, resume, every step succeeds exactly once after success" {
	n=120
	{
		printf '{"name": "crash", "steps": ['
		for i in $(seq 0 $((n - 1))); do
			[ "$i" -gt 0 ] && printf ','
			if [ "$i" -ge 10 ]; then
				printf '{"id": "s%d", "needs": ["s%d", "s%d"], "run": "sleep 0.%d; echo s%d >> ran.log"}' \
				    "$i" $((i - 10)) $((i - 1)) $((i % 5 + 5)) "$i"
			else
				printf '{"id": "s%d", "run": "sleep 0.%d; echo s%d >> ran.log"}' "$i" $((i % 5 + 5)) "$i"
			fi
		done
		printf ']}\n'
	} > crash.json
	dag-validate -q crash.json
	# dag-run itself is killed (no timeout wrapper between us and it).
	dag-run -q -j2 --run-id crash crash.json 3>&- &
	pid=$!
	# The run must exist before the first kill (slow under ASan/valgrind).
	for _ in $(seq 300); do [ -s "$DAG_RUNS/crash/events.jsonl" ] && break; sleep 0.05; done
	kills=0
	for round in 1 2 3 4 5 6; do
		sleep "0.$((RANDOM % 5 + 2))"
		if kill -KILL "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
		wait "$pid" 2>/dev/null || true
		dag-run -q -j2 --resume crash 3>&- &
		pid=$!
	done
	wait "$pid" || true
	[ "$kills" -ge 3 ]
	run -0 timeout 120 dag-run -q -j2 --resume crash
	d="$DAG_RUNS/crash"
	assert_equal "$(jq -r '.counts.succeeded' "$d/run.json")" "$n"
	run -0 dag-status crash
	# Every line but possibly a torn last one is valid JSON.
	total=$(wc -l < "$d/events.jsonl")
	valid=$(jq -c . "$d/events.jsonl" 2>/dev/null | wc -l)
	[ "$valid" -ge "$((total - 1))" ]
	# No step started again after the journal recorded it succeeded.
	run jq -rn '[inputs] | reduce .[] as $e ({ok: {}, bad: []};
	    if $e.event == "step_finished" and $e.status == "succeeded" then .ok[$e.step] = true
	    elif $e.event == "step_started" and .ok[$e.step] then .bad += [$e.step]
	    else . end) | .bad | length' "$d/events.jsonl"
	assert_output 0
	# Every step's command completed at least once.
	assert_equal "$(sort -u ran.log | wc -l)" "$n"
}

@test "resume and dag-step kill what the dead run left, journaled or not: found by DAG_RUN_ID" {
	dag wf.json <<'EOF2'
{"name": "left", "steps": [{"id": "a", "run": "setsid sleep 300 > /dev/null 2>&1 & echo $! > daemon.pid"},
 {"id": "b", "needs": ["a"], "run": "[ -e resumed ] || { touch b.started; sleep 300; }"}]}
EOF2
	dag-run -q --run-id left wf.json 3>&- &
	pid=$!
	for _ in $(seq 600); do [ -e b.started ] && break; sleep 0.05; done
	kill -KILL "$pid"
	wait "$pid" || true
	# A step the journal never heard of (killed between its start and the
	# journal's write): only its environment says whose it is.
	DAG_RUN_ID=left DAG_RUN_DIR="$(cd "$DAG_RUNS/left" && pwd -P)" DAG_STEP_ID=b sleep 300 3>&- &
	unjournaled=$!
	running "$(cat daemon.pid)"
	touch resumed
	run -0 timeout 60 dag-run -q --resume left
	run ! running "$(cat daemon.pid)"
	wait "$unjournaled" || true
	run ! running "$unjournaled"
	# dag-step: a dead dag-step's attempt is killed before the next starts.
	dag wf2.json <<'EOF2'
{"name": "again", "steps": [{"id": "s", "run": "if [ $DAG_ATTEMPT = 1 ]; then echo $$ > first.pid; exec sleep 300; fi"}]}
EOF2
	dir=$(timeout 30 dag-run --prepare wf2.json)
	dag-step -q --run-dir "$dir" s 3>&- &
	pid=$!
	# Once the journal has the attempt (an attempt it never heard of
	# runs under the same number again, its leftovers killed first).
	for _ in $(seq 600); do [ -s first.pid ] && grep -q step_started "$dir/events.jsonl" && break; sleep 0.05; done
	kill -KILL "$pid"
	wait "$pid" || true
	running "$(cat first.pid)"
	run -0 timeout 60 dag-step -q --run-dir "$dir" s
	run ! running "$(cat first.pid)"
}

@test "resume kills a step that cleared its environment, by the process group the journal recorded" {
	dag wf.json <<'EOF2'
{"name": "cleared", "steps": [{"id": "a", "run": "[ -e second ] && exit 0; touch second; echo $$ > first.pid; exec env -i sleep 60"}]}
EOF2
	dag-run -q --run-id cleared wf.json 3>&- &
	pid=$!
	for _ in $(seq 600); do [ -s first.pid ] && grep -q step_started "$DAG_RUNS/cleared/events.jsonl" && break; sleep 0.05; done
	kill -KILL "$pid"
	wait "$pid" || true
	running "$(cat first.pid)"
	run -0 timeout 60 dag-run -q --resume cleared
	for _ in $(seq 50); do running "$(cat first.pid)" || break; sleep 0.1; done
	run ! running "$(cat first.pid)"
	# A pid the journal names that is now another process's is spared.
	sleep 60 3>&- &
	other=$!
	jq -c --argjson p "$other" 'if .event == "step_started" then .pid = $p else . end' \
	    "$DAG_RUNS/cleared/events.jsonl" > j && mv j "$DAG_RUNS/cleared/events.jsonl"
	printf '{"ts":"2026-01-01T00:00:00.000Z","run":"cleared","event":"step_started","step":"a","attempt":9,"pid":%d}\n' "$other" >> "$DAG_RUNS/cleared/events.jsonl"
	run -0 timeout 60 dag-run -q --resume cleared
	running "$other"
	kill "$other"
}

@test "resume and dag-step touch no other run's steps, whatever its run id" {
	dag wf.json <<'EOF2'
{"name": "cr", "steps": [{"id": "a", "run": "touch $DAG_RUN_DIR.started; i=0; while [ ! -e release ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done"}]}
EOF2
	mkdir x1 x2
	dag-run -q --run-dir x1/ci wf.json 3>&- &
	pid=$!
	for _ in $(seq 600); do [ -e "$PWD/x1/ci.started" ] && break; sleep 0.05; done
	dir=$(timeout 30 dag-run --prepare --run-dir x2/ci wf.json)
	touch release
	run -0 timeout 60 dag-step -q --run-dir "$dir" a
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
	assert_equal "$(jq -r .steps.a.status x1/ci/run.json)" succeeded
}

# A step that holds its run until the file release exists (20 s at most).
HOLD='touch started; i=0; while [ ! -e release ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done; touch done'

@test "--lock: a second run of the same DAG exits 75 at once, the first is unharmed" {
	jq -nc --arg run "$HOLD" '{name: "cron", steps: [{id: "a", run: $run}]}' > wf.json
	timeout 30 dag-run -q --lock wf.json 3>&- &
	pid=$!
	for _ in $(seq 300); do [ -e started ] && break; sleep 0.1; done
	run -75 --separate-stderr timeout 30 dag-run -q --lock wf.json
	assert_equal "$stderr" "dag-run: '$DAG_RUNS/cron.lock' is locked: another run of \"cron\" is in progress"
	touch release
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
	assert_file_exists done
	run -0 timeout 30 dag-run -q --lock wf.json
	rm -f done started release
	timeout 30 dag-run -q --lock wf.json 3>&- &
	pid=$!
	for _ in $(seq 300); do [ -e started ] && break; sleep 0.1; done
	( sleep 0.5; touch release ) &
	run -0 timeout 30 dag-run -q --lock-wait 20 wf.json
	wait "$pid"
}

@test "--lock: DAGs whose names differ never share a lock, however alike their names" {
	long=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
	e50=$(printf '\xc3\xa9%.0s' $(seq 50))
	e49=$(printf '\xc3\xa9%.0s' $(seq 49))
	for pair in "etl/a etl_a" "$long/1 $long/2" "$(printf 'caf\xc3\xa9') cafe" ".x _x" "$e50 ${e49}x"; do
		set -- $pair
		rm -f started release done
		jq -nc --arg n "$1" --arg run "$HOLD" '{name: $n, steps: [{id: "a", run: $run}]}' > one.json
		jq -nc --arg n "$2" '{name: $n, steps: [{id: "b", run: "true"}]}' > two.json
		timeout 30 dag-run -q --lock one.json 3>&- &
		pid=$!
		for _ in $(seq 300); do [ -e started ] && break; sleep 0.1; done
		run -0 --separate-stderr timeout 30 dag-run -q --lock two.json
		touch release
		wait "$pid"
	done
	assert_file_exists "$DAG_RUNS/etl%2Fa.lock"
	assert_file_exists "$DAG_RUNS/etl_a.lock"
	assert_file_exists "$DAG_RUNS/%2Ex.lock"
	[ "$(ls "$DAG_RUNS" | grep -c '^a*%2F[12]\.lock$')" = 2 ]
	# Too long encoded: a readable start, then a hash.
	[ "$(ls "$DAG_RUNS" | grep -c '^_*~[0-9a-f]\{16\}\.lock$')" = 2 ]
}

@test "history: dag-plan --history uses medians of past runs" {
	echo '{"name": "h", "steps": [{"id": "a", "run": "sleep 0.2"}, {"id": "b", "run": "true"}]}' > wf.json
	run -0 timeout 30 dag-run -q wf.json
	run -0 timeout 30 dag-run -q wf.json
	run -0 --separate-stderr dag-plan --history "$DAG_RUNS" wf.json
	a=$(jq .plan.steps.a.estimate <<<"$output")
	b=$(jq .plan.steps.b.estimate <<<"$output")
	# Without history both would be 1 s.
	[ "$(jq -n "$a >= 0.15 and $a < 5 and $b < 0.5")" = true ]
}
