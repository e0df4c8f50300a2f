#!/usr/bin/env bats
# share/examples and share/dag.schema.json: every example is valid for
# dag-validate and for the schema, and runs; the schema agrees with
# dag-validate on what is a valid document.

load test_helper

EXAMPLES="$TOP/share/examples"
SCHEMA="$TOP/share/dag.schema.json"

# schema_check FILE...: validates each JSON file against the schema with
# python3-jsonschema (draft 2020-12); prints "FILE: PATH: message" lines.
# The python3 of PATH is used, else Debian's /usr/bin/python3 (PATH may
# lead to another python, without the Debian package); the test is
# skipped when neither can import jsonschema.
schema_check() {
	local py
	for py in python3 /usr/bin/python3 ''; do
		[ -n "$py" ] || skip "python3 jsonschema is not installed (Debian: python3-jsonschema)"
		"$py" -c 'import jsonschema' 2>/dev/null && break
	done
	"$py" - "$SCHEMA" "$@" <<'EOF2'
import json, sys
import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = 0
for f in sys.argv[2:]:
    with open(f) as fp:
        doc = json.load(fp)
    for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        print("%s: %s: %s" % (f, "/".join(map(str, e.absolute_path)), e.message))
        bad = 1
sys.exit(bad)
EOF2
}

# The examples added beside etl.json, each documented by "x-doc".
NEW_EXAMPLES="ci cron pipeline"

@test "the schema is a valid JSON Schema, draft 2020-12" {
	run jq -r '."$schema"' "$SCHEMA"
	assert_output 'https://json-schema.org/draft/2020-12/schema'
	echo '{"steps": [{"id": "a", "run": "true"}]}' > min.json
	run schema_check min.json
	assert_success
	assert_output ''
}

@test "every example is valid for dag-validate" {
	for f in "$EXAMPLES"/*.json; do
		run --separate-stderr dag-validate "$f"
		assert_success
		assert_equal "$stderr" ""
	done
	# At least the three of the issue, and etl.json.
	for e in $NEW_EXAMPLES etl; do
		assert_file_exists "$EXAMPLES/$e.json"
	done
}

@test "every example is valid for the schema, as written, normalized and planned" {
	n=0
	for f in "$EXAMPLES"/*.json; do
		b=$(basename "$f" .json)
		dag-validate "$f" > "$b.norm.json"
		dag-plan "$f" > "$b.plan.json"
		n=$((n + 1))
	done
	run schema_check "$EXAMPLES"/*.json ./*.norm.json ./*.plan.json
	assert_success
	assert_output ''
	[ "$n" -ge 4 ]
}

@test "each new example explains itself in x-doc and in step descriptions" {
	for e in $NEW_EXAMPLES; do
		run jq -e '(."x-doc" | type == "string" and length > 100)
		    and (."x-doc" | test("dag-run"))
		    and (.description | type == "string")' "$EXAMPLES/$e.json"
		assert_success
	done
	# The features each one is there to show.
	run jq -e '[.steps[] | select(.trigger == "all_done")] | length > 0' "$EXAMPLES/ci.json"
	assert_success
	run jq -e '[.steps[] | select(.when != null)] | length > 0' "$EXAMPLES/ci.json"
	assert_success
	run jq -e '[.steps[] | select(.trigger == "one_failed")] | length > 0' "$EXAMPLES/cron.json"
	assert_success
	run jq -e '[.steps[] | select((.retry.attempts // 0) > 1 and (.retry.factor // 2) > 1)] | length > 0' "$EXAMPLES/cron.json"
	assert_success
	run jq -e '([.steps[] | select(.transform)] | length > 0)
	    and ([.steps[] | select(.output == "stdout")] | length > 0)
	    and ([.steps[] | select(.run // "" | test("DAG_OUTPUT"))] | length > 0)
	    and ([.steps[] | select((.needs // []) | length >= 3)] | length > 0)' "$EXAMPLES/pipeline.json"
	assert_success
}

@test "every example runs to success (cron.json with --lock)" {
	for f in "$EXAMPLES"/*.json; do
		lock=
		[ "$(basename "$f")" = cron.json ] && lock=--lock
		run --separate-stderr timeout 60 dag-run -q $lock "$f"
		if [ "$status" -ne 0 ]; then
			echo "$f: exit $status: $stderr"
			cat "$DAG_RUNS"/latest/steps/*/*.stderr
		fi
		assert_success
		assert_equal "$(jq -r .status "$DAG_RUNS/latest/run.json")" succeeded
	done
}

@test "ci.json: tests in parallel, deploy gated by when, cleanup always" {
	run -0 --separate-stderr timeout 60 dag-run "$EXAMPLES/ci.json"
	d="$DAG_RUNS/latest"
	run jq -r '.steps | to_entries | map("\(.key)=\(.value.status)") | join(" ")' "$d/run.json"
	assert_output "checkout=succeeded lint=succeeded build=succeeded test-unit=succeeded test-integration=succeeded test-e2e=succeeded report=succeeded deploy=succeeded cleanup=succeeded"
	assert_equal "$(jq -c . "$d/steps/report/output.json")" '{"passed":64,"failed":0,"suites":["unit","integration","e2e"]}'
	assert_equal "$(cat "$d/steps/deploy/1.stdout")" "deployed version 1.4.2 to staging"
	# The three suites overlapped: each started before any of them ended.
	run jq -rs '[.[] | select(.step != null and (.step | startswith("test-")))
	    | .event] | .[:3] | join(" ")' "$d/events.jsonl"
	assert_output "step_started step_started step_started"
	assert_not_exists "$d/work"
	# Another branch: deploy is skipped, not failed; cleanup still runs.
	run -0 --separate-stderr timeout 60 dag-run -p branch=topic "$EXAMPLES/ci.json"
	d="$DAG_RUNS/latest"
	assert_equal "$(jq -r '[.steps.deploy.status, .steps.cleanup.status] | join(" ")' "$d/run.json")" "skipped succeeded"
	assert_not_exists "$d/work"
}

@test "cron.json: retried with backoff, alert skipped; a failure runs the alert; --lock excludes" {
	run -0 --separate-stderr timeout 60 dag-run --lock "$EXAMPLES/cron.json"
	d="$DAG_RUNS/latest"
	assert_equal "$(jq -r '[.steps.fetch.attempts, .steps.fetch.status, .steps.alert.status] | join(" ")' "$d/run.json")" "2 succeeded skipped"
	run jq -r 'select(.event == "step_retry") | .step' "$d/events.jsonl"
	assert_output fetch
	assert_file_exists "$DAG_RUNS/nightly-batch.lock"
	# The upstream never gets ready: fetch gives up, alert runs, exit 1.
	run -1 --separate-stderr timeout 60 dag-run --lock -p ready_after=9 "$EXAMPLES/cron.json"
	d="$DAG_RUNS/latest"
	assert_equal "$(jq -r '[.steps.fetch.attempts, .steps.fetch.status, .steps.process.status, .steps.alert.status] | join(" ")' "$d/run.json")" "4 failed upstream_failed succeeded"
	run cat "$d/steps/alert/1.stderr"
	assert_output --partial "nightly-batch: run $(basename "$(readlink -f "$d")") failed"
	# While another holds the lock, a second run refuses to start.
	command -v flock >/dev/null || skip "flock(1) is not installed"
	run -75 --separate-stderr flock "$DAG_RUNS/nightly-batch.lock" timeout 60 dag-run --lock "$EXAMPLES/cron.json"
}

@test "pipeline.json: fan-out, fan-in, data through DAG_OUTPUT, stdout and transform" {
	run -0 --separate-stderr timeout 60 dag-run -v "$EXAMPLES/pipeline.json"
	d="$DAG_RUNS/latest"
	assert_equal "$(jq -c .regions "$d/steps/merge/output.json")" \
	    '{"eu":{"orders":2,"revenue":162.5},"us":{"orders":2,"revenue":99.5},"apac":{"orders":1,"revenue":300}}'
	assert_equal "$(jq -c '[.orders, .revenue, .customers]' "$d/steps/merge/output.json")" '[5,562,["Ada","Brian","Chen","Dana"]]'
	assert_equal "$(jq -c . "$d/steps/load/output.json")" '{"loaded":true,"rows":3}'
	assert_equal "$(cat "$d/steps/report/1.stdout")" "2026-01-01: 5 orders, 562 EUR, 3 rows loaded"
	assert_equal "$(cat "$d/warehouse/revenue.tsv")" $'eu\t2\t162.5\nus\t2\t99.5\napac\t1\t300'
	# Another day flows through the templates.
	run -0 --separate-stderr timeout 60 dag-run -q -p day=2026-02-03 "$EXAMPLES/pipeline.json"
	assert_equal "$(jq -r .day "$DAG_RUNS/latest/steps/extract/output.json")" 2026-02-03
}

@test "an unknown key is rejected by dag-validate and by the schema" {
	echo '{"steps": [{"id": "a", "run": "true", "tmeout": "5s"}]}' > step.json
	echo '{"nmae": "x", "steps": [{"id": "a", "run": "true"}]}' > top.json
	echo '{"defaults": {"foo": 1}, "steps": [{"id": "a", "run": "true"}]}' > defaults.json
	echo '{"steps": [{"id": "a", "run": "true", "retry": {"tries": 2}}]}' > retry.json
	for f in step:tmeout top:nmae defaults:foo retry:tries; do
		key=${f#*:} f=${f%:*}
		run -1 dag-validate "$f.json"
		assert_output --partial "unknown key \"$key\""
		run schema_check "$f.json"
		assert_failure
		assert_output --regexp "^$f\.json: .*'$key'"
	done
}

@test "x- keys pass dag-validate and the schema, wherever dag-validate allows them" {
	dag x.json <<'EOF2'
{"x-owner": "ops", "x-": 1,
 "defaults": {"x-note": {"any": ["thing"]}, "retry": {"x-why": null}},
 "steps": [{"id": "a", "run": "true", "x-estimate": "2s", "x-tags": ["a"],
            "retry": {"attempts": 2, "x-note": "flaky"}}]}
EOF2
	run -0 --separate-stderr dag-validate x.json
	run schema_check x.json
	assert_success
	# ... but not inside env or needs, and x-estimate must be a duration.
	echo '{"steps": [{"id": "a", "run": "true", "x-estimate": "soon"}]}' > est.json
	run -1 dag-validate est.json
	run schema_check est.json
	assert_failure
}

@test "the schema and dag-validate agree on valid and invalid documents" {
	# verdict TAB document; 0 valid, 1 invalid.
	cat > cases.tsv <<'EOF2'
0	{"steps":[{"id":"a","run":"true"}]}
1	{"steps":[]}
1	{}
1	[]
1	{"steps":[{"id":"a"}]}
1	{"steps":[{"id":"a","run":"true","argv":["x"]}]}
0	{"steps":[{"id":"a","argv":["x",""]}]}
0	{"steps":[{"id":"a","transform":"."}]}
1	{"steps":[{"id":"-a","run":"true"}]}
1	{"steps":[{"id":".a","run":"true"}]}
1	{"steps":[{"id":"a b","run":"true"}]}
0	{"steps":[{"id":"_a.b-c","run":"true"}]}
1	{"steps":[{"id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","run":"true"}]}
1	{"steps":[{"id":"a","run":""}]}
1	{"steps":[{"id":"a","argv":[]}]}
1	{"steps":[{"id":"a","argv":[1]}]}
1	{"steps":[{"id":"a","transform":""}]}
0	{"steps":[{"id":"a","run":"true","timeout":"1h30m"}]}
0	{"steps":[{"id":"a","run":"true","timeout":"1d2h3m4s5ms"}]}
0	{"steps":[{"id":"a","run":"true","timeout":".5s"}]}
0	{"steps":[{"id":"a","run":"true","timeout":"90"}]}
0	{"steps":[{"id":"a","run":"true","timeout":2.5}]}
1	{"steps":[{"id":"a","run":"true","timeout":0}]}
1	{"steps":[{"id":"a","run":"true","timeout":"0s"}]}
1	{"steps":[{"id":"a","run":"true","timeout":"30m1h"}]}
1	{"steps":[{"id":"a","run":"true","timeout":"1h30"}]}
1	{"steps":[{"id":"a","run":"true","timeout":"1s1m"}]}
1	{"steps":[{"id":"a","run":"true","timeout":"5S"}]}
1	{"steps":[{"id":"a","run":"true","timeout":"1e3"}]}
1	{"steps":[{"id":"a","run":"true","timeout":-1}]}
1	{"steps":[{"id":"a","run":"true","timeout":4e9}]}
0	{"steps":[{"id":"a","run":"true","kill_grace":0}]}
1	{"steps":[{"id":"a","run":"true","kill_grace":"."}]}
1	{"steps":[{"id":"a","run":"true","kill_grace":true}]}
0	{"steps":[{"id":"a","run":"true","retry":{"attempts":1000,"delay":"250ms","factor":1.5,"max_delay":"1m","jitter":true,"exit_codes":[0,255],"max_duration":"1h"}}]}
1	{"steps":[{"id":"a","run":"true","retry":{"attempts":0}}]}
1	{"steps":[{"id":"a","run":"true","retry":{"attempts":1001}}]}
1	{"steps":[{"id":"a","run":"true","retry":{"attempts":1.5}}]}
1	{"steps":[{"id":"a","run":"true","retry":{"factor":0.5}}]}
1	{"steps":[{"id":"a","run":"true","retry":{"exit_codes":[256]}}]}
1	{"steps":[{"id":"a","run":"true","retry":{"max_duration":0}}]}
1	{"steps":[{"id":"a","run":"true","retry":{"jitter":1}}]}
0	{"steps":[{"id":"a","run":"true","trigger":"all_done","output":"stdout","allow_failure":true,"description":"d","cwd":"/","env":{"A":"1"}}]}
1	{"steps":[{"id":"a","run":"true","trigger":"all_don"}]}
1	{"steps":[{"id":"a","run":"true","output":"stderr"}]}
1	{"steps":[{"id":"a","run":"true","env":{"A":1}}]}
1	{"steps":[{"id":"a","run":"true","env":{"A=B":"1"}}]}
1	{"steps":[{"id":"a","run":"true","allow_failure":"yes"}]}
1	{"steps":[{"id":"a","run":"true","when":""}]}
1	{"steps":[{"id":"a","run":"true","needs":"b"},{"id":"b","run":"true"}]}
0	{"name":"n","description":"d","plan":{},"params":{"p":[1]},"env":{"E":"x"},"max_parallel":4,"timeout":"2h","on_failure":"abort","pools":{"db":1},"steps":[{"id":"a","run":"true","pool":"db"}]}
1	{"name":"","steps":[{"id":"a","run":"true"}]}
1	{"max_parallel":0,"steps":[{"id":"a","run":"true"}]}
1	{"on_failure":"keep","steps":[{"id":"a","run":"true"}]}
1	{"pools":{"db":0},"steps":[{"id":"a","run":"true"}]}
1	{"params":[],"steps":[{"id":"a","run":"true"}]}
0	{"defaults":{"timeout":"5s","retry":{"attempts":2},"env":{"A":"b"},"trigger":"all_done"},"steps":[{"id":"a","run":"true"}]}
1	{"defaults":{"run":"true"},"steps":[{"id":"a","run":"true"}]}
1	{"defaults":{"needs":[]},"steps":[{"id":"a","run":"true"}]}
1	{"defaults":{"id":"x"},"steps":[{"id":"a","run":"true"}]}
0	{"launcher":"slurm","defaults":{"max_output":1024},"steps":[{"id":"a","run":"true","launcher":["srun","--"],"max_output":1073741824}]}
1	{"launcher":"ssh","steps":[{"id":"a","run":"true"}]}
1	{"steps":[{"id":"a","run":"true","launcher":[]}]}
1	{"steps":[{"id":"a","run":"true","max_output":0}]}
EOF2
	n=0
	while IFS=$'\t' read -r want doc; do
		n=$((n + 1))
		printf '%s\n' "$doc" > "case$n.json"
		run dag-validate -q "case$n.json"
		[ "$status" -eq "$want" ] || fail "dag-validate: exit $status, want $want: $doc"
	done < cases.tsv
	[ "$n" -gt 50 ]
	# One schema_check for all: the files it names are the invalid ones.
	run schema_check $(seq -f 'case%g.json' "$n")
	assert_failure
	schema_out=$output
	n=0
	while IFS=$'\t' read -r want doc; do
		n=$((n + 1))
		got=0
		grep -q "^case$n\.json: " <<<"$schema_out" && got=1
		[ "$got" -eq "$want" ] || fail "schema: $got, want $want: $doc: $schema_out"
	done < cases.tsv
}

@test "make demo's script validates, plans, runs and shows the example" {
	run -0 timeout 120 sh "$TOP/share/examples/demo.sh" "$(dirname "$(command -v dag-run)")"
	assert_line 'critical path: extract -> users -> count -> load -> alert'
	assert_line 'status   succeeded'
}
