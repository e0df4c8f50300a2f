#!/usr/bin/env bats
# make install / make uninstall with PREFIX and DESTDIR, and the bash
# completion they install.

load test_helper

PROGS="dag-validate dag-plan dag-run dag-step dag-status"

# install_to DIR: make install DESTDIR=DIR PREFIX=/usr; sets $root to
# DIR/usr.
install_to() {
	run make -s -C "$TOP" install DESTDIR="$1" PREFIX=/usr
	assert_success
	root="$1/usr"
}

# complete_words WORD...: in a new bash with the installed completion
# loaded under the name of WORD's program, completes the last WORD and
# prints the candidates, one a line.
complete_words() {
	bash -c '
		comp=$1; shift
		source "$comp" || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		spec=$(complete -p "$1") || exit 1
		fn=${spec##*-F }
		fn=${fn%% *}
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' bash "$root/share/bash-completion/completions/$1" "$@"
}

@test "make install puts programs, man pages, completion and share/ under DESTDIR/PREFIX" {
	install_to "$BATS_TEST_TMPDIR/d"
	for p in $PROGS; do
		assert_file_executable "$root/bin/$p"
		# The completion is one file, reachable under every program's name.
		assert_file_exists "$root/share/bash-completion/completions/$p"
		cmp "$TOP/share/completion/dagkit.bash" "$root/share/bash-completion/completions/$p"
	done
	n=0
	for m in "$TOP"/man/*.1; do
		cmp "$m" "$root/share/man/man1/$(basename "$m")"
		n=$((n + 1))
	done
	[ "$n" -ge 4 ]
	cmp "$TOP/share/dag.schema.json" "$root/share/dagkit/dag.schema.json"
	cmp "$TOP/share/import.jq" "$root/share/dagkit/import.jq"
	for f in "$TOP"/share/examples/*; do
		cmp "$f" "$root/share/dagkit/examples/$(basename "$f")"
	done
	assert_file_executable "$root/share/dagkit/examples/demo.sh"
	# Nothing lands outside DESTDIR/PREFIX.
	run find "$BATS_TEST_TMPDIR/d" -mindepth 1 -maxdepth 1
	assert_output "$BATS_TEST_TMPDIR/d/usr"
}

@test "the installed programs run on the installed examples and import.jq" {
	install_to "$BATS_TEST_TMPDIR/d"
	run --separate-stderr "$root/bin/dag-validate" "$root/share/dagkit/examples/ci.json"
	assert_success
	assert_equal "$(jq -r .name <<<"$output")" ci
	run -0 --separate-stderr "$root/bin/dag-plan" --format text "$root/share/dagkit/examples/pipeline.json"
	run -0 --separate-stderr timeout 60 "$root/bin/dag-run" -q "$root/share/dagkit/examples/pipeline.json"
	run -0 --separate-stderr "$root/bin/dag-status" --json
	assert_equal "$(jq -r .status <<<"$output")" succeeded
	run -0 --separate-stderr sh -c 'jq -f "$1/share/dagkit/import.jq" "$2" | "$1/bin/dag-validate" -q' \
	    sh "$root" "$FIXTURES/import/delay.json"
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run -0 mandoc -Tascii "$root/share/man/man1/dag-run.1"
	assert_output --partial 'dag-run'
}

@test "the installed completion offers the step ids of the DAG on the line for dag-run --target" {
	install_to "$BATS_TEST_TMPDIR/d"
	cp "$root/share/dagkit/examples/ci.json" wf.json
	run complete_words dag-run wf.json --target ''
	assert_success
	assert_output - <<'EOF2'
checkout
lint
build
test-unit
test-integration
test-e2e
report
deploy
cleanup
EOF2
	run complete_words dag-run wf.json -q --target=test-
	assert_output $'test-unit\ntest-integration\ntest-e2e'
	# As bash splits it at "=" (COMP_WORDBREAKS):
	run complete_words dag-run wf.json -q --target = test-i
	assert_output 'test-integration'
	# The word being completed is the last one; with the file after it:
	run bash -c 'source "$1"; COMP_WORDS=(dag-run --target te wf.json); COMP_CWORD=2
		_dagkit_dag_run; printf "%s\n" "${COMPREPLY[@]}"' bash "$root/share/bash-completion/completions/dag-run"
	assert_output $'test-unit\ntest-integration\ntest-e2e'
	run complete_words dag-run -p ''
	assert_output ''
	run complete_words dag-run wf.json -p ''
	assert_output $'branch=\nenvironment='
}

@test "the installed completion: options, files, formats, run ids, dag-step's steps" {
	install_to "$BATS_TEST_TMPDIR/d"
	cp "$root/share/dagkit/examples/ci.json" wf.json
	touch notes.txt
	run complete_words dag-validate --
	assert_output $'--help\n--json\n--name\n--quiet\n--version'
	# DAG files: *.json and directories, not other files.
	run complete_words dag-validate ''
	assert_line 'wf.json'
	assert_line 'home'
	refute_line 'notes.txt'
	run complete_words dag-plan --format ''
	assert_output $'json\ntext\ndot\nmermaid'
	run complete_words dag-run --lo
	assert_output $'--lock\n--lock-wait'
	# Runs: dag-run --resume and dag-status's operand offer their ids.
	run -0 timeout 60 dag-run -q --run-id r1 wf.json
	run -0 timeout 60 dag-run -q --run-id r2 wf.json
	run complete_words dag-run --resume ''
	assert_output $'latest\nr1\nr2'
	run complete_words dag-run --pause r
	assert_output $'r1\nr2'
	run complete_words dag-run --unp
	assert_output '--unpause'
	# ... and directories, since a run directory is accepted too.
	run complete_words dag-status r
	assert_output $'r1\nr2\nruns'
	run complete_words dag-status --runs "$DAG_RUNS" --run-dir l
	assert_output 'latest'
	DAG_RUNS=elsewhere run complete_words dag-status --runs "$DAG_RUNS" ''
	assert_line 'r1'
	run complete_words dag-status --logs t
	assert_output $'test-unit\ntest-integration\ntest-e2e'
	# dag-step: the steps of the run given by --run-dir.
	run complete_words dag-step --run-dir "$DAG_RUNS/r1" b
	assert_output 'build'
	run complete_words dag-step --json --run-dir="$DAG_RUNS/r2" ''
	assert_line --index 0 checkout
	assert_equal "${#lines[@]}" 9
	run complete_words dag-step --a
	assert_output '--array-list'
	run complete_words dag-step --array-list no
	assert_output 'notes.txt'
	run complete_words dag-status --
	assert_line '--follow'
	assert_line '--gantt'
	assert_line '--html'
}

@test "the completion passes shellcheck" {
	command -v shellcheck >/dev/null || skip "shellcheck is not installed"
	run shellcheck -s bash "$TOP/share/completion/dagkit.bash"
	assert_success
	assert_output ''
}

@test "make uninstall with the same PREFIX and DESTDIR removes what make install put" {
	d="$BATS_TEST_TMPDIR/d"
	install_to "$d"
	mkdir -p "$root/share/man/man1"
	touch "$root/share/man/man1/other.1"
	run make -s -C "$TOP" uninstall DESTDIR="$d" PREFIX=/usr
	assert_success
	for p in $PROGS; do
		assert_not_exists "$root/bin/$p"
		assert_not_exists "$root/share/bash-completion/completions/$p"
		assert_not_exists "$root/share/man/man1/$p.1"
	done
	assert_not_exists "$root/share/dagkit"
	# What it did not install stays.
	assert_file_exists "$root/share/man/man1/other.1"
	run find "$d" -type f -o -type l
	assert_output "$root/share/man/man1/other.1"
	# Uninstalling again is no error.
	run make -s -C "$TOP" uninstall DESTDIR="$d" PREFIX=/usr
	assert_success
}

@test "every man page has the sections users look for, and lints clean" {
	for f in "$TOP"/man/*.1; do
		for s in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
			grep -qx ".Sh $s" "$f" || { echo "$f: no $s section"; return 1; }
		done
	done
	run -0 mandoc -Tlint -W warning "$TOP"/man/*.1
	assert_output ""
}

@test "--help is a short usage summary and --version prints NAME VERSION, for all five" {
	for p in dag-validate dag-plan dag-run dag-step dag-status; do
		run -0 "$p" --help
		[[ "${lines[0]}" == "usage: $p "* ]]
		[ "${#lines[@]}" -le 8 ]
		run -0 "$p" --version
		assert_output --regexp "^$p [0-9]+\.[0-9]+\.[0-9]+$"
	done
}
