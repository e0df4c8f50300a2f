#!/usr/bin/env bats
# Hostile input and hostile conditions: documents built to hurt the parser
# and the validator, steps built to hurt dag-run, and an environment that
# fails under it (full disk, signal storms, closed pipes, racing tools).
# Big inputs are generated here at run time, never stored.

load test_helper

HOSTILE="$FIXTURES/hostile"

latest() { echo "$DAG_RUNS/latest"; }
status_of() { jq -r ".steps[\"$1\"].status" "$(latest)/run.json"; }
reason_of() { jq -r ".steps[\"$1\"].reason" "$(latest)/run.json"; }
alive() { kill -0 "$(cat "$1")" 2>/dev/null; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

teardown() {
	# Lets a long step of a failed race test end now rather than at its timeout.
	touch "$BATS_TEST_TMPDIR/release"
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	if [ -n "${NPDIR:-}" ]; then
		rm -rf "$NPDIR"
	fi
}

# need_time: /usr/bin/time measures peak RSS (its %M is the largest
# resident set of the command and of every descendant it waited for).
need_time() {
	[ -x /usr/bin/time ] || skip "/usr/bin/time is not installed: cannot measure peak RSS"
}

# peak_kb OUT CMD...: runs CMD, writes its peak RSS in KB to OUT, returns
# CMD's exit status.  Under the ASan build, freed memory sits in a 256 MB
# quarantine and would count as resident: keep it small.
peak_kb() {
	local out=$1 st=0
	shift
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4" \
	    /usr/bin/time -o "$out.raw" -f '%M' "$@" || st=$?
	tail -n 1 "$out.raw" > "$out"
	return "$st"
}

# bad_doc FILE [PROG [STATUS]]: PROG (default dag-validate) rejects FILE
# with STATUS (default 1) and exactly one bounded line on stderr that names
# the file.  Leaves the line in $msg.
bad_doc() {
	local f=$1 prog=${2:-dag-validate} want=${3:-1}
	run --separate-stderr timeout 20 "$prog" "$f"
	if [ "$status" -ne "$want" ]; then
		echo "$prog $f: exit $status, wanted $want; stderr: ${stderr:0:300}" >&2
		return 1
	fi
	if [ "${#stderr_lines[@]}" -ne 1 ]; then
		echo "$prog $f: ${#stderr_lines[@]} lines on stderr, wanted 1: ${stderr:0:300}" >&2
		return 1
	fi
	msg=${stderr_lines[0]}
	[[ "$msg" == "$f: "* ]] || { echo "$prog $f: message does not name the file: ${msg:0:300}" >&2; return 1; }
	[ "${#msg}" -lt 1000 ] || { echo "$prog $f: a ${#msg}-byte message" >&2; return 1; }
	[ -z "$output" ] || { echo "$prog $f: wrote to stdout" >&2; return 1; }
}

# clean_fds CMD...: runs CMD with only 0, 1 and 2 open.
clean_fds() {
	(
		for f in /proc/$BASHPID/fd/*; do
			n=${f##*/}
			[ "$n" -gt 2 ] && eval "exec $n>&-"
		done 2>/dev/null
		exec "$@"
	)
}

# strays RUN-ID: pids of live processes started by a step of that run (the
# step environment carries DAG_RUN_ID), zombies excluded.
strays() {
	local e p
	for e in /proc/[0-9]*/environ; do
		p=${e#/proc/}
		p=${p%/environ}
		grep -qsaF "DAG_RUN_ID=$1" "$e" 2>/dev/null || continue
		grep -qs '^State:.*Z' "/proc/$p/status" && continue
		echo "$p"
	done
}

# no_strays RUN-ID: none of them, allowing a second for the kernel.
no_strays() {
	local left
	for _ in $(seq 20); do
		left=$(strays "$1")
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	echo "left running after run $1: $(for p in $left; do tr '\0' ' ' < "/proc/$p/cmdline"; echo; done)" >&2
	return 1
}

# valid_journal FILE: every line, except possibly a torn last one, is JSON.
valid_journal() {
	local total valid
	total=$(wc -l < "$1")
	valid=$(jq -c . "$1" 2>/dev/null | wc -l)
	[ "$valid" -ge "$((total - 1))" ]
}

# ---------------------------------------------------------------------------
# Bad documents

@test "bad document: nesting 200,000 deep is one line, not a stack overflow" {
	{
		printf '{"steps": '
		head -c 200000 /dev/zero | tr '\0' '['
		head -c 200000 /dev/zero | tr '\0' ']'
		printf '}\n'
	} > deep.json
	{
		printf '{"x-deep": '
		for _ in $(seq 2000); do printf '{"a":'; done
		head -c 200000 /dev/zero | tr '\0' '['
		printf '1'
		head -c 200000 /dev/zero | tr '\0' ']'
		for _ in $(seq 2000); do printf '}'; done
		printf ', "steps": [{"id": "a", "run": "true"}]}\n'
	} > deepobj.json
	bad_doc deep.json
	[[ "$msg" == "deep.json: line 1, column "*": invalid JSON: "*"nesting"* ]]
	bad_doc deepobj.json
	[[ "$msg" == "deepobj.json: line 1, column "*": invalid JSON: "*"nesting"* ]]
	bad_doc deep.json dag-plan 1
	bad_doc deep.json dag-run 2
	# On stdin the file is called <stdin>, still one line.
	run --separate-stderr timeout 20 dag-validate - < deep.json
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == *"nesting"* ]]
}

@test "bad document: 1e400 and negative durations, each named by its path" {
	dag wf.json <<'EOF2'
{"timeout": 1e400, "steps": [
 {"id": "a", "run": "true", "timeout": -1},
 {"id": "b", "run": "true", "timeout": -1e400},
 {"id": "c", "run": "true", "kill_grace": "-5s"},
 {"id": "d", "run": "true", "retry": {"attempts": 2, "delay": 1e400, "max_delay": -0.5, "max_duration": 1e999}},
 {"id": "e", "run": "true", "timeout": 1e-400},
 {"id": "f", "run": "true", "timeout": "99999999999999999999999h"},
 {"id": "g", "run": "true", "retry": {"attempts": 1e400, "factor": -1e400, "exit_codes": [1e400]}}]}
EOF2
	run -1 --separate-stderr timeout 20 dag-validate wf.json
	assert_equal "$output" ""
	assert_equal "${stderr_lines[0]}" 'wf.json: timeout: duration too large (at most 100 years)'
	for p in 'steps\[0\]\.timeout' 'steps\[1\]\.timeout' 'steps\[2\]\.kill_grace' \
	    'steps\[3\]\.retry\.delay' 'steps\[3\]\.retry\.max_delay' 'steps\[3\]\.retry\.max_duration' \
	    'steps\[4\]\.timeout' 'steps\[5\]\.timeout' 'steps\[6\]\.retry\.attempts' \
	    'steps\[6\]\.retry\.factor' 'steps\[6\]\.retry\.exit_codes\[0\]'; do
		grep -q "^wf.json: $p: " <<<"$stderr" || { echo "no message for $p" >&2; false; }
	done
	[[ "$stderr" == *"steps[0].timeout: duration must not be negative"* ]]
	[[ "$stderr" == *"steps[2].kill_grace: bad duration \"-5s\": must not be negative"* ]]
	assert_equal "${#stderr_lines[@]}" 12
	run -2 timeout 20 dag-run -q wf.json
	assert_file_not_exists "$DAG_RUNS"
}

@test "bad document: a raw NUL byte and invalid UTF-8 inside strings" {
	printf '{"steps": [{"id": "a", "run": "echo \0 x"}]}\n' > nul.json
	printf '{"steps": [{"id": "a", "r\0n": "true"}]}\n' > nulkey.json
	printf '{"steps": [{"id": "a", "run": "echo \xff\xfe"}]}\n' > utf8.json
	printf '{"steps": [{"id": "a", "run": "echo \xc0\xaf"}]}\n' > overlong.json
	printf '{"steps": [{"id": "a", "run": "echo \xed\xa0\x80"}]}\n' > surrogate.json
	printf '{"steps": [{"id": "a", "run": "true", "x-\xf8\x88\x80\x80\x80": 1}]}\n' > utf8key.json
	printf '{"steps": [{"id": "a", "run": "true"}], "x": "\xe2\x82' > cut.json
	for f in nul nulkey; do
		bad_doc $f.json
		[[ "$msg" == "$f.json: line 1, column "*": invalid JSON: NUL byte in string" ]]
	done
	for f in utf8 overlong surrogate utf8key cut; do
		bad_doc $f.json
		[[ "$msg" == "$f.json: line 1, column "*": invalid JSON: invalid UTF-8 in string" ]]
	done
	bad_doc utf8.json dag-run 2
}

@test "bad document: an escaped NUL (\\u0000) in a string that becomes a C string is an error, not a silent truncation" {
	# Commands, argv, env, cwd and name become C strings: everything after
	# the NUL would be cut off silently ("echo hi" would run without the
	# rest of the command).
	printf '%s\n' '{"steps": [{"id": "a", "run": "echo hi\u0000; touch cut"}]}' > run.json
	printf '%s\n' '{"steps": [{"id": "a", "argv": ["echo", "x\u0000y"]}]}' > argv.json
	printf '%s\n' '{"steps": [{"id": "a", "run": "true", "env": {"X": "a\u0000b"}}]}' > env.json
	printf '%s\n' '{"steps": [{"id": "a", "run": "true", "cwd": "/tmp\u0000/x"}]}' > cwd.json
	printf '%s\n' '{"name": "x\u0000y", "steps": [{"id": "a", "run": "true"}]}' > name.json
	printf '%s\n' '{"steps": [{"id": "a\u0000b", "run": "true"}]}' > id.json
	bad_doc id.json
	assert_equal "$msg" 'id.json: steps[0].id: must not contain a NUL character (\u0000)'
	for f in run:steps.0.run argv:steps.0.argv.1 env:steps.0.env.X cwd:steps.0.cwd name:name; do
		file=${f%%:*}
		path=$(sed -E 's/\.([0-9]+)/[\1]/g' <<<"${f#*:}")
		bad_doc "$file.json"
		[[ "$msg" == "$file.json: $path: "*NUL* ]]
	done
	run -2 timeout 20 dag-run -q run.json
	assert_file_not_exists cut
}

@test "a template whose value holds a NUL fails the step instead of running a truncated command" {
	# The NUL comes from data (a transform's output), so only dag-run can
	# see it: the argument cannot be passed to exec, so the step fails.
	dag wf.json <<'EOF2'
{"on_failure": "continue", "steps": [{"id": "t", "transform": "\"x\\u0000y\""},
 {"id": "a", "needs": ["t"], "argv": ["sh", "-c", "printf '%s' \"$1\" > a.out", "sh", "{{ .steps.t.output }}"]},
 {"id": "e", "needs": ["t"], "env": {"V": "{{ .steps.t.output }}"}, "run": "printf '%s' \"$V\" > e.out"},
 {"id": "r", "needs": ["t"], "run": "printf '%s' {{ .steps.t.output }} > r.out"}]}
EOF2
	run -0 timeout 20 dag-validate -q wf.json
	run -1 timeout 30 dag-run -q wf.json
	assert_equal "$(status_of t)" succeeded
	for s in a e r; do
		assert_equal "$(status_of $s)" failed
		[[ "$(reason_of $s)" == *NUL* ]] || { echo "step $s: reason '$(reason_of $s)'" >&2; false; }
		assert_file_not_exists $s.out
	done
}

@test "bad document: a 5 MB id, a 5 MB need and a 5 MB key give short messages, fast" {
	big=$(head -c 5000000 /dev/zero | tr '\0' a)
	printf '{"steps": [{"id": "%s", "run": "true"}]}\n' "$big" > id.json
	printf '{"steps": [{"id": "a", "run": "true", "needs": ["%s"]}]}\n' "$big" > need.json
	printf '{"steps": [{"id": "a", "run": "true", "%s": 1}]}\n' "$big" > key.json
	printf '{"steps": [{"id": "a", "run": "true", "when": ".steps.%s", "pool": "%s"}]}\n' "$big" "$big" > expr.json
	unset big
	start=$(now_ms)
	bad_doc id.json
	[[ "$msg" == 'id.json: steps[0].id: bad id "aaaa'*'...": longer than 100 characters' ]]
	bad_doc need.json
	[[ "$msg" == 'need.json: steps[0].needs[0]: unknown step "aaa'* ]]
	bad_doc key.json
	[[ "$msg" == 'key.json: steps[0].'*'unknown key "aaa'* ]]
	run -1 --separate-stderr timeout 20 dag-validate expr.json
	assert_equal "${#stderr_lines[@]}" 2
	for l in "${stderr_lines[@]}"; do [ "${#l}" -lt 1000 ]; done
	bad_doc id.json dag-run 2
	[ $(($(now_ms) - start)) -lt 20000 ]
}

@test "bad document: wrong types (needs a string, steps an object, root an array or a scalar)" {
	echo '{"steps": [{"id": "a", "run": "true", "needs": "b"}, {"id": "b", "run": "true"}]}' > needs.json
	echo '{"steps": {"id": "a", "run": "true"}}' > steps.json
	echo '[{"steps": [{"id": "a", "run": "true"}]}]' > array.json
	echo '"steps"' > string.json
	echo 'null' > null.json
	echo '42' > number.json
	echo '{"steps": [{"id": "a", "run": ["true"]}]}' > run.json
	echo '{"steps": [{"id": "a", "run": "true", "env": {"X": 1}}]}' > env.json
	bad_doc needs.json
	assert_equal "$msg" 'needs.json: steps[0].needs: must be an array of step ids, not a string'
	bad_doc steps.json
	assert_equal "$msg" 'steps.json: steps: must be an array of steps, not an object'
	bad_doc array.json
	assert_equal "$msg" 'array.json: the document must be a JSON object with a "steps" array, not an array'
	for f in string null number; do
		bad_doc $f.json
		[[ "$msg" == "$f.json: the document must be a JSON object"* ]]
	done
	bad_doc run.json
	[[ "$msg" == 'run.json: steps[0].run: '* ]]
	bad_doc env.json
	[[ "$msg" == 'env.json: steps[0].env.X: '* ]]
	bad_doc steps.json dag-plan 1
	bad_doc array.json dag-run 2
}

@test "bad document: trailing garbage, two documents, empty, blank, binary" {
	echo '{"steps": [{"id": "a", "run": "true"}]} x' > trailing.json
	printf '{"steps": [{"id": "a", "run": "true"}]}\n{"steps": [{"id": "b", "run": "true"}]}\n' > two.json
	printf '{"steps": [{"id": "a", "run": "true"}]}\0' > trailnul.json
	: > empty.json
	printf '  \n\t\n' > blank.json
	head -c 4096 /bin/true > binary.json
	bad_doc trailing.json
	assert_equal "$msg" "trailing.json: line 1, column 41: invalid JSON: trailing data after the document"
	bad_doc two.json
	[[ "$msg" == "two.json: line 2, column 1: invalid JSON: "* ]]
	bad_doc trailnul.json
	[[ "$msg" == "trailnul.json: line 1, column "*": invalid JSON: "* ]]
	bad_doc empty.json
	assert_equal "$msg" "empty.json: line 1, column 1: invalid JSON: empty document"
	bad_doc blank.json
	[[ "$msg" == "blank.json: line "*": invalid JSON: empty document" ]]
	bad_doc binary.json
	[[ "$msg" == "binary.json: line 1, column 1: invalid JSON: "* ]]
	for f in two empty binary; do
		bad_doc $f.json dag-plan 1
		bad_doc $f.json dag-run 2
	done
	run -1 --separate-stderr timeout 20 dag-validate < binary.json
	assert_equal "${#stderr_lines[@]}" 1
}

@test "bad document: 50,000 errors are all reported, in bounded time and memory" {
	need_time
	awk 'BEGIN { printf "{\"steps\": ["
		for (i = 0; i < 50000; i++)
			printf "%s{\"id\": \"s%d\", \"run\": \"true\", \"trigger\": \"bogus\"}", (i ? "," : ""), i
		print "]}" }' > many.json
	start=$(now_ms)
	st=0
	peak_kb rss timeout 20 dag-validate many.json > out 2> err || st=$?
	ms=$(($(now_ms) - start))
	assert_equal "$st" 1
	assert_equal "$(wc -l < err)" 50000
	assert_equal "$(grep -c '^many.json: steps\[[0-9]*\]\.trigger: unknown trigger "bogus"' err)" 50000
	assert_equal "$(sed -n '50000p' err | cut -d: -f2)" " steps[49999].trigger"
	[ ! -s out ]
	[ "$ms" -lt 20000 ]
	[ "$(cat rss)" -lt 512000 ]
	# --json holds them all too.
	run -1 --separate-stderr timeout 20 dag-validate --json many.json
	assert_equal "$(jq '.errors | length' <<<"$output")" 50000
}

# ---------------------------------------------------------------------------
# Hostile steps

@test "jq that never terminates (transform, when, input, check, template) is stopped by the step timeout" {
	dag "$PWD/loop.json" <<'EOF2'
{"max_parallel": 8, "on_failure": "continue", "steps": [
 {"id": "t", "timeout": "1s", "transform": "def f: f; f"},
 {"id": "t2", "timeout": "1s", "transform": "[repeat(1)]"},
 {"id": "w", "timeout": "1s", "when": "[repeat(1)] | length > 0", "run": "touch w.ran"},
 {"id": "i", "timeout": "1s", "input": "def f: f; f", "run": "touch i.ran"},
 {"id": "c", "timeout": "1s", "check": "last(repeat(1))", "run": "true"},
 {"id": "r", "timeout": "1s", "run": "echo {{ def f: f; f }} > r.ran"},
 {"id": "ok", "transform": "{fine: true}"}]}
EOF2
	start=$(now_ms)
	run -1 --separate-stderr timeout 60 dag-run "$PWD/loop.json"
	ms=$(($(now_ms) - start))
	for s in t t2 w i c r; do
		assert_equal "$s $(status_of $s)" "$s timed_out"
	done
	assert_equal "$(status_of ok)" succeeded
	assert_file_not_exists w.ran
	assert_file_not_exists i.ran
	assert_file_not_exists r.ran
	# All in parallel: about 1 s (plus kill_grace at worst), not forever.
	[ "$ms" -lt 10000 ]
	# No evaluator (a fork of dag-run) is left spinning.
	run ! pgrep -f -- "$PWD/loop.json"
}

@test "a step writing 200 MB to stdout: dag-run stays small, with and without -v" {
	need_time
	echo '{"steps": [{"id": "big", "run": "head -c 200000000 /dev/zero"}, {"id": "lines", "run": "yes | head -c 100000000"}]}' > wf.json
	# Under valgrind (make test-valgrind sets DAGKIT_SLOW) copying is slow.
	limit=${DAGKIT_SLOW:+600}
	peak_kb rss timeout "${limit:-60}" dag-run -q wf.json
	assert_equal "$(stat -c %s "$(latest)/steps/big/1.stdout")" 200000000
	assert_equal "$(stat -c %s "$(latest)/steps/lines/1.stdout")" 100000000
	echo "peak RSS without -v: $(cat rss) KB"
	[ "$(cat rss)" -lt 102400 ]
	peak_kb rss timeout "${limit:-60}" dag-run -v wf.json 2>/dev/null
	assert_equal "$(status_of big) $(status_of lines)" "succeeded succeeded"
	assert_equal "$(stat -c %s "$(latest)/steps/big/1.stdout")" 200000000
	echo "peak RSS with -v: $(cat rss) KB"
	[ "$(cat rss)" -lt 102400 ]
}

@test "1,200 steps with max_parallel 600, each sleep 1: all succeed, even with 256 fds" {
	jq -nc '{name: "wide", max_parallel: 600, steps: [range(1200) | {id: "s\(.)", run: "sleep 1"}]}' > wide.json
	start=$(now_ms)
	run -0 --separate-stderr timeout 120 dag-run -q wide.json
	ms=$(($(now_ms) - start))
	assert_equal "$(jq -c .counts "$(latest)/run.json")" '{"succeeded":1200}'
	[ "$ms" -lt 30000 ]
	# A low descriptor limit must slow dag-run down, not fail steps.
	run -0 --separate-stderr timeout 120 bash -c 'ulimit -n 256 && exec dag-run -q wide.json'
	assert_equal "$(jq -c .counts "$(latest)/run.json")" '{"succeeded":1200}'
	[[ "$stderr" != *"Too many open files"* ]]
}

@test "outputs: not JSON in file mode fails; larger than 16 MiB fails with a reason saying so" {
	dag wf.json <<'EOF2'
{"on_failure": "continue", "steps": [
 {"id": "notjson", "run": "echo '{\"a\": 1' > \"$DAG_OUTPUT\""},
 {"id": "binary", "run": "head -c 4096 /bin/true > \"$DAG_OUTPUT\""},
 {"id": "bigfile", "run": "head -c 17000000 /dev/zero | tr '\\0' ' ' > \"$DAG_OUTPUT\"; echo 1 >> \"$DAG_OUTPUT\""},
 {"id": "bigstdout", "output": "stdout", "run": "head -c 17000000 /dev/zero | tr '\\0' ' '; echo 1"},
 {"id": "justright", "output": "stdout", "run": "head -c 16000000 /dev/zero | tr '\\0' ' '; echo 1"},
 {"id": "after", "needs": ["bigfile"], "run": "touch after.ran"}]}
EOF2
	run -1 --separate-stderr timeout 60 dag-run wf.json
	assert_equal "$(status_of notjson)" failed
	[[ "$(reason_of notjson)" == "output: line "*", column "*": invalid JSON: "* ]]
	assert_equal "$(status_of binary)" failed
	[[ "$(reason_of binary)" == "output: "*"invalid JSON"* ]]
	for s in bigfile bigstdout; do
		assert_equal "$(status_of $s)" failed
		[[ "$(reason_of $s)" == *"max_output"* ]]
		assert_file_not_exists "$(latest)/steps/$s/output.json"
	done
	assert_equal "$(status_of justright)" succeeded
	assert_equal "$(status_of after)" upstream_failed
	assert_file_not_exists after.ran
	[[ "$stderr" == *"FAILED bigfile"*"max_output"* ]]
}

@test "an oversized output is rejected without being read into memory" {
	need_time
	echo '{"on_failure": "continue", "steps": [{"id": "f", "run": "head -c 200000000 /dev/zero > \"$DAG_OUTPUT\""},
	  {"id": "s", "output": "stdout", "run": "head -c 200000000 /dev/zero"}]}' > wf.json
	st=0
	peak_kb rss timeout 60 dag-run -q wf.json || st=$?
	assert_equal "$st" 1
	[[ "$(reason_of f)" == *"max_output"* ]]
	[[ "$(reason_of s)" == *"max_output"* ]]
	echo "peak RSS: $(cat rss) KB"
	[ "$(cat rss)" -lt 102400 ]
}

@test "a transform whose result is larger than 16 MiB fails like any other oversized output" {
	echo '{"steps": [{"id": "t", "transform": "[range(3000000)]"}]}' > wf.json
	run -1 --separate-stderr timeout 60 dag-run -q wf.json
	assert_equal "$(status_of t)" failed
	[[ "$(reason_of t)" == *"max_output"* ]]
}

@test "a missing command exits 127 with a reason; a missing or non-directory cwd fails clearly" {
	touch afile
	dag wf.json <<'EOF2'
{"on_failure": "continue", "steps": [{"id": "r", "run": "no-such-cmd-xyz"},
 {"id": "a", "argv": ["no-such-cmd-xyz"]}, {"id": "p", "argv": ["/no/such/path/cmd"]},
 {"id": "c", "cwd": "no/such/dir", "run": "touch c.ran"}, {"id": "f", "cwd": "afile", "run": "touch f.ran"},
 {"id": "after", "needs": ["a"], "run": "touch after.ran"}]}
EOF2
	run -1 --separate-stderr timeout 30 dag-run wf.json
	d=$(latest)
	for s in r a p; do
		assert_equal "$s $(status_of $s) $(jq -r ".steps.$s.exit_code" "$d/run.json")" "$s failed 127"
		[ -n "$(reason_of $s)" ] && [ "$(reason_of $s)" != null ]
	done
	assert_equal "$(reason_of a)" "no-such-cmd-xyz: command not found"
	assert_equal "$(reason_of p)" "/no/such/path/cmd: command not found"
	[[ "$(cat "$d/steps/r/1.stderr")" == *"not found"* ]]
	assert_equal "$(status_of c)" failed
	assert_equal "$(reason_of c)" "cwd 'no/such/dir': No such file or directory"
	assert_equal "$(reason_of f)" "cwd 'afile': Not a directory"
	assert_equal "$(status_of after)" upstream_failed
	assert_file_not_exists c.ran
	assert_file_not_exists f.ran
	[[ "$stderr" == *"FAILED c"*"No such file or directory"* ]]
}

@test "a step that daemonizes (setsid, double fork, TERM ignored) leaves nothing behind" {
	dag wf.json <<EOF2
{"steps": [{"id": "d", "argv": ["sh", "$HOSTILE/daemonize.sh", "$PWD/d.pid"]},
 {"id": "after", "needs": ["d"], "run": "true"}]}
EOF2
	run -0 --separate-stderr timeout 30 dag-run -q wf.json
	[ -s d.pid ]
	for _ in $(seq 20); do alive d.pid || break; sleep 0.05; done
	run ! alive d.pid
	no_strays "$(basename "$(readlink "$(latest)")")"
	# dag-step runs a step too: same promise.
	rm -f d.pid
	run -0 --separate-stderr timeout 30 dag-step -q --run-dir "$(latest)" d
	[ -s d.pid ]
	for _ in $(seq 20); do alive d.pid || break; sleep 0.05; done
	run ! alive d.pid
}

# ---------------------------------------------------------------------------
# Hostile conditions

# mount_tmpfs OPTIONS WHAT: a tmpfs at $MNT (teardown unmounts it); skips
# the test, loudly, where mounting is not allowed.
mount_tmpfs() {
	MNT="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$MNT"
	if ! mount -t tmpfs -o "$1" tmpfs "$MNT" 2>mount.err; then
		MNT=
		skip "$2 TEST NOT RUN: cannot mount a tmpfs ($(cat mount.err))"
	fi
}

# mount_full FREE-KB: a 256 KB tmpfs at $MNT with FREE-KB left.
mount_full() {
	mount_tmpfs size=256k FULL-FILESYSTEM
	head -c $(((256 - $1) * 1024)) /dev/zero > "$MNT/filler" 2>/dev/null || true
	# b writes 1 MB in 64 KB writes: the disk fills in the middle of one.
	dag wf.json <<'EOF2'
{"name": "full", "steps": [{"id": "a", "run": "echo hi"},
 {"id": "b", "needs": ["a"], "run": "dd if=/dev/zero bs=65536 count=16 2>/dev/null; echo done"},
 {"id": "c", "needs": ["b"], "run": "echo after"}]}
EOF2
}

@test "a full filesystem under the runs directory: nothing can start, exit 4, a clear error" {
	mount_full 0
	run -4 --separate-stderr timeout 30 dag-run -q --runs "$MNT" wf.json
	said=$stderr
	echo "dag-run said: $said"
	[[ "$said" == *"No space left on device"* ]]
	# dag-status reports cleanly on whatever was left.
	run --separate-stderr timeout 30 dag-status --runs "$MNT"
	[ "$status" -lt 70 ] && [ "${#stderr_lines[@]}" -le 1 ]
	run -0 timeout 30 dag-status --runs "$MNT" --list
	for f in "$MNT"/*/run.json; do [ ! -e "$f" ] || jq -e . "$f" > /dev/null; done
	# Diagnostics start with the program's name (SPEC section 1).
	[[ "$said" == "dag-run: "* ]]
}

@test "the runs filesystem fills up during a run: exit 4, the error says ENOSPC, the run stays readable" {
	mount_full 64
	run -4 --separate-stderr timeout 30 dag-run -q --runs "$MNT" wf.json
	said=$stderr
	echo "dag-run said: $said"
	d=$(ls -d "$MNT"/2*)
	[ -r "$d/events.jsonl" ] && valid_journal "$d/events.jsonl"
	[ ! -e "$d/run.json" ] || jq -e . "$d/run.json" > /dev/null
	run --separate-stderr timeout 30 dag-status --run-dir "$d"
	[ "$status" -lt 70 ]
	run -0 timeout 30 dag-status --runs "$MNT" --list
	# The message gives the real cause (a short write leaves errno stale).
	[[ "$said" == *"No space left on device"* ]]
	[[ "$said" != *"No such file or directory"* ]]
	# Each is said once.
	assert_equal "$(printf '%s\n' "${stderr_lines[@]}" | sort | uniq -d)" ""
}

@test "the runs filesystem fills up during a run: the record does not say the run succeeded" {
	mount_full 64
	run -4 --separate-stderr timeout 30 dag-run -q --runs "$MNT" wf.json
	echo "dag-run said: $stderr"
	d=$(ls -d "$MNT"/2*)
	run --separate-stderr timeout 30 dag-status --run-dir "$d"
	echo "dag-status (exit $status): $output $stderr"
	# dag-run exited 4 (system error) and b's captured output is cut short:
	# a later dag-status must not call this run a success.
	[ "$status" -ne 0 ]
	[ "$(jq -r .status "$d/run.json" 2>/dev/null)" != succeeded ]
}

# big_dag FILE: step a touches "started" and sleeps 3 s, then 2,000 steps
# need it (a dag.json of 83 KB, a run.json of 250-350 KB).
big_dag() {
	python3 -c '
import json, sys
steps = [{"id": "a", "run": "touch started; sleep 3"}] + [{"id": "s%d" % i, "run": "true",
    "needs": ["a"]} for i in range(2000)]
json.dump({"name": "big", "steps": steps}, open(sys.argv[1], "w"))' "$1"
}

@test "the runs filesystem fills up while dag.json is written: exit 4, no dag.json half written" {
	mount_tmpfs size=256k FULL-FILESYSTEM
	head -c $((224 * 1024)) /dev/zero > "$MNT/filler" 2>/dev/null || true
	big_dag big.json
	run -4 --separate-stderr timeout 30 dag-run -q --runs "$MNT" big.json
	echo "dag-run said: $stderr"
	[[ "$stderr" == *"dag.json"*"No space left on device"* ]]
	for d in "$MNT"/2*; do
		[ ! -e "$d/dag.json" ] || jq -e . "$d/dag.json" > /dev/null
		[ -z "$(ls -A "$d" | grep '\.tmp$')" ]
	done
}

@test "one write of dag.json fails and the next ones work: exit 4, no dag.json with a hole in it" {
	[ -z "${DAGKIT_SLOW:-}" ] || skip "strace over valgrind counts valgrind's writes"
	strace -f -qq -o /dev/null true ||
	    skip "FAULT-INJECTION TEST NOT RUN: strace cannot trace here"
	big_dag big.json
	sed -i 's/touch started; sleep 3/true/' big.json
	# The first write(2) is dag.json's first 64 KiB (the lock's pid goes
	# by pwrite): it fails once, as a disk that fills and frees might.
	# LeakSanitizer cannot work under ptrace: the ASan build checks
	# leaks everywhere else.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    run -4 --separate-stderr strace -f -qq -o /dev/null \
	    -e trace=write -e inject=write:error=ENOSPC:when=1 dag-run -q big.json
	echo "dag-run said: $stderr"
	[[ "$stderr" == *"dag.json"*"No space left on device"* ]]
	for d in "$DAG_RUNS"/2*; do
		[ ! -e "$d/dag.json" ] || jq -e . "$d/dag.json" > /dev/null
	done
}

@test "a run.json that cannot be written leaves no open file behind it (its space comes back)" {
	mount_tmpfs size=256k FULL-FILESYSTEM
	head -c $((96 * 1024)) /dev/zero > "$MNT/filler" 2>/dev/null || true
	big_dag big.json
	# The first run.json, written as a starts, fails: while a sleeps,
	# dag-run holds no file that is gone.
	dag-run -q --runs "$MNT" big.json 2>err 3>&- &
	pid=$!
	for _ in $(seq 100); do [ -e started ] && break; sleep 0.05; done
	sleep 0.5
	ls -l "/proc/$pid/fd" > fds
	wait "$pid" || true
	cat err fds
	grep -q "run.json.*No space left on device" err
	grep -q 'dev/null' fds
	! grep -q '\.tmp (deleted)' fds
}

@test "dag-step on a read-only run directory: a system error (exit 4), not a usage error; no such run is 2" {
	mount_tmpfs size=1m READ-ONLY
	echo '{"steps": [{"id": "a", "run": "true"}]}' > wf.json
	dir=$(timeout 30 dag-run --prepare --runs "$MNT" wf.json)
	mount -o remount,ro "$MNT"
	run -4 --separate-stderr timeout 30 dag-step --run-dir "$dir" a
	[[ "$stderr" == *"Read-only file system"* ]]
	run -2 --separate-stderr timeout 30 dag-step --run-dir "$BATS_TEST_TMPDIR/nope" a
	assert_equal "$stderr" "dag-step: no such run: $BATS_TEST_TMPDIR/nope"
	# -n writes nothing, so needs no lock.
	run -0 --separate-stderr timeout 30 dag-step -n --run-dir "$dir" a
	assert_output $'a\ttrue'
	# A device where a run's dag.json should be: said, not read.
	umount "$MNT"
	MNT=
	mkdir -p dev
	ln -s /dev/zero dev/dag.json
	run -2 --separate-stderr timeout 30 dag-step --run-dir dev a
	assert_equal "$stderr" "dag-step: read 'dev/dag.json': not a regular file"
	run -2 --separate-stderr timeout 30 dag-status --run-dir dev
	assert_equal "$stderr" "dag-status: read 'dev/dag.json': not a regular file"
}

@test "--run-id and step ids that try path traversal are refused" {
	echo '{"steps": [{"id": "a", "run": "true"}]}' > ok.json
	for id in ../x a/b .. . "" /abs latest; do
		run -2 --separate-stderr timeout 30 dag-run -q --run-id "$id" ok.json
		[[ "$stderr" == "dag-run: --run-id '$id': "* ]]
	done
	assert_file_not_exists x
	assert_file_not_exists "$BATS_TEST_TMPDIR/x"
	[ ! -e "$DAG_RUNS" ] || [ -z "$(ls -A "$DAG_RUNS")" ]
	echo '{"steps": [{"id": "../x", "run": "true"}, {"id": "a/b", "run": "true"}, {"id": "..", "run": "true"}]}' > ids.json
	run -1 --separate-stderr timeout 30 dag-validate ids.json
	assert_equal "${#stderr_lines[@]}" 3
	assert_equal "${stderr_lines[0]}" 'ids.json: steps[0].id: bad id "../x": must start with a letter, digit or '"'"'_'"'"''
	[[ "${stderr_lines[1]}" == 'ids.json: steps[1].id: bad id "a/b": '* ]]
	[[ "${stderr_lines[2]}" == 'ids.json: steps[2].id: bad id "..": '* ]]
	run -2 timeout 30 dag-run -q ids.json
	# dag-step takes an id on its command line: same rule.
	run -0 timeout 30 dag-run -q ok.json
	run -2 timeout 30 dag-step --run-dir "$(latest)" ../a
	run -2 timeout 30 dag-step --run-dir "$(latest)" ../../steps/a
}

@test "a DAG name with '/' or '..' never puts the --lock file outside the runs directory" {
	# Runs three levels down, so "../../evil" would land inside the test's
	# directory, at $BATS_TEST_TMPDIR/a/evil.lock.
	export DAG_RUNS="$BATS_TEST_TMPDIR/a/b/runs"
	echo '{"name": "../../evil", "steps": [{"id": "a", "run": "true"}]}' > up.json
	echo '{"name": "x/y", "steps": [{"id": "a", "run": "true"}]}' > slash.json
	run --separate-stderr timeout 30 dag-run -q --lock up.json
	assert_file_not_exists "$BATS_TEST_TMPDIR/a/evil.lock"
	[ -z "$(find "$BATS_TEST_TMPDIR" -name '*.lock' -not -path "$DAG_RUNS/*")" ]
	# Either refused as an invalid DAG (2) or run (0); never an I/O error.
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ]
	run --separate-stderr timeout 30 dag-run -q --lock slash.json
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ]
	[ -z "$(find "$BATS_TEST_TMPDIR" -name '*.lock' -not -path "$DAG_RUNS/*")" ]
}

@test "stdout closed early: dag-run --events wf.json | head -1 still completes the run" {
	# Enough events to overflow a pipe buffer, and a last step that runs
	# well after head has gone.
	jq -nc '{name: "epipe", max_parallel: 50, steps: ([range(400) | {id: "s\(.)", run: "true"}]
	    + [{id: "last", needs: ["s399"], run: "sleep 0.3; touch last.done"}])}' > wf.json
	run -0 --separate-stderr bash -c 'timeout 60 dag-run -q --events wf.json | head -1 > first.json; exit ${PIPESTATUS[0]}'
	assert_equal "$(jq -r .event first.json)" run_started
	assert_file_exists last.done
	assert_equal "$(jq -r .status "$(latest)/run.json")" succeeded
	assert_equal "$(jq -r .counts.succeeded "$(latest)/run.json")" 401
	# Closed outright (EBADF) is no different.
	rm -f last.done
	run -0 --separate-stderr timeout 60 dag-run -q --events wf.json >&-
	assert_file_exists last.done
	assert_equal "$(jq -r .status "$(latest)/run.json")" succeeded
}

# storm_run SIG...: a run of many short steps (shell steps with background
# grandchildren, transforms, conditions) hit by a storm of the signals from
# two senders at once while steps keep starting and stopping.  Sets $st to
# dag-run's exit status and $id to the run id.
storm_run() {
	jq -nc '{name: "storm", max_parallel: 12, defaults: {kill_grace: "1s"}, steps: [range(300) as $i |
	    if $i % 3 == 0 then {id: "t\($i)", transform: "[limit(200000; repeat(1))] | length"}
	    elif $i % 3 == 1 then {id: "s\($i)", when: "[limit(1000; repeat(1))] | length > 0",
	        run: "sleep 30 & echo $$ >> started; sleep 0.0\($i % 9 + 1); kill $! 2>/dev/null; exit 0"}
	    else {id: "b\($i)", run: "trap \"\" TERM; echo $$ >> started; sleep 0.1"} end]}' > storm.json
	rm -f started
	timeout 120 dag-run -q --run-id "storm-$1" "$PWD/storm.json" 3>&- 2>/dev/null &
	local tpid=$! pid="" senders=() s
	for _ in $(seq 200); do
		pid=$(pgrep -P "$tpid" -x dag-run | head -1)
		[ -n "$pid" ] && [ -s started ] && [ "$(wc -l < started)" -ge 5 ] && break
		sleep 0.02
	done
	[ -n "$pid" ]
	for s in 1 2; do
		(
			for _ in $(seq 10); do
				for _ in $(seq 20); do
					for sig in "$@"; do kill -s "$sig" "$pid" 2>/dev/null || exit 0; done
				done
				sleep 0.05
			done
		) 3>&- &
		senders+=($!)
	done
	st=0
	wait "$tpid" || st=$?
	wait "${senders[@]}" 2>/dev/null || true
	id="storm-$1"
}

# storm_ok: the run is recorded as cancelled, consistently, and nothing is
# left running.
storm_ok() {
	local d="$DAG_RUNS/$id"
	jq -e . "$d/run.json" > /dev/null
	assert_equal "$(jq -r .status "$d/run.json")" cancelled
	assert_equal "$(jq -r '[.steps[] | select(.status == "running" or .status == "retry_wait")] | length' "$d/run.json")" 0
	valid_journal "$d/events.jsonl"
	assert_equal "$(tail -n 1 "$d/events.jsonl" | jq -r '[.event, .status] | join(" ")')" "run_finished cancelled"
	no_strays "$id"
	run ! pgrep -f -- "$PWD/storm.json"
	run --separate-stderr timeout 30 dag-status --run-dir "$d"
	assert_equal "$status" 130
}

@test "a SIGTERM storm: exit 143, run.json cancelled, nothing left running" {
	# Finds dag-run by its process name, which valgrind replaces.
	[ -z "${DAGKIT_SLOW:-}" ] || skip "not under valgrind (the normal and ASan passes run it)"
	storm_run TERM
	assert_equal "$st" 143
	storm_ok
}

@test "a SIGINT storm: exit 130, run.json cancelled, nothing left running" {
	# Finds dag-run by its process name, which valgrind replaces.
	[ -z "${DAGKIT_SLOW:-}" ] || skip "not under valgrind (the normal and ASan passes run it)"
	storm_run INT
	assert_equal "$st" 130
	storm_ok
}

@test "a SIGHUP storm: exit 129, run.json cancelled, nothing left running" {
	# Finds dag-run by its process name, which valgrind replaces.
	[ -z "${DAGKIT_SLOW:-}" ] || skip "not under valgrind (the normal and ASan passes run it)"
	storm_run HUP
	assert_equal "$st" 129
	storm_ok
}

@test "a mixed TERM, INT and HUP storm: exit 128+n, run.json cancelled, nothing left running" {
	# Finds dag-run by its process name, which valgrind replaces.
	[ -z "${DAGKIT_SLOW:-}" ] || skip "not under valgrind (the normal and ASan passes run it)"
	storm_run HUP INT TERM
	[ "$st" -eq 129 ] || [ "$st" -eq 130 ] || [ "$st" -eq 143 ]
	storm_ok
}

@test "dag-step and dag-run --resume racing on one run directory: the loser exits 75" {
	dag wf.json <<'EOF2'
{"name": "race", "steps": [{"id": "a", "run": "touch a.started; while [ ! -e release ]; do sleep 0.05; done"},
 {"id": "b", "needs": ["a"], "run": "true"}, {"id": "c", "run": "true"}]}
EOF2
	d="$DAG_RUNS/race"
	# 1. dag-run holds the run while a runs.
	timeout 60 dag-run -q --run-id race wf.json 3>&- &
	pid=$!
	for _ in $(seq 200); do [ -e a.started ] && break; sleep 0.05; done
	[ -e a.started ]
	run -75 --separate-stderr timeout 10 dag-step --run-dir "$d" a
	run -75 --separate-stderr timeout 10 dag-step --run-dir "$d" c
	run -75 --separate-stderr timeout 10 dag-run -q --resume race
	run -75 --separate-stderr timeout 10 dag-run -q --resume "$d"
	touch release
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
	# 2. dag-step holds the run while a runs again.
	rm -f a.started release
	timeout 60 dag-step -q --run-dir "$d" a 3>&- &
	pid=$!
	for _ in $(seq 200); do [ -e a.started ] && break; sleep 0.05; done
	[ -e a.started ]
	run -75 --separate-stderr timeout 10 dag-run -q --resume race
	[[ "$stderr" == *"locked"* ]]
	run -75 --separate-stderr timeout 10 dag-run -q --resume "$d"
	run -75 --separate-stderr timeout 10 dag-step --run-dir "$d" a
	touch release
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
	# Nobody trampled anybody.
	valid_journal "$d/events.jsonl"
	assert_equal "$(jq -r '.status, .steps.a.status, .steps.a.attempts' "$d/run.json" | paste -sd' ')" "succeeded succeeded 2"
	run -0 timeout 30 dag-status --run-dir "$d"
}

# ---------------------------------------------------------------------------
# fd hygiene

@test "a step sees only fds 0, 1 and 2: nothing of dagkit's leaks into it" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "argv", "argv": ["ls", "/proc/self/fd"]},
 {"id": "sh", "run": "ls /proc/self/fd"},
 {"id": "out", "output": "stdout", "run": "ls /proc/self/fd | paste -sd' ' | jq -R ."},
 {"id": "in", "needs": ["out"], "run": "ls /proc/self/fd"},
 {"id": "retry", "retry": {"attempts": 2, "delay": 0}, "run": "ls /proc/self/fd; [ $DAG_ATTEMPT = 2 ]"}]}
EOF2
	fds() { paste -sd' ' "$(latest)/steps/$1/${2:-1}.stdout"; }
	run -0 --separate-stderr clean_fds timeout 30 dag-run -q wf.json
	for s in argv sh in; do assert_equal "$s: $(fds $s)" "$s: 0 1 2 3"; done
	assert_equal "$(cat "$(latest)/steps/out/output.json")" '"0 1 2 3"'
	assert_equal "retry: $(fds retry 2)" "retry: 0 1 2 3"
	run -0 --separate-stderr clean_fds timeout 30 dag-run -v -j1 wf.json
	for s in argv sh in; do assert_equal "-v $s: $(fds $s)" "-v $s: 0 1 2 3"; done
	run -0 --separate-stderr clean_fds timeout 30 dag-run -q --events wf.json
	for s in argv sh in; do assert_equal "--events $s: $(fds $s)" "--events $s: 0 1 2 3"; done
	run -0 --separate-stderr clean_fds timeout 30 dag-step -q --run-dir "$(latest)" in
	assert_equal "dag-step: $(fds in 2)" "dag-step: 0 1 2 3"
}

@test "a step gets the caller's soft fd limit, not the one dag-run raised for itself" {
	# valgrind reserves fds of its own and changes the limit.
	[ -z "${DAGKIT_SLOW:-}" ] || skip "not under valgrind (the normal and ASan passes run it)"
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] || [ "$hard" -gt 512 ] ||
	    skip "hard fd limit $hard: no room to raise a soft limit of 512"
	echo '{"steps": [{"id": "a", "output": "stdout", "run": "ulimit -Sn"}]}' > wf.json
	run -0 --separate-stderr timeout 30 bash -c 'ulimit -Sn 512 && exec dag-run -q wf.json'
	assert_equal "$(cat "$(latest)/steps/a/output.json")" 512
	run -0 --separate-stderr timeout 30 bash -c 'ulimit -Sn 512 && exec dag-step -q --run-dir "$DAG_RUNS/latest" a'
	assert_equal "$(cat "$(latest)/steps/a/output.json")" 512
}

@test "no fd leaks: valgrind --track-fds finds only what dag-run inherited" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	[ -x "$TOP/build/bin/dag-run" ] || skip "no plain build in build/bin"
	dag wf.json <<'EOF2'
{"on_failure": "continue", "steps": [{"id": "a", "run": "echo out; echo err >&2"},
 {"id": "b", "needs": ["a"], "when": ".steps.a.status == \"succeeded\"", "run": "echo {{ .step.id }}"},
 {"id": "t", "needs": ["a"], "transform": "{x: 1}"}, {"id": "f", "run": "exit 1"},
 {"id": "r", "retry": {"attempts": 2, "delay": 0}, "run": "exit 3"}]}
EOF2
	run -1 timeout 120 valgrind -q --track-fds=yes --child-silent-after-fork=yes \
	    --log-file=vg.txt "$TOP/build/bin/dag-run" -q -v wf.json
	opened=$(grep -c 'Open file descriptor' vg.txt || true)
	inherited=$(grep -c 'inherited from parent' vg.txt || true)
	[ "$opened" -eq "$inherited" ] || { cat vg.txt; false; }
}

@test "the disk fills and frees again during a run: no torn line in the journal, what succeeded is not run again" {
	mount_full 256
	rm -f "$MNT/filler"
	# fill takes all the space for a second while 80 steps end beside it:
	# their events cross more than one page, where a write is cut short.
	{
		printf '{"name": "f", "max_parallel": 81, "steps": [{"id": "fill", "run": "if [ $DAG_ATTEMPT = 1 ]; then sleep 0.1; dd if=/dev/zero of=%s/filler bs=1k 2>/dev/null; sleep 1; rm -f %s/filler; fi"}' "$MNT" "$MNT"
		for i in $(seq 20 99); do printf ', {"id": "s%d", "run": "sleep 0.%d"}' "$i" "$i"; done
		printf ', {"id": "z", "needs": ["fill"], "run": "true"}]}\n'
	} > f.json
	run timeout 60 dag-run -q --runs "$MNT/runs" --run-id r f.json
	echo "dag-run: $status $output"
	[ "$status" -eq 4 ] || [ "$status" -eq 0 ]
	# Every line is whole: a write the full disk cut short was cut off.
	assert_equal "$(jq -R 'fromjson? // "TORN"' "$MNT/runs/r/events.jsonl" | grep -c TORN)" 0
	mount -o remount,size=8m "$MNT"
	run -0 timeout 60 dag-run -q --resume "$MNT/runs/r"
	# fill succeeded once, as the journal says: the resume did not rerun it.
	assert_equal "$(jq -c 'select(.step == "fill" and .event == "step_started") | .attempt' "$MNT/runs/r/events.jsonl" | paste -sd' ')" "1"
}

@test "random run strings with a hostile template value: refused or quoted, never executed" {
	# 200 run strings of shell fragments around a template (fixed seed);
	# the ones dag-validate accepts must run without the value's commands.
	# Backslash-newline pairs split the tokens the scan looks for.
	atoms=("'" '"' '$' '(' ')' '`' '#' '\' $'\n' ' ' 'echo ' 'a' '{' '}' '$(' '${' '$((' '<<' '<' '>' ';' '|' '&' 'case ' '))' '=' $'\\\n' $'$\\\n(' $'<\\\n<' $' \\\n#' '{{ .params.v }}' '{{ .params.v }}')
	RANDOM=7
	for i in $(seq 0 199); do
		s=
		for _ in $(seq $((RANDOM % 12 + 1))); do s+=${atoms[RANDOM % ${#atoms[@]}]}; done
		jq -n --arg id "s$i" --arg run "cd out; $s" '{id: $id, run: $run, timeout: "5s"}'
	done | jq -s '{on_failure: "continue", params: {v: "x"}, steps: .}' > all.json
	run --separate-stderr dag-validate --json all.json
	[ "$status" -le 1 ]
	jq --argjson v "$output" '($v.errors | map(.path | capture("^steps\\[(?<i>[0-9]+)\\]").i | tonumber)) as $bad
	    | .steps |= [to_entries[] | select(.key as $k | $bad | index($k) | not) | .value]' all.json > ok.json
	[ "$(jq '.steps | length' ok.json)" -ge 100 ]
	run -0 dag-validate -q ok.json
	mkdir out
	evil=$'$(touch P1)`touch P2`\'";touch P3;"\'\\";touch P4 #\ntouch P5\n$HOME${HOME}'
	run timeout 120 dag-run -q -j2 -p "v=$evil" ok.json
	[ "$status" -le 1 ]
	for p in P1 P2 P3 P4 P5; do
		assert_file_not_exists "out/$p"
		assert_file_not_exists "$p"
	done
}

@test "out of processes (RLIMIT_NPROC): a system error, exit 4, no shell fallback, no retry, nothing new starts" {
	[ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null ||
	    skip "NPROC TEST NOT RUN: needs root and setpriv to become nobody"
	# valgrind itself now and then dies of SIGSEGV at start under the limit.
	[ -z "${DAGKIT_SLOW:-}" ] || skip "not under valgrind (the normal and ASan passes run it)"
	# Where nobody can write (the test's own directory is private).
	NPDIR=$(mktemp -d /tmp/dagkit-nproc.XXXXXX)
	chmod 777 "$NPDIR"
	cd "$NPDIR"
	dag np.json <<'EOF2'
{"steps": [{"id": "a", "run": "sleep 1"}, {"id": "b", "run": "sleep 1"},
 {"id": "c", "run": "sleep 1"}, {"id": "d", "retry": {"attempts": 3, "delay": 0}, "run": "sleep 1"},
 {"id": "e", "run": "sleep 1"}, {"id": "f", "run": "sleep 1"}]}
EOF2
	# nobody may have 4 processes: dag-run and 3 steps.
	TMPDIR=$NPDIR HOME=$NPDIR run timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    bash -c "ulimit -u 4 && exec dag-run -q -j 6 --runs '$PWD/r' np.json"
	echo "$output"
	assert_equal "$status" 4
	d=$(ls -d r/2*)
	jq -r '.steps[] | [.status, .attempts, .reason] | @tsv' "$d/run.json"
	run jq -r '[.steps[] | select(.status == "failed")] | length' "$d/run.json"
	[ "$output" -ge 1 ]
	run jq -r '.steps[] | select(.status == "failed") | "\(.attempts) \(.reason)"' "$d/run.json"
	refute_output --partial "not found"
	for l in "${lines[@]}"; do
		assert_equal "$l" "1 cannot start: Resource temporarily unavailable"
	done
	jq -e '.counts.pending >= 1' "$d/run.json"
}

# ---------------------------------------------------------------------------
# What dagkit writes it reads back

@test "bytes that are not UTF-8 in a run id are refused; in a runs path they do not cost the journal a line" {
	echo '{"steps": [{"id": "a", "run": "echo ran >> a.log"}, {"id": "b", "needs": ["a"], "run": "echo $DAG_RUN_ID > b.id"}]}' > wf.json
	run -2 --separate-stderr timeout 30 dag-run -q --run-id "$(printf 'r\xff')" wf.json
	assert_equal "$stderr" "dag-run: --run-id 'r\\xff': not a valid run id (UTF-8, no '/', not '.', '..' or 'latest')"
	run -2 --separate-stderr timeout 30 dag-run -q --run-dir "$(printf 'x/r\xff')" wf.json
	[[ "$stderr" == "dag-run: --run-dir 'x/r\\xff': its name cannot be a run id"* ]]
	runs=$(printf 'runs-\xe9')
	run -0 timeout 30 dag-run -q --runs "$runs" wf.json
	# Every line is JSON that dagkit and jq read back.
	while IFS= read -r l; do jq -e . > /dev/null <<<"$l" || fail "not JSON: $l"; done < "$runs/latest/events.jsonl"
	# The path is informational there: U+FFFD stands for the byte.
	[[ "$(jq -r 'select(.event == "run_started") | .dir' "$runs/latest/events.jsonl")" == *"/runs-"$'\xef\xbf\xbd'"/"* ]]
	run -0 dag-status --runs "$runs"
	assert_line "done     2/2"
	assert_line "status   succeeded"
	run -0 timeout 30 dag-run -q --resume "$runs/latest"
	assert_equal "$(cat a.log)" ran
}

@test "--run-dir with a trailing slash: one run, one id everywhere" {
	echo '{"steps": [{"id": "a", "run": "echo $DAG_RUN_ID > a.id; test -e ok"}]}' > wf.json
	run -1 timeout 30 dag-run -q --run-dir rd/ wf.json
	assert_equal "$(cat a.id)" rd
	assert_equal "$(jq -r .run rd/events.jsonl | sort -u)" rd
	touch ok
	run -0 timeout 30 dag-run -q --resume rd/
	assert_equal "$(cat a.id)" rd
	assert_equal "$(jq -r .run rd/events.jsonl | sort -u)" rd
}

@test "a FIFO named run.json in the runs directory hangs nothing: dag-run, dag-status --list, dag-plan --history" {
	echo '{"name": "f", "steps": [{"id": "a", "run": "true"}]}' > wf.json
	run -0 timeout 30 dag-run -q wf.json
	mkdir -p "$DAG_RUNS/20260101T000000Z-f-0000" "$DAG_RUNS/custom"
	mkfifo "$DAG_RUNS/20260101T000000Z-f-0000/run.json" "$DAG_RUNS/custom/run.json"
	run -0 timeout 30 dag-run -q wf.json
	run -0 timeout 30 dag-status --list
	run -0 --separate-stderr timeout 30 dag-plan --history "$DAG_RUNS" wf.json
	# A run of another DAG, whatever its step ids, gives no estimate.
	mkdir "$DAG_RUNS/other"
	echo '{"format":1,"id":"other","dag":"g","status":"succeeded","steps":{"a":{"status":"succeeded","duration":500}}}' > "$DAG_RUNS/other/run.json"
	run -0 --separate-stderr timeout 30 dag-plan --history "$DAG_RUNS" wf.json
	[ "$(jq '.plan.steps.a.estimate < 5' <<<"$output")" = true ]
	# A FIFO for a run's dag.json: an error, not a hang.
	mkdir -p "$DAG_RUNS/trap"
	mkfifo "$DAG_RUNS/trap/dag.json"
	run -2 --separate-stderr timeout 30 dag-status trap
	run -2 --separate-stderr timeout 30 dag-run -q --resume trap
	run -2 --separate-stderr timeout 30 dag-step -q --run-dir "$DAG_RUNS/trap" a
}

@test "a resume while the run still goes does not act on it: the run's lock is taken before its journal is read" {
	# Big run.json files of another DAG slow down whatever reads history
	# before it locks: the resume must not act on a journal it read
	# before the run ended.
	jq -nc '{format: 1, id: "x", dag: "other", status: "succeeded", steps: ([range(100000) | {key: "s\(.)", value: {status: "succeeded", duration: 1}}] | from_entries)}' > big.json
	for i in 1 2 3 4 5 6; do mkdir -p "$DAG_RUNS/other$i"; cp big.json "$DAG_RUNS/other$i/run.json"; done
	echo '{"steps": [{"id": "a", "run": "echo a >> log"}, {"id": "b", "needs": ["a"], "run": "echo b >> log; i=0; while [ ! -e release ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done"}]}' > wf.json
	timeout 60 dag-run -q wf.json 3>&- &
	pid=$!
	for _ in $(seq 300); do [ -e log ] && grep -q b log && break; sleep 0.05; done
	timeout 60 dag-run -q --resume latest 2>resume.err 3>&- &
	rpid=$!
	touch release
	st=0
	wait "$rpid" || st=$?
	wait "$pid"
	# It found the lock taken (75), or the run over, with nothing to do.
	[[ "$st" =~ ^(0|75)$ ]] || fail "resume exited $st: $(cat resume.err)"
	assert_equal "$(paste -sd' ' log)" "a b"
}

@test "a need's output reaches its dependent as written: big integers keep their digits; jq's doubles are warned about once" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "echo '{\"id\": 1234567890123456789, \"n\": 9007199254740993}' > $DAG_OUTPUT"},
 {"id": "b", "needs": ["a"], "run": "cat > b.in"},
 {"id": "c", "needs": ["a"], "when": ".steps.a.output.n > 0", "run": "true"},
 {"id": "d", "needs": ["a"], "input": ".steps.a.output", "run": "cat > d.in"}]}
EOF2
	run -0 --separate-stderr timeout 30 dag-run -q wf.json
	assert_equal "$(cat b.in)" '{"a":{"id": 1234567890123456789, "n": 9007199254740993}}'
	assert_equal "$(cat "$(latest)/steps/a/output.json")" '{"id": 1234567890123456789, "n": 9007199254740993}'
	# c and d saw a through jq: one warning for the run.
	assert_equal "$(grep -c '^dag-run: warning: step [cd]: a number beyond 2^53 went through jq' <<<"$stderr")" 1
	# 2^53 + 1 reaches jq as 2^53: warned about too.
	echo '{"steps": [{"id": "a", "run": "echo 9007199254740993 > $DAG_OUTPUT"}, {"id": "t", "needs": ["a"], "transform": ".a"}]}' > edge.json
	run -0 --separate-stderr timeout 30 dag-run -q edge.json
	[[ "$stderr" == *"warning: step t: a number beyond 2^53"* ]]
	# Without big numbers, no word.
	echo '{"steps": [{"id": "a", "run": "echo 42 > $DAG_OUTPUT"}, {"id": "c", "needs": ["a"], "when": ".steps.a.output > 0", "run": "true"}]}' > small.json
	run -0 --separate-stderr timeout 30 dag-run -q small.json
	assert_equal "$stderr" ""
}

@test "-p values that are not UTF-8 are refused: a param is text" {
	echo '{"params": {"s": "x"}, "steps": [{"id": "a", "run": "echo {{ .params.s }} > a.out"}]}' > wf.json
	run -2 --separate-stderr timeout 30 dag-run -q -p "$(printf 's=\xff\xfe')" wf.json
	assert_equal "$stderr" "dag-run: -p s: the value is not UTF-8 text (byte 1 is not)"
	assert_file_not_exists a.out
}

@test "output: stdout that is neither JSON nor UTF-8 text fails the step, saying where" {
	echo '{"steps": [{"id": "a", "output": "stdout", "run": "printf '"'"'ok\\377no'"'"'"}]}' > wf.json
	run -1 timeout 30 dag-run -q wf.json
	assert_equal "$(reason_of a)" "output is not JSON, nor text in UTF-8 (byte 3 is not)"
}

@test "the runs filesystem too full for a step's output: a system error, exit 4, no retry" {
	mount_tmpfs size=1m FULL-FILESYSTEM
	head -c $((1024 * 1024 - 96 * 1024)) /dev/zero > "$MNT/filler" 2>/dev/null || true
	echo '{"steps": [{"id": "t", "retry": {"attempts": 3, "delay": 0}, "transform": "[range(40000)]"}]}' > t.json
	run -4 --separate-stderr timeout 60 dag-run -q --runs "$MNT" t.json
	assert_equal "$(jq -r '.steps.t | [.status, .attempts] | @tsv' "$MNT/latest/run.json")" $'failed\t1'
	[[ "$stderr" == *"No space left on device"* ]]
	rm -rf "$MNT"/2*
	echo '{"steps": [{"id": "r", "retry": {"attempts": 3, "delay": 0}, "run": "head -c 200000 /dev/zero > $DAG_OUTPUT"}]}' > r.json
	run -4 --separate-stderr timeout 60 dag-run -q --runs "$MNT" r.json
	[[ "$stderr" == *"exit status 1, with the run directory's file system full"* ]]
	# Its partial output fills the disk: what the journal could keep.
	run grep -c '"event":"step_retry"' "$MNT"/latest/events.jsonl
	assert_output 0
}

@test "a step cannot change another step's input: the shared {} is sealed" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "x", "run": "true"},
 {"id": "a", "needs": ["x"], "run": "echo '{\"injected\": true}' > \"$DAG_INPUT\"; chmod u+w \"$DAG_INPUT\"; echo more >> \"$DAG_INPUT\"; true"},
 {"id": "c", "needs": ["a"], "run": "cat > c.in; cat \"$DAG_INPUT\" > c.path"}]}
EOF2
	run -0 timeout 30 dag-run -q -j1 wf.json
	assert_equal "$(cat c.in)" "{}"
	assert_equal "$(cat c.path)" "{}"
	[[ "$(cat "$(latest)/steps/a/1.stderr")" == *"Operation not permitted"* ]]
	# And it costs no file in the run directory.
	[ -z "$(find "$(latest)/steps" -name '*input*')" ]
}

@test "a FIFO a step leaves where dagkit reads or writes a file hangs nothing: its logs, its captures, the journal" {
	dag wf.json <<'EOF2'
{"name": "sab", "steps": [{"id": "a", "run": "mkdir -p \"$DAG_RUN_DIR/steps/a\"; mkfifo \"$DAG_RUN_DIR/steps/a/$DAG_ATTEMPT.stderr\"; exit 1"},
 {"id": "b", "run": "mkdir -p \"$DAG_RUN_DIR/steps/b\"; mkfifo \"$DAG_RUN_DIR/steps/b/$DAG_ATTEMPT.stdout\"; echo hi"}]}
EOF2
	run --separate-stderr timeout 30 dag-run -k wf.json
	[ "$status" = 1 ] || [ "$status" = 4 ]
	run --separate-stderr timeout 30 dag-status --logs a
	[ "$status" -lt 70 ] && [ "$status" != 124 ]
	run --separate-stderr timeout 30 dag-status --html report.html
	[ "$status" -lt 70 ] && [ "$status" != 124 ]
	rm "$(latest)/events.jsonl"
	mkfifo "$(latest)/events.jsonl"
	run --separate-stderr timeout 30 dag-status
	[ "$status" -lt 70 ] && [ "$status" != 124 ]
	# A symlink where dagkit writes is refused, not followed.
	echo keep > target
	rm -f "$(latest)/lock"
	ln -s "$PWD/target" "$(latest)/lock"
	run -4 --separate-stderr timeout 30 dag-run -q --resume latest
	assert_equal "$(cat target)" keep
}

@test "resume kills the whole group of a step left running, even once its leader is reaped" {
	# A subreaper that reaps at once (as systemd or tini would): the
	# environment scan must not be what takes the leader first.
	cat > reap.py <<'EOF2'
import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)	# PR_SET_CHILD_SUBREAPER
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
try:
    while True:
        os.wait()
except ChildProcessError:
    pass
EOF2
	dag wf.json <<'EOF2'
{"name": "grp", "steps": [{"id": "a", "run": "test -e ok && exit 0; env -i sh -c 'echo $$ > hidden.pid; exec sleep 60' & sleep 60"}]}
EOF2
	python3 reap.py dag-run -q --run-id grp wf.json 3>&- &
	rpid=$!
	for _ in $(seq 600); do [ -s hidden.pid ] && grep -q step_started "$DAG_RUNS/grp/events.jsonl" && break; sleep 0.05; done
	pkill -KILL -f "dag-run -q --run-id grp" || true
	running "$(cat hidden.pid)"
	touch ok
	run -0 timeout 60 dag-run -q --resume grp
	for _ in $(seq 50); do running "$(cat hidden.pid)" || break; sleep 0.1; done
	run ! running "$(cat hidden.pid)"
	kill "$rpid" 2>/dev/null || true
	wait "$rpid" 2>/dev/null || true
}

@test "a step failing with the runs file system out of inodes: a system error, not retried" {
	mount_tmpfs size=20m,nr_inodes=64 FULL-FILESYSTEM
	echo '{"steps": [{"id": "a", "retry": {"attempts": 3, "delay": 0}, "run": "i=0; while touch \"$DAG_RUN_DIR/f$i\" 2>/dev/null; do i=$((i + 1)); done; echo 1 > $DAG_OUTPUT"}]}' > wf.json
	run -4 --separate-stderr timeout 60 dag-run -q --runs "$MNT" wf.json
	[[ "$stderr" == *"file system full"* ]]
	run grep -c '"event":"step_retry"' "$MNT"/latest/events.jsonl
	assert_output 0
}
