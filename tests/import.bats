#!/usr/bin/env bats
# share/import.jq: foreign workflows (steps/action/params/retryPolicy/
# webhooks, and dag.nodes/handler/config) into dagkit documents.

load test_helper

IMPORT="$TOP/share/import.jq"
IMP="$FIXTURES/import"

# import FILE: the converted document on stdout.
import() {
	jq -f "$IMPORT" "$1"
}

# step ID FILTER: FILTER applied to step ID of wf.json, compact.
step() {
	jq -c --arg id "$1" ".steps[] | select(.id == \$id) | $2" wf.json
}

# A curl that runs nowhere: it appends its arguments to curl.log, one a
# line, then "--"; it fails for the URL https://x.example/fail.
fake_curl() {
	mkdir -p bin
	cat > bin/curl <<'EOF2'
#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done >> "$CURL_LOG"
echo -- >> "$CURL_LOG"
case "$*" in *://x.example/fail*) echo "curl: (22) The requested URL returned error: 500" >&2; exit 22 ;; esac
exit 0
EOF2
	chmod +x bin/curl
	export CURL_LOG="$PWD/curl.log"
	PATH="$PWD/bin:$PATH"
}

@test "shape (a), steps with actions: imports and validates" {
	run --separate-stderr import "$IMP/steps.json"
	assert_success
	echo "$output" > wf.json
	run --separate-stderr dag-validate wf.json
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.name, .description, ."x-imported-from".format] | join("|")' wf.json)" \
	    "Order_sync|Sync orders to the CRM every hour.|steps"
	assert_equal "$(jq -c '[.steps[].id]' wf.json)" \
	    '["fetch-orders","rate_limit_pause","transform","push","archive","on_complete","on_failure"]'
}

@test "shape (a): dependencies become needs, retryPolicy retry in seconds, name description" {
	import "$IMP/steps.json" > wf.json
	assert_equal "$(step fetch-orders .retry)" '{"attempts":5,"delay":0.5,"factor":2,"max_delay":30}'
	assert_equal "$(step push .retry)" '{"attempts":3,"delay":1,"factor":1.5}'
	assert_equal "$(step rate_limit_pause .needs)" '["fetch-orders"]'
	assert_equal "$(step transform .needs)" '["rate_limit_pause"]'
	assert_equal "$(step push .needs)" '["transform"]'
	assert_equal "$(step archive .needs)" '["transform"]'
	assert_equal "$(step fetch-orders .needs)" 'null'
	assert_equal "$(step rate_limit_pause .description)" '"Respect the rate limit"'
	# The source step is kept beside it.
	assert_equal "$(step rate_limit_pause '."x-imported-from".id')" '"rate limit pause"'
	# delay: milliseconds to sleep's seconds; shell: the command, env kept.
	assert_equal "$(step rate_limit_pause .run)" '"sleep 1.5"'
	assert_equal "$(step transform '[.run, .env]')" \
	    '["jq '"'"'[.[] | {id, total}]'"'"' orders.json > crm.json",{"MODE":"strict; rm -rf /"}]'
	# http: curl with the method, headers and url as separate arguments.
	assert_equal "$(step fetch-orders .argv)" \
	    '["curl","-fsS","-X","GET","-H","Authorization: Bearer t0k'"'"'en","-H","Accept: application/json","--url","https://shop.example.com/api/orders?since=$(date)&state=open"]'
}

@test "shape (a): webhooks become curl steps: onComplete after the sinks, onFailure on any failure" {
	import "$IMP/steps.json" > wf.json
	assert_equal "$(step on_complete '[.trigger, .needs, .allow_failure]')" '["all_success",["push","archive"],true]'
	assert_equal "$(step on_failure '[.trigger, .needs, .allow_failure]')" \
	    '["one_failed",["fetch-orders","rate_limit_pause","transform","push","archive"],true]'
	assert_equal "$(step on_complete '.argv | [.[0], .[-1]]')" '["curl","https://hooks.example.com/orders/done"]'
	assert_equal "$(step on_failure '.argv | [.[0], .[3], .[5], .[-1]]')" \
	    '["curl","POST","X-Token: abc","https://hooks.example.com/orders/failed"]'
}

@test "params are data: curl gets them verbatim, nothing reaches the shell or the templates" {
	fake_curl
	dag src.json <<'EOF2'
{"name": "hooks", "steps": [
  {"id": "get", "action": "http", "params": {"url": "https://x.example/a?b=$(id)&c='d'", "headers": {"X-A": "`uname` {{ .params }}"}}},
  {"id": "post", "action": "HTTP_REQUEST", "dependencies": ["get"],
   "params": {"method": "put", "url": "https://x.example/p", "body": {"s": "it's \"q\"; $(reboot) {{ .run.id }} }}"}}}],
 "webhooks": {"onComplete": "https://x.example/done"}}
EOF2
	import src.json > wf.json
	run -0 --separate-stderr timeout 60 dag-run wf.json
	run head -n 24 curl.log
	assert_output - <<'EOF2'
-fsS
-X
GET
-H
X-A: `uname` {{ .params }}
--url
https://x.example/a?b=$(id)&c='d'
--
-fsS
-X
PUT
-H
Content-Type: application/json
--data-raw
{"s":"it's \"q\"; $(reboot) {{ .run.id }} }}"}
--url
https://x.example/p
--
-fsS
-X
POST
-H
Content-Type: application/json
--data-raw
EOF2
	# ... then the webhook's own body, with the run id, and its url.
	run tail -n +25 curl.log
	assert_line --index 0 "{\"event\":\"onComplete\",\"workflow\":\"hooks\",\"run\":\"$(basename "$(readlink -f "$DAG_RUNS/latest")")\",\"status\":\"succeeded\"}"
	assert_line --index 1 "--url"
	assert_line --index 2 "https://x.example/done"
	assert_equal "${#lines[@]}" 4
}

@test "onFailure runs when a step fails and names the failed steps" {
	fake_curl
	dag src.json <<'EOF2'
{"name": "f", "steps": [
  {"id": "ok", "action": "wait", "params": {"ms": 10}},
  {"id": "bad", "action": "http", "params": {"url": "https://x.example/fail"}},
  {"id": "after", "action": "delay", "params": {"ms": 10}, "dependencies": ["bad"]}],
 "webhooks": {"onComplete": "https://x.example/done", "onFailure": "https://x.example/alert"}}
EOF2
	import src.json > wf.json
	run -1 --separate-stderr timeout 60 dag-run -k wf.json
	assert_equal "$(jq -r '.steps | to_entries | map("\(.key)=\(.value.status)") | join(" ")' "$DAG_RUNS/latest/run.json")" \
	    "ok=succeeded bad=failed after=upstream_failed on_complete=upstream_failed on_failure=succeeded"
	run grep -A 3 -e '--data-raw' curl.log
	assert_output --partial '"event":"onFailure","workflow":"f"'
	assert_output --partial '"status":"failed","failed":["bad","after"]}'
	assert_output --partial 'https://x.example/alert'
	refute_output --partial 'https://x.example/done'
}

@test "shape (b), dag.nodes with handlers: imports, validates, maps needs and commands" {
	run --separate-stderr import "$IMP/nodes.json"
	assert_success
	echo "$output" > wf.json
	run -0 --separate-stderr dag-validate wf.json
	assert_equal "$(jq -r '[.name, .description, ."x-imported-from".format] | join("|")' wf.json)" \
	    "nightly_report_v2|nightly report/v2|dag.nodes"
	assert_equal "$(jq -c '[.steps[] | [.id, (.needs // [])]]' wf.json)" \
	    '[["start",[]],["query",["start"]],["render",["query"]],["post",["render"]],["lambda.fn",["query"]]]'
	assert_equal "$(step start .run)" '"sleep 0.25"'
	assert_equal "$(step query '[.argv[0], .cwd]')" '["psql","/srv/report"]'
	assert_equal "$(step post '.argv | [.[3], .[4], .[5], .[-1]]')" \
	    '["POST","--data-raw","report ready; $(whoami)","https://chat.example.com/post"]'
	# No webhooks in this shape: no extra step.
	assert_equal "$(jq '.steps | length' wf.json)" 5
}

@test "a shell command keeps its {{ }} text and its quoting" {
	dag src.json <<'EOF2'
{"name": "t", "dag": {"nodes": [
  {"id": "a", "handler": "shell", "config": {"command": "printf '%s|%s\\n' \"{{ x }}\" '{{y}}' > out.txt"}},
  {"id": "b", "handler": "exec", "config": {"command": ["printf", "%s\\n", "{{ .run.id }}", "$HOME"]}, "dependencies": ["a"]},
  {"id": "c", "handler": "command", "config": {"cmd": "echo \"$GREETING\"", "env": {"GREETING": "hi {{ there }}; $(id)"}}, "dependencies": ["b"]}]}}
EOF2
	import src.json > wf.json
	run -0 --separate-stderr dag-validate wf.json
	run -0 --separate-stderr timeout 60 dag-run wf.json
	assert_equal "$(cat out.txt)" '{{ x }}|{{y}}'
	assert_equal "$(cat "$DAG_RUNS/latest/steps/b/1.stdout")" $'{{ .run.id }}\n$HOME'
	assert_equal "$(cat "$DAG_RUNS/latest/steps/c/1.stdout")" 'hi {{ there }}; $(id)'
}

@test "an unknown action becomes a step that fails, naming it" {
	import "$IMP/nodes.json" > wf.json
	run step lambda.fn .run
	assert_output --partial 'unsupported action'
	dag src.json <<'EOF2'
{"steps": [{"id": "mail", "action": "email", "params": {"to": "ops"}},
           {"id": "it's", "action": "it's $(x)"}]}
EOF2
	import src.json > wf.json
	run -0 dag-validate -q wf.json
	run -1 --separate-stderr timeout 60 dag-run -k wf.json
	assert_equal "$(cat "$DAG_RUNS/latest/steps/mail/1.stderr")" "import: unsupported action 'email' (step mail)"
	assert_equal "$(cat "$DAG_RUNS/latest/steps/it_s/1.stderr")" "import: unsupported action 'it's \$(x)' (step it_s)"
	assert_equal "$(jq -r '[.steps[].status] | join(" ")' "$DAG_RUNS/latest/run.json")" "failed failed"
}

@test "the imported delay-only workflow runs to success" {
	import "$IMP/delay.json" > wf.json
	run -0 --separate-stderr dag-validate wf.json
	assert_equal "$(jq -c '[.steps[] | [.id, .run, (.needs // [])]]' wf.json)" \
	    '[["first","sleep 0.2",[]],["second_a","sleep 0.1",["first"]],["second_b","sleep 0.15",["first"]],["last","sleep 0.05",["second_a","second_b"]]]'
	assert_equal "$(step last .retry)" '{"attempts":2,"delay":0.1}'
	run -0 --separate-stderr timeout 60 dag-run wf.json
	assert_equal "$(jq -r '[.status, .counts.succeeded] | join(" ")' "$DAG_RUNS/latest/run.json")" "succeeded 4"
}

@test "ids are made valid and unique; dependencies follow them" {
	dag src.json <<'EOF2'
{"steps": [
  {"id": "a b", "action": "wait", "params": {"ms": 1}},
  {"id": "a_b", "action": "wait", "params": {"ms": 1}, "dependencies": ["a b"]},
  {"id": ".hidden", "action": "wait", "params": {"ms": 1}, "dependencies": "a_b"},
  {"id": "ünïcode/ü", "action": "wait", "params": {"ms": 1}, "dependencies": [".hidden", "a b", "a b"]},
  {"name": "no id", "action": "wait", "params": {"ms": 1}},
  {"action": "wait", "params": {"ms": 1}},
  {"id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "action": "wait", "params": {"ms": 1}},
  {"id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy", "action": "wait", "params": {"ms": 1}}],
 "webhooks": {"onComplete": ["https://x.example/1", "https://x.example/2"]}}
EOF2
	import src.json > wf.json
	run -0 --separate-stderr dag-validate wf.json
	run jq -r '.steps[] | "\(.id) \(.needs // [] | join(","))"' wf.json
	assert_output - <<'EOF2'
a_b 
a_b-2 a_b
_.hidden a_b-2
_n_code__ _.hidden,a_b
no_id 
step-6 
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-2 
on_complete _n_code__,no_id,step-6,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-2
on_complete-2 _n_code__,no_id,step-6,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-2
EOF2
}

@test "documents of neither shape are refused with a message" {
	echo '{"jobs": []}' > other.json
	run -5 --separate-stderr import other.json
	assert_output ''
	[[ $stderr == *"import: unknown workflow shape"* ]]
	echo '[1]' > arr.json
	run -5 --separate-stderr import arr.json
	[[ $stderr == *"import: expected a JSON object, not array"* ]]
	echo '{"steps": []}' > empty.json
	run -5 --separate-stderr import empty.json
	[[ $stderr == *"import: steps is empty"* ]]
}
