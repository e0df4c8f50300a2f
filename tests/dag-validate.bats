#!/usr/bin/env bats
# dag-validate: every rule of SPEC sections 2 and 7, against real files.

load test_helper

@test "a valid document: exit 0, normalized DAG on stdout, nothing on stderr" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"}, {"id": "b", "needs": ["a"], "argv": ["echo", "hi"]}]}
EOF2
	run --separate-stderr dag-validate wf.json
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -c . <<<"$output")" \
	    '{"name":"wf","steps":[{"id":"a","run":"true"},{"id":"b","needs":["a"],"argv":["echo","hi"]}]}'
}

@test "normalized form: defaults merged key by key, durations in seconds, defaults dropped" {
	dag etl.json <<'EOF2'
{"name": "n", "timeout": "1h30m", "env": {"A": "1"},
 "defaults": {"timeout": "10m", "kill_grace": "250ms", "env": {"X": "d", "Y": "d"},
              "retry": {"attempts": 3, "delay": "2s"}},
 "steps": [{"id": "a", "run": "true", "env": {"Y": "s"}, "retry": {"delay": 5}},
           {"id": "b", "run": "true", "timeout": 30}]}
EOF2
	run --separate-stderr dag-validate etl.json
	assert_success
	assert_equal "$(jq -c '.timeout, .defaults, .steps[0].env, .steps[0].retry, .steps[0].timeout, .steps[0].kill_grace, .steps[1].timeout' <<<"$output" | paste -sd' ')" \
	    '5400 null {"X":"d","Y":"s"} {"attempts":3,"delay":5,"factor":2,"max_delay":300,"jitter":false} 600 0.25 30'
	# Normalizing the normalized form changes nothing.
	echo "$output" > norm.json
	run --separate-stderr dag-validate norm.json
	assert_success
	assert_equal "$(jq -cS 'del(.name)' <<<"$output")" "$(jq -cS 'del(.name)' norm.json)"
}

@test "name: file base name, 'dag' on stdin, --name overrides" {
	dag my-flow.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"}]}
EOF2
	run --separate-stderr dag-validate my-flow.json
	assert_equal "$(jq -r .name <<<"$output")" my-flow
	run --separate-stderr dag-validate < my-flow.json
	assert_equal "$(jq -r .name <<<"$output")" dag
	run --separate-stderr dag-validate --name nightly - < my-flow.json
	assert_equal "$(jq -r .name <<<"$output")" nightly
}

@test "a name from a long or non-UTF-8 file name is made valid; a bad --name is a usage error" {
	long=$(printf 'n%.0s' $(seq 120))
	printf '{"steps": [{"id": "a", "run": "true"}]}' > "$long.json"
	printf '{"steps": [{"id": "a", "run": "true"}]}' > $'caf\xe9 \xff.json'
	run -0 --separate-stderr dag-validate "$long.json"
	assert_equal "$(jq -r .name <<<"$output")" "${long:0:100}"
	# What dag-validate prints, dag-plan and dag-run take; the run reads back.
	dag-validate $'caf\xe9 \xff.json' | dag-plan > plan.json
	assert_equal "$(jq -r .name plan.json)" 'caf_ _'
	run -0 timeout 30 dag-run -q "$long.json"
	run -0 dag-status
	run -0 timeout 30 dag-run -q $'caf\xe9 \xff.json'
	run -0 dag-status --json
	assert_equal "$(jq -r .dag <<<"$output")" 'caf_ _'
	run -2 --separate-stderr dag-validate --name '' "$long.json"
	assert_equal "$stderr" "dag-validate: --name '': must be 1 to 100 bytes of UTF-8"
	run -2 dag-validate --name "$long" "$long.json"
}

@test "unknown keys are errors, with a suggestion; x- keys are kept" {
	dag wf.json <<'EOF2'
{"nmae": "x", "x-owner": "ops",
 "steps": [{"id": "a", "rn": "true", "run": "true", "x-note": [1]},
           {"id": "b", "run": "true", "retry": {"atempts": 2}},
           {"id": "c", "run": "true", "frobnicate": 1}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$output" ""
	assert_equal "$stderr" 'wf.json: nmae: unknown key "nmae" (did you mean "name"?)
wf.json: steps[0].rn: unknown key "rn" (did you mean "run"?)
wf.json: steps[1].retry.atempts: unknown key "atempts" (did you mean "attempts"?)
wf.json: steps[2].frobnicate: unknown key "frobnicate" (custom keys must start with "x-")'
	dag ok.json <<'EOF2'
{"x-owner": "ops", "steps": [{"id": "a", "run": "true", "x-note": [1]}]}
EOF2
	run --separate-stderr dag-validate ok.json
	assert_success
	assert_equal "$(jq -c '[."x-owner", .steps[0]."x-note"]' <<<"$output")" '["ops",[1]]'
}

@test "ids: syntax, dot names, length, missing, duplicates" {
	long=$(printf 'a%.0s' $(seq 101))
	dag wf.json <<EOF2
{"steps": [{"id": "ok_1.x-y", "run": "true"}, {"id": "has space", "run": "true"},
 {"id": "..", "run": "true"}, {"id": ".", "run": "true"}, {"id": "$long", "run": "true"},
 {"run": "true"}, {"id": 7, "run": "true"}, {"id": "ok_1.x-y", "run": "true"}, {"id": "a/b", "run": "true"}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "${stderr_lines[0]}" 'wf.json: steps[1].id: bad id "has space": may contain only letters, digits, '"'"'_'"'"', '"'"'.'"'"' and '"'"'-'"'"''
	assert_equal "${stderr_lines[1]}" 'wf.json: steps[2].id: bad id "..": must start with a letter, digit or '"'"'_'"'"''
	assert_equal "${stderr_lines[2]}" 'wf.json: steps[3].id: bad id ".": must start with a letter, digit or '"'"'_'"'"''
	[[ "${stderr_lines[3]}" == 'wf.json: steps[4].id: bad id "a'*'...": longer than 100 characters' ]]
	assert_equal "${stderr_lines[4]}" 'wf.json: steps[5]: missing "id"'
	assert_equal "${stderr_lines[5]}" 'wf.json: steps[6].id: must be a string, not a number'
	assert_equal "${stderr_lines[6]}" 'wf.json: steps[7].id: duplicate id "ok_1.x-y" (first used by steps[0])'
	assert_equal "${stderr_lines[7]}" 'wf.json: steps[8].id: bad id "a/b": may contain only letters, digits, '"'"'_'"'"', '"'"'.'"'"' and '"'"'-'"'"''
	assert_equal "${#stderr_lines[@]}" 8
}

@test "exactly one command: none, two, empty, wrong types" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "none"}, {"id": "two", "run": "true", "argv": ["true"]},
 {"id": "empty", "run": ""}, {"id": "argv0", "argv": []}, {"id": "argvnum", "argv": ["x", 3]},
 {"id": "t", "transform": "{a: 1}"}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: steps[0]: missing command: a step needs exactly one of "run", "argv" or "transform"
wf.json: steps[1]: more than one command: use exactly one of "run", "argv" or "transform"
wf.json: steps[2].run: empty command
wf.json: steps[3].argv: must not be empty
wf.json: steps[4].argv[1]: must be a string, not a number'
}

@test "needs: unknown step with did-you-mean, self-need, duplicates warn, wrong type" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "load", "run": "true"}, {"id": "a", "run": "true", "needs": ["lod", "a", "zzzzzz"]},
 {"id": "b", "run": "true", "needs": ["load", "load"]}, {"id": "c", "run": "true", "needs": "load"}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: steps[1].needs[0]: unknown step "lod" (did you mean "load"?)
wf.json: steps[1].needs[1]: step "a" needs itself
wf.json: steps[1].needs[2]: unknown step "zzzzzz"
wf.json: steps[2].needs[1]: warning: "load" is listed twice
wf.json: steps[3].needs: must be an array of step ids, not a string'
}

@test "cycles: each printed as its path" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true", "needs": ["c"]}, {"id": "b", "run": "true", "needs": ["a"]},
 {"id": "c", "run": "true", "needs": ["b"]}, {"id": "x", "run": "true", "needs": ["y"]},
 {"id": "y", "run": "true", "needs": ["x"]}, {"id": "ok", "run": "true", "needs": ["a"]}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: steps: cycle: a -> c -> b -> a
wf.json: steps: cycle: x -> y -> x'
}

@test "durations: strings, numbers, bad units, negative, too large, zero timeout" {
	dag wf.json <<'EOF2'
{"timeout": "1h30m", "steps": [{"id": "a", "run": "true", "timeout": "250ms", "kill_grace": 2.5},
 {"id": "b", "run": "true", "timeout": "5x"}, {"id": "c", "run": "true", "timeout": -1},
 {"id": "d", "run": "true", "timeout": 1e400}, {"id": "e", "run": "true", "timeout": 0},
 {"id": "f", "run": "true", "kill_grace": "30m1h"}, {"id": "g", "run": "true", "timeout": true}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: steps[1].timeout: bad duration "5x": expected a duration such as 30s, 5m, 1h30m or 250ms
wf.json: steps[2].timeout: duration must not be negative
wf.json: steps[3].timeout: duration too large (at most 100 years)
wf.json: steps[4].timeout: duration must be greater than 0
wf.json: steps[5].kill_grace: bad duration "30m1h": expected a duration such as 30s, 5m, 1h30m or 250ms
wf.json: steps[6].timeout: must be a duration (seconds, or a string such as "30s" or "1h30m")'
}

@test "durations are read exactly: 3195ms is 3.195, 0.0001ms is 1e-07, 1.1h is 3960, fractions are correctly rounded" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true", "timeout": "3195ms", "kill_grace": "1.23s"},
 {"id": "b", "run": "true", "timeout": "1.5s250ms", "kill_grace": "0.3m"},
 {"id": "c", "run": "true", "timeout": "0.0001ms", "kill_grace": "1s0.1ms"},
 {"id": "d", "run": "true", "timeout": "1.1h", "kill_grace": "0.07h"},
 {"id": "e", "run": "true", "timeout": "1.1d", "kill_grace": "0.7d"}]}
EOF2
	run -0 dag-validate wf.json
	assert_equal "$(jq -c '[.steps[] | .timeout, .kill_grace]' <<<"$output")" '[3.195,1.23,1.75,18,1e-07,1.0001,3960,252,95040,60480]'
	# Normalizing again changes nothing.
	run -0 bash -c 'dag-validate wf.json | dag-validate | cmp - <(dag-validate wf.json)'
}

@test "retry fields are checked" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true", "retry": {"attempts": 0, "delay": "x", "factor": 0.5,
   "max_delay": "1m", "jitter": "yes", "exit_codes": [1, 256, "2"], "max_duration": "1h"}},
 {"id": "b", "run": "true", "retry": 3}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: steps[0].retry.attempts: must be an integer from 1 to 1000
wf.json: steps[0].retry.delay: bad duration "x": expected a duration such as 30s, 5m, 1h30m or 250ms
wf.json: steps[0].retry.factor: must be a number from 1 to 1000
wf.json: steps[0].retry.jitter: must be a boolean, not a string
wf.json: steps[0].retry.exit_codes[1]: must be an integer from 0 to 255
wf.json: steps[0].retry.exit_codes[2]: must be an integer, not a string
wf.json: steps[1].retry: must be an object, not a number'
}

@test "trigger names, output modes, pools, on_failure, max_parallel" {
	dag wf.json <<'EOF2'
{"on_failure": "halt", "max_parallel": 0, "pools": {"db": 2, "bad": -1},
 "steps": [{"id": "a", "run": "true", "trigger": "al_done"}, {"id": "b", "run": "true", "trigger": "whenever"},
 {"id": "c", "run": "true", "pool": "bd"}, {"id": "d", "run": "true", "pool": "gpu"},
 {"id": "e", "run": "true", "output": "json"}, {"id": "f", "run": "true", "pool": "db", "trigger": "one_failed"}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: on_failure: must be "stop", "continue" or "abort"
wf.json: max_parallel: must be an integer from 1 to 100000
wf.json: pools.bad: must be an integer from 1 to 100000
wf.json: steps[0].trigger: unknown trigger "al_done" (did you mean "all_done"?)
wf.json: steps[1].trigger: unknown trigger "whenever" (one of all_success, all_done, all_failed, one_failed, one_success, none_failed)
wf.json: steps[2].pool: undeclared pool "bd" (did you mean "db"?)
wf.json: steps[3].pool: undeclared pool "gpu" (declare it in "pools")
wf.json: steps[4].output: must be "file" or "stdout"'
}

@test "defaults may not hold id, needs or commands" {
	dag wf.json <<'EOF2'
{"defaults": {"run": "true", "needs": ["a"], "timeout": "1m"}, "steps": [{"id": "a", "run": "true"}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: defaults.run: not allowed in defaults (only in a step)
wf.json: defaults.needs: not allowed in defaults (only in a step)'
}

@test "jq expressions that do not compile: when, input, check, transform, templates" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"},
 {"id": "w", "needs": ["a"], "run": "true", "when": ".x |"},
 {"id": "i", "run": "true", "input": "nosuchfn(1)"},
 {"id": "c", "run": "true", "check": ".a | foo("},
 {"id": "t", "transform": "{a: }"},
 {"id": "r", "run": "echo {{ .params.x | }}"},
 {"id": "g", "argv": ["echo", "{{ (( }}"]},
 {"id": "e", "run": "true", "env": {"X": "{{ ]] }}"}},
 {"id": "u", "run": "echo {{ .x"},
 {"id": "ok", "needs": ["a"], "run": "echo {{ .params | {a: 1} }} '{{ \"}}\" }}'", "when": ".steps.a.status == \"succeeded\" # comment"}]}
EOF2
	run -1 dag-validate wf.json
	assert_line --index 0 'wf.json: steps[8].run: unterminated template: "{{" without "}}"'
	assert_line --index 1 --regexp '^wf.json: steps\[1\]\.when: jq expression does not compile: syntax error'
	assert_line --index 2 'wf.json: steps[2].input: jq expression does not compile: nosuchfn/1 is not defined'
	assert_line --index 3 --regexp '^wf.json: steps\[3\]\.check: jq expression does not compile: '
	assert_line --index 4 --regexp '^wf.json: steps\[4\]\.transform: jq expression does not compile: syntax error'
	assert_line --index 5 --regexp '^wf.json: steps\[5\]\.run: jq expression does not compile: syntax error'
	assert_line --index 6 --regexp '^wf.json: steps\[6\]\.argv\[1\]: jq expression does not compile: '
	assert_line --index 7 --regexp '^wf.json: steps\[7\]\.env\.X: jq expression does not compile: '
	assert_equal "${#lines[@]}" 8
}

@test "a run template where its value cannot be quoted for the shell is refused, with the way around" {
	dag wf.json <<'EOF2'
{"params": {"x": "1"}, "steps": [
 {"id": "here", "run": "cat <<EOF\n{{ .params.x }}\nEOF"},
 {"id": "comment", "run": "true # {{ .params.x }}"},
 {"id": "bs", "run": "echo \\{{ .params.x }}"},
 {"id": "dollar", "run": "echo \"${{ .params.x }}\""},
 {"id": "param", "run": "echo ${X:-{{ .params.x }}}"},
 {"id": "arith", "run": "echo $(( {{ .params.x }} + 1 ))"},
 {"id": "bq", "run": "echo `date` {{ .params.x }}"},
 {"id": "here2", "run": "cat <\\\n<EOF\n{{ .params.x }}\nEOF"},
 {"id": "comment2", "run": "echo hi \\\n#{{ .params.x }}"},
 {"id": "dollar2", "run": "echo $\\\n\\\n{{ .params.x }}"},
 {"id": "ok", "run": "echo $((1+(2))) ${HOME} \"${X}\" a#b {{ .params.x }} \"\\\"{{ .params.x }}\" '\\{{ .params.x }}' \"$(echo '{{ .params.x }}')\" \\\n {{ .params.x }} '\\\n#{{ .params.x }}'"}]}
EOF2
	run -1 dag-validate wf.json
	fix='cannot be quoted for the shell: pass it through env ("env": {"V": "{{ ... }}"}) and write "$V"'
	assert_line --index 0 "wf.json: steps[0].run: template {{ .params.x }} after a here-document (<<) $fix"
	assert_line --index 1 "wf.json: steps[1].run: template {{ .params.x }} inside a comment $fix"
	assert_line --index 2 "wf.json: steps[2].run: template {{ .params.x }} right after a backslash $fix"
	assert_line --index 3 "wf.json: steps[3].run: template {{ .params.x }} right after a \$ $fix"
	assert_line --index 4 "wf.json: steps[4].run: template {{ .params.x }} inside \${...} $fix"
	assert_line --index 5 "wf.json: steps[5].run: template {{ .params.x }} inside \$((...)) $fix"
	assert_line --index 6 "wf.json: steps[6].run: template {{ .params.x }} after backquotes (write \$(...) instead) $fix"
	# A backslash-newline is gone before the shell reads: "<\<newline><"
	# is a here-document, "\<newline>#" starts a comment, "$\<newline>".
	assert_line --index 7 "wf.json: steps[7].run: template {{ .params.x }} after a here-document (<<) $fix"
	assert_line --index 8 "wf.json: steps[8].run: template {{ .params.x }} inside a comment $fix"
	assert_line --index 9 "wf.json: steps[9].run: template {{ .params.x }} right after a \$ $fix"
	assert_equal "${#lines[@]}" 10
	# The same document does not start.
	run -2 timeout 30 dag-run -q wf.json
	assert_file_not_exists .dag/runs/latest
}

@test "references to .steps.X must name an ancestor" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"}, {"id": "b", "needs": ["a"], "run": "true"},
 {"id": "c", "needs": ["b"], "run": "echo {{ .steps.a.output }}", "when": ".steps[\"b\"].status == \"succeeded\""},
 {"id": "d", "needs": ["a"], "run": "true", "when": ".steps.c.output.n > 0"},
 {"id": "e", "run": "true", "input": ".steps.nope"},
 {"id": "f", "run": "true", "when": "\".steps.c is only text\" | length > 0"}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: steps[3].when: refers to .steps.c, which is not an ancestor of "d" (add it to needs)
wf.json: steps[4].input: refers to .steps.nope, but there is no step "nope"'
}

@test "an expression that starts by reading a key the context lacks is refused: typos and Go templates" {
	dag wf.json <<'EOF2'
{"env": {"G": "{{ .parmas.day }}"}, "defaults": {"env": {"D": "{{.Names}}"}},
 "steps": [{"id": "a", "run": "docker ps --format '{{.Names}}'", "when": " # why\n .parms.go"},
 {"id": "b", "argv": ["echo", "{{ .[\"ID\"] }}"], "input": ".\"Step\".id"},
 {"id": "c", "needs": ["a"], "run": "echo {{ .params.x }} {{ .run.id }} {{ .step.id }} {{ \"{{\" }}.Names}}", "when": ".steps.a.status and (.x | not)", "input": "{params, n: .params.n}"}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: env.G: template {{ .parmas.day }} reads .parmas, which the context never has (it has .params, .run, .step and .steps); a literal "{{" is written {{ "{{" }}
wf.json: steps[0].when: reads .parms, which the context never has (it has .params, .run, .step and .steps)
wf.json: steps[0].run: template {{ .Names }} reads .Names, which the context never has (it has .params, .run, .step and .steps); a literal "{{" is written {{ "{{" }}
wf.json: defaults.env.D: template {{ .Names }} reads .Names, which the context never has (it has .params, .run, .step and .steps); a literal "{{" is written {{ "{{" }}
wf.json: steps[1].input: reads .Step, which the context never has (it has .params, .run, .step and .steps)
wf.json: steps[1].argv[1]: template {{ .["ID"] }} reads .ID, which the context never has (it has .params, .run, .step and .steps)'"; a literal \"{{\" is written {{ \"{{\" }}"
	# The escape gives a literal {{ to the shell.
	dag ok.json <<'EOF2'
{"steps": [{"id": "c", "run": "echo {{ \"{{\" }}.Names}}"}]}
EOF2
	run -0 timeout 30 dag-run -q ok.json
	assert_equal "$(cat "$DAG_RUNS/latest/steps/c/1.stdout")" '{{.Names}}'
}

@test "messages quoting what the user wrote stay one line of valid UTF-8" {
	long=$(printf 'é%.0s' $(seq 60))
	printf '{"steps": [{"id": "a", "run": "echo {{ .Namesx + \\"%s\\" }}", "bad\\nkey": 1},\n {"id": "b", "run": "echo {{ .Names #x\\n }}"}]}\n' "$long" > wf.json
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "${#stderr_lines[@]}" 3
	[[ "${stderr_lines[0]}" == 'wf.json: steps[0].bad\nkey: unknown key "bad\nkey"'* ]]
	iconv -f UTF-8 -t UTF-8 <<<"$stderr" > /dev/null
	[[ "${stderr_lines[2]}" == 'wf.json: steps[1].run: template {{ .Names #x\n }} reads .Names,'* ]]
	run -1 --separate-stderr dag-validate --json wf.json
	iconv -f UTF-8 -t UTF-8 <<<"$output" > /dev/null
	assert_equal "$(jq '.errors | length' <<<"$output")" 3
}

@test ".steps.X where . may be other data (after a |, in map) is not checked; where it is the context, it is" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"},
 {"id": "b", "needs": ["a"], "run": "true", "when": ".steps.a.output | .steps.foo"},
 {"id": "c", "needs": ["a"], "run": "true", "when": "{\"steps\": {\"z\": 1}} | .steps.z == 1"},
 {"id": "d", "needs": ["a"], "run": "true", "input": "[.steps.a.output.list[]? | map(.steps.x)]"},
 {"id": "e", "needs": ["a"], "run": "true", "when": ".params as $p | .steps.nosuch"},
 {"id": "f", "needs": ["a"], "run": "true", "when": "select(.steps.nope.status == \"ok\") and (.steps.nada // true)"}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: steps[4].when: refers to .steps.nosuch, but there is no step "nosuch"
wf.json: steps[5].when: refers to .steps.nope, but there is no step "nope"
wf.json: steps[5].when: refers to .steps.nada, but there is no step "nada"'
}

@test "invalid JSON reports line and column" {
	printf '{"steps": [\n  {"id": "a" "run": "true"}\n]}\n' > wf.json
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" "wf.json: line 2, column 14: invalid JSON: expected ',' or '}' in object"
	printf '\xef\xbb\xbf{"steps": [{"id": "a", "run": "true"}]}\n' > bom.json
	run -1 --separate-stderr dag-validate bom.json
	assert_equal "$stderr" "bom.json: line 1, column 1: invalid JSON: a UTF-8 byte order mark: save the file without it"
}

@test "not a DAG: root not an object, steps missing, empty or wrong type" {
	echo '[1]' > a.json
	echo '{}' > b.json
	echo '{"steps": []}' > c.json
	echo '{"steps": {"a": 1}}' > d.json
	echo '{"steps": [1]}' > e.json
	run -1 --separate-stderr dag-validate a.json b.json c.json d.json e.json
	assert_equal "$stderr" 'a.json: the document must be a JSON object with a "steps" array, not an array
b.json: steps: missing: a DAG needs a non-empty "steps" array
c.json: steps: must not be empty
d.json: steps: must be an array of steps, not an object
e.json: steps[0]: must be an object, not a number'
}

@test "--json prints a report on stdout, valid or not" {
	dag bad.json <<'EOF2'
{"steps": [{"id": "a", "run": "true", "needs": ["a", "a"]}]}
EOF2
	run -1 --separate-stderr dag-validate --json bad.json
	assert_equal "$(jq -c . <<<"$output")" '{"valid":false,"file":"bad.json","errors":[{"path":"steps[0].needs[0]","message":"step \"a\" needs itself"},{"path":"steps[0].needs[1]","message":"step \"a\" needs itself"}],"warnings":[]}'
	echo '{"steps": [{"id": "a", "run": "true"}]}' > ok.json
	run -0 --separate-stderr dag-validate --json ok.json
	assert_equal "$(jq -c . <<<"$output")" '{"valid":true,"file":"ok.json","errors":[],"warnings":[]}'
}

@test "exit statuses: 0 valid, 1 invalid, 2 usage, 4 unreadable" {
	echo '{"steps": [{"id": "a", "run": "true"}]}' > ok.json
	run -0 dag-validate -q ok.json
	assert_output ""
	run -1 dag-validate -q <<<'{"steps": 1}'
	run -2 --separate-stderr dag-validate --bogus
	assert_equal "${stderr_lines[1]}" "usage: dag-validate [-hjq] [--name name] [--version] [file ...]"
	run -4 --separate-stderr dag-validate no-such.json
	assert_equal "$stderr" "dag-validate: open 'no-such.json': No such file or directory"
	run -4 dag-validate ok.json no-such.json
	run -0 dag-validate --help
	assert_output --partial "usage: dag-validate"
	run -0 dag-validate --version
	assert_output --regexp '^dag-validate [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "the SPEC example validates and heads a pipeline" {
	run --separate-stderr sh -c "dag-validate '$TOP/share/examples/etl.json' | dag-plan --format text"
	assert_success
	assert_line --index 0 --regexp '^nightly-etl: 6 steps, 5 levels, width 2'
}

@test "dpkg's dependency graph: a cycle exactly when tsort finds a loop" {
	[ -r /var/lib/dpkg/status ] || skip "no /var/lib/dpkg/status on this machine"
	awk -f "$FIXTURES/dpkg2dag.awk" /var/lib/dpkg/status > dpkg.json
	awk -v edges=1 -f "$FIXTURES/dpkg2dag.awk" /var/lib/dpkg/status > edges.txt
	[ "$(jq '.steps | length' dpkg.json)" -gt 50 ]
	if tsort edges.txt >/dev/null 2>tsort.err; then
		run -0 dag-validate -q dpkg.json
	else
		grep -q 'loop' tsort.err
		run -1 dag-validate dpkg.json
		assert_line --regexp '^dpkg.json: steps: cycle: [^ ]+ -> '
	fi
	# Make it cyclic for sure: both tools must agree again.
	printf 'zzz-a zzz-b\nzzz-b zzz-a\n' >> edges.txt
	jq -c '.steps += [{"id": "zzz-a", "run": "true", "needs": ["zzz-b"]}, {"id": "zzz-b", "run": "true", "needs": ["zzz-a"]}]' dpkg.json > cyc.json
	run ! tsort edges.txt
	run -1 dag-validate cyc.json
	assert_line 'cyc.json: steps: cycle: zzz-a -> zzz-b -> zzz-a'
}

@test ".steps references after jq keywords are seen; an empty duration is refused" {
	dag wf.json <<'EOF2'
{"steps": [{"id": "a", "run": "true"},
 {"id": "b", "needs": ["a"], "run": "true", "when": "true and .steps.nosuch.output"},
 {"id": "c", "needs": ["a"], "run": "true", "when": "if true then .steps.b.status else false end"},
 {"id": "d", "run": "true", "timeout": ""}]}
EOF2
	run -1 --separate-stderr dag-validate wf.json
	assert_equal "$stderr" 'wf.json: steps[3].timeout: bad duration "": expected a duration such as 30s, 5m, 1h30m or 250ms
wf.json: steps[1].when: refers to .steps.nosuch, but there is no step "nosuch"
wf.json: steps[2].when: refers to .steps.b, which is not an ancestor of "c" (add it to needs)'
}
