#!/bin/sh
# make bench: every benchmark, from the repository root.  Results go to
# bench/out/ (git-ignored) and to stdout.
set -eu

cd "$(dirname "$0")/.."

# Planning: dag-validate and dag-plan on big documents, against jq and tsort.
sh bench/plan.sh

# ---------------------------------------------------------------------------
# execution benchmarks: bench/exec.sh (added later)
# Later sections go here; each runs only if its script exists.
if [ -f bench/exec.sh ]; then
	echo
	sh bench/exec.sh
fi
if [ -f bench/incr.sh ]; then echo; sh bench/incr.sh; fi	# incremental runs
if [ -f bench/fanout.sh ]; then echo; sh bench/fanout.sh; fi	# foreach
if [ -f bench/step.sh ]; then echo; sh bench/step.sh; fi	# dag-step at scale
