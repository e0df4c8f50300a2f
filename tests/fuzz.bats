#!/usr/bin/env bats
# Every input in the fuzz corpus (seeds and the crashes fuzzing found) goes
# through the real programs: a clear answer, never a crash or a leak (the
# ASan+UBSan pass of make check turns either into exit 70).

load test_helper

@test "dag-validate answers every corpus document with 0 or 1" {
	for f in "$TOP"/tests/fuzz/corpus/load/*; do
		run timeout 30 dag-validate -q "$f"
		if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
			echo "$f: exit $status: $output"
			return 1
		fi
	done
}

@test "regression: an unterminated jq string is reported, not leaked" {
	printf '{"steps":[{"id":"a","run":"true","check":". == \\"x"}]}' > wf.json
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: steps[0].check: jq expression does not compile: syntax error, unterminated string literal'
}

@test "dag-status replays any corpus journal without crashing" {
	echo '{"name": "f", "steps": [{"id": "a", "run": "true"}, {"id": "b", "needs": ["a"], "run": "true"}]}' > wf.json
	run -0 timeout 30 dag-run -q --run-id f wf.json
	for f in "$TOP"/tests/fuzz/corpus/journal/*; do
		cp "$f" "$DAG_RUNS/f/events.jsonl"
		run timeout 30 dag-status --json f
		case "$status" in 0|1|3|5|6|130) ;; *) echo "$f: exit $status"; return 1 ;; esac
	done
}

@test "dag-run reads any corpus line of the cache log (checksum made good) without crashing, and runs or skips its steps as it should" {
	for id in s1 s_0_0 a; do
		echo "{\"id\": \"$id\", \"run\": \"echo $id >> log\", \"cache\": true}"
	done | jq -s '{name: "f", steps: .}' > wf.json
	run -0 timeout 30 dag-run -q wf.json
	log=$(echo "$DAG_RUNS"/.cache/*/log)
	for f in "$TOP"/tests/fuzz/corpus/cachelog/*; do
		: > log
		{ cat "$log"; printf '\n%s %s\n' "$(cat "$f")" "$(xxhsum -H2 - < "$f" | cut -d' ' -f1)"; } > "$log.new"
		mv "$log.new" "$log"
		run timeout 30 dag-run -q wf.json
		if [ "$status" -ne 0 ]; then
			echo "$f: exit $status: $output"
			return 1
		fi
	done
	# What the corpus lines said of these steps never kept them from
	# running when their key did not match: each ran or was cached.
	run -0 --separate-stderr timeout 30 dag-run -q --explain wf.json
	assert_equal "$(grep -c 'up to date' <<< "$stderr")" 3
}
