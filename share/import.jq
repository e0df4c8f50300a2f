# import.jq: convert a foreign workflow document into a dagkit DAG.
#
#   jq -f import.jq old.json > wf.json && dag-validate wf.json
#
# Two shapes are recognised:
#
#   (a) {"name"?, "steps": [{"id", "name", "action", "params",
#        "dependencies": [ids], "retryPolicy": {"maxAttempts",
#        "backoffMultiplier", "initialDelay", "maxDelay"}}],
#        "webhooks": {"onComplete", "onFailure"}}
#   (b) {"name", "dag": {"nodes": [{"id", "handler", "dependencies",
#        "config"}]}}
#
# Times in the source are milliseconds; dagkit's are seconds.  Each
# action (shape a) or handler (shape b) becomes a command:
#
#   http, http_request, webhook  curl -fsS -X METHOD [-H ...]
#                                [--data-raw BODY] --url URL, from the
#                                url, method, headers and body params
#   delay, sleep, wait           sleep SECONDS, from duration, ms,
#                                milliseconds, delay or durationMs (ms)
#                                or seconds
#   shell, command, exec         the command param (command, cmd,
#                                script or run): a string is a shell
#                                command line, an array an argv;
#                                env and cwd params are kept
#   anything else                a step that fails, saying why
#
# Params are data, never code: they go into argv items (curl's
# arguments) or through @sh, so no value can become shell syntax, and a
# "{{" in them is written {{ "{{" }} so that dagkit's templates leave it
# as it is.  Only a shell action's command is run by the shell, as in
# the source.  Ids are made to match dagkit's syntax
# (^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$) and unique; "name" becomes
# "description".  dependencies become needs, retryPolicy becomes retry.
# The webhooks become steps that call curl: onComplete (trigger
# all_success) needs every step that no other step needs, onFailure
# (trigger one_failed) needs every step; both are allow_failure, so a
# notification that cannot be delivered does not fail the run.  Each
# step keeps its source under "x-imported-from", the document's other
# keys are kept under the top-level "x-imported-from".

# A string that dagkit's {{ }} templates leave as it is.
def lit: tostring | gsub("\\{\\{"; "{{ \"{{\" }}");

# dagkit's id syntax, from any string.
def sanitize:
  tostring
  | gsub("[^A-Za-z0-9_.-]"; "_")
  | if test("^[A-Za-z0-9_]") then . else "_" + . end
  | .[:100];

# The first of base, base-2, base-3, ... that is not a key of $seen.
def unique_id($seen):
  . as $base
  | if $seen[$base] == null then $base
    else first(range(2; 1000000)
        | ($base[:(99 - (tostring | length))] + "-" + tostring)
        | select($seen[.] == null))
    end;

def uniq_ordered: reduce .[] as $x ([]; if index([$x]) then . else . + [$x] end);

def num: if type == "number" then .
  elif type == "string" then (tonumber? // null)
  else null end;

def clamp($lo; $hi): if . < $lo then $lo elif . > $hi then $hi else . end;

# A number as sleep(1) reads it.
def secs_text: if . == (. | floor) then (. | floor | tostring) else tostring end;

# A command that fails with a message; $fmt is printf's format, a
# literal of this file (double-quoted for the shell, so no " $ ` or \
# but \n), $args its arguments.
def failing($fmt; $args):
  {run: ("printf \"" + $fmt + "\" "
         + ($args | map(lit | @sh) | join(" ")) + " >&2; exit 1")};

def unsupported($action; $id):
  failing("import: unsupported action '%s' (step %s)\\n";
          [($action // "(none)" | tostring), $id]);

# retryPolicy (milliseconds) -> retry (seconds).
def retry_of:
  if type != "object" then null
  else
    ({}
     + (if (.maxAttempts | num) != null
        then {attempts: (.maxAttempts | num | floor | clamp(1; 1000))}
        else {} end)
     + (if (.initialDelay | num) != null
        then {delay: ((.initialDelay | num) / 1000 | clamp(0; 3153600000))}
        else {} end)
     + (if (.backoffMultiplier | num) != null
        then {factor: (.backoffMultiplier | num | clamp(1; 1000))}
        else {} end)
     + (if (.maxDelay | num) != null
        then {max_delay: ((.maxDelay | num) / 1000 | clamp(0; 3153600000))}
        else {} end))
    | if . == {} then null else . end
  end;

# curl's argv for {url, method, headers, body}; $template, when not
# null, is the body as a dagkit template, sent as JSON.
def curl_argv($template):
  . as $p
  | ($p.headers
     | if type == "object" then to_entries | map("\(.key): \(.value | tostring)")
       elif type == "array" then map(tostring)
       else [] end) as $headers
  | ($p.body
     | if . == null then null elif type == "string" then . else tojson end) as $body
  | (($p.method // (if $body != null or $template != null then "POST" else "GET" end))
     | tostring | ascii_upcase) as $method
  | (($template != null or ($body != null and ($p.body | type) != "string"))
     and ($headers | map(ascii_downcase | startswith("content-type:")) | any | not)) as $json
  | (["curl", "-fsS", "-X", $method]
     + ($headers | map("-H", .))
     + (if $json then ["-H", "Content-Type: application/json"] else [] end)
     + (if $body != null then ["--data-raw", $body] else [] end)
     | map(lit))
    + (if $body == null and $template != null then ["--data-raw", $template] else [] end)
    + ["--url", ($p.url // $p.endpoint // $p.uri | tostring | lit)];

def http_cmd($id):
  if type != "object" or (.url // .endpoint // .uri) == null then
    failing("import: http step %s has no url\\n"; [$id])
  else {argv: curl_argv(null)} end;

def delay_cmd($id):
  (if type == "number" or type == "string" then num
   elif type != "object" then null
   elif (.seconds | num) != null then (.seconds | num) * 1000
   else [.duration, .durationMs, .duration_ms, .ms, .milliseconds, .delay]
        | map(num) | map(select(. != null)) | first
   end) as $ms
  | if $ms == null then
      failing("import: delay step %s has no duration in milliseconds\\n"; [$id])
    else {run: ("sleep " + ([$ms / 1000, 0] | max | secs_text))} end;

def shell_cmd($id):
  . as $p
  | (if type == "string" then . else (.command // .cmd // .script // .run) end) as $c
  | (if $c == null then null
     elif ($c | type) == "array" then
       {argv: ($c + (if ($p | type) == "object" then ($p.args // []) else [] end)
               | map(lit))}
     elif ($p | type) == "object" and ($p.args | type) == "array" then
       {argv: ([$c] + $p.args | map(lit))}
     elif ($c | tostring | test("\\{\\{")) then
       {argv: ["/bin/sh", "-c", ($c | lit)]}
     else {run: ($c | tostring)} end) as $cmd
  | if $cmd == null or ($cmd.run == "") or ($cmd.argv == []) then
      failing("import: shell step %s has no command\\n"; [$id])
    else $cmd
      + (if ($p | type) == "object" and ($p.env | type) == "object" then
           {env: ($p.env | with_entries(select(.key != "" and (.key | contains("=") | not))
                  | .value |= lit))}
         else {} end)
      + (if ($p | type) == "object" and ($p.cwd // $p.workingDir // $p.workdir) != null
         then {cwd: ($p.cwd // $p.workingDir // $p.workdir | lit)}
         else {} end)
    end;

def command($action; $params; $id):
  ($action | if type == "string" then ascii_downcase else null end) as $a
  | if $a == "http" or $a == "http_request" or $a == "webhook" then $params | http_cmd($id)
    elif $a == "delay" or $a == "sleep" or $a == "wait" then $params | delay_cmd($id)
    elif $a == "shell" or $a == "command" or $a == "exec" then $params | shell_cmd($id)
    else unsupported($action; $id) end;

def deps_of: (.dependencies // .dependsOn // .depends_on // [])
  | if type == "array" then . else [.] end
  | map(if type == "object" then (.id // .name) else . end | tostring);

# The webhook steps, for a value of onComplete or onFailure.
def hook_steps($event; $trigger; $needs; $workflow; $seen):
  (if type == "array" then . else [.] end) as $hooks
  | ($event | gsub("(?<c>[A-Z])"; "_\(.c | ascii_downcase)")) as $base
  | reduce range(0; $hooks | length) as $i ({seen: $seen, out: []};
      ($hooks[$i] | if type == "string" then {url: .} elif type == "object" then . else {} end) as $h
      | . as $st
      | ($base | unique_id($st.seen)) as $id
      | (if $event == "onFailure"
         then "{{ {event: \($event | tojson), workflow: \($workflow | tojson), run: .run.id, status: \"failed\", failed: [.steps | to_entries[] | select(.value.status as $s | [\"failed\", \"timed_out\", \"upstream_failed\", \"cancelled\"] | index($s)) | .key]} }}"
         else "{{ {event: \($event | tojson), workflow: \($workflow | tojson), run: .run.id, status: \"succeeded\"} }}"
         end) as $default_body
      | .seen[$id] = true
      | .out += [{id: $id,
                  description: "webhook \($event): \($h.url // $h.endpoint // $h.uri // "" | tostring)",
                  needs: $needs,
                  trigger: $trigger}
                 + (if ($h.url // $h.endpoint // $h.uri) != null
                    then {argv: ({method: "POST"} + $h | curl_argv($default_body))}
                    else failing("import: webhook %s has no url\\n"; [$id]) end)
                 + {allow_failure: true,
                    timeout: 60,
                    retry: {attempts: 3, delay: 2, factor: 2},
                    "x-imported-from": {webhooks: {($event): $hooks[$i]}}}]
    )
  | .out;

# One source step or node -> a dagkit step (without needs mapped yet).
def import_step($action; $params; $id):
  {id: $id}
  + (if (.name // null) != null then {description: (.name | tostring)}
     elif (.description // null) != null then {description: (.description | tostring)}
     else {} end)
  + command($action; $params; $id)
  + ((.retryPolicy // .retry_policy) | retry_of | if . != null then {retry: .} else {} end)
  + ((.timeout // .timeoutMs) | num
     | if . != null and . > 0 then {timeout: (. / 1000)} else {} end);

def convert($format; $src; $name):
  . as $doc
  | ($src | map(.id // .name // null)) as $raw
  # Unique dagkit ids, in order.
  | (reduce range(0; $src | length) as $i ({seen: {}, ids: []};
       . as $st
       | (($raw[$i] // "step-\($i + 1)") | sanitize | unique_id($st.seen)) as $id
       | .seen[$id] = true | .ids += [$id])) as $u
  # Source id (or name) -> dagkit id; the first wins.
  | (reduce range(0; $src | length) as $i ({};
       reduce ([$src[$i].id, $src[$i].name] | map(select(. != null) | tostring))[] as $k (.;
         if has($k) then . else .[$k] = $u.ids[$i] end))) as $map
  | [range(0; $src | length) as $i
     | $src[$i]
     | . as $s
     | (if $format == "steps" then [.action, .params] else [.handler, .config] end) as [$action, $params]
     | import_step($action; $params; $u.ids[$i])
     | ($s | deps_of | map($map[.] // sanitize) | uniq_ordered) as $n
     | (if ($n | length) > 0 then {needs: $n} else {} end) as $needs
     | . + $needs + {"x-imported-from": $s}] as $steps
  | ($steps | map(.needs // []) | add // [] | unique) as $needed
  | ($steps | map(.id) | map(select(. as $id | $needed | index([$id]) | not))) as $sinks
  | ($steps | map(.id)) as $all
  | ($doc.webhooks // {}) as $wh
  | ($name // "workflow" | tostring) as $workflow
  | (if $wh.onComplete != null
     then $wh.onComplete | hook_steps("onComplete"; "all_success"; $sinks; $workflow; $u.seen)
     else [] end) as $complete
  | ($u.seen + ($complete | map({(.id): true}) | add // {})) as $seen2
  | (if $wh.onFailure != null
     then $wh.onFailure | hook_steps("onFailure"; "one_failed"; $all; $workflow; $seen2)
     else [] end) as $failure
  | {}
  + (if $name != null then {name: ($name | tostring | sanitize)} else {} end)
  + (if ($doc.description // $name) != null
     then {description: ($doc.description // $name | tostring)} else {} end)
  + {steps: ($steps + $complete + $failure),
     "x-imported-from": {format: $format,
                         document: (if $format == "steps" then $doc | del(.steps)
                                    else $doc | del(.dag.nodes) end)}};

if type != "object" then
  error("import: expected a JSON object, not \(type)")
elif (.dag | type) == "object" and (.dag.nodes | type) == "array" then
  if (.dag.nodes | length) == 0 then error("import: dag.nodes is empty") else . end
  | convert("dag.nodes"; .dag.nodes; .name // .dag.name)
elif (.steps | type) == "array" then
  if (.steps | length) == 0 then error("import: steps is empty") else . end
  | convert("steps"; .steps; .name)
else
  error("import: unknown workflow shape: expected \"steps\" (with \"action\") or \"dag\": {\"nodes\"}")
end
