# bash completion for dagkit: dag-validate, dag-plan, dag-run, dag-step,
# dag-status.  Installed as .../bash-completion/completions/dag-validate
# with the four other names linked to it; it may also be sourced as is.
#
# Completes options; DAG files (*.json); step ids from the DAG file on the
# command line (dag-run --target; --force=, else from the --resume run)
# or from the run's dag.json (dag-run --rerun, dag-step's step operand,
# dag-status --logs), the last item of a comma-separated list for
# --force= and --rerun; run ids and "latest" from the runs
# directory (--runs, else $DAG_RUNS, else .dag/runs) for dag-run --resume,
# --cancel, --pause and --unpause,
# dag-status's operand and --run-dir; params of the DAG for dag-run -p;
# formats for dag-plan --format.  Step ids are read with jq(1) when it is
# installed, else with dag-run -n.

# _dagkit_init: sets cur, prev (the option whose argument is being
# completed, "=" forms included) and words/cword.
_dagkit_init() {
	cword=$COMP_CWORD
	words=("${COMP_WORDS[@]}")
	cur=${words[cword]}
	prev=''
	((cword > 0)) && prev=${words[cword - 1]}
	# "--opt=val" split by COMP_WORDBREAKS into "--opt" "=" "val".
	if [[ $cur == = ]]; then
		prev=${words[cword - 1]}
		cur=
	elif [[ $prev == = ]] && ((cword > 1)); then
		prev=${words[cword - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		cur=${cur#*=}
	fi
}

# _dagkit_reply LIST...: COMPREPLY from the words matching $cur.
_dagkit_reply() {
	local w
	COMPREPLY=()
	for w in "$@"; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
}

# _dagkit_json_files: *.json files and directories.
_dagkit_json_files() {
	local IFS=$'\n'
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -X '!*.json' -- "$cur"; compgen -d -- "$cur")
}

_dagkit_files() {
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

_dagkit_dirs() {
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -d -- "$cur")
}

# _dagkit_operands ARGOPTS: prints the words that are neither options nor
# option arguments, ARGOPTS being the options that take an argument
# ("|-j|--jobs|").  The word being completed is left out.
_dagkit_operands() {
	local argopts=$1 i w skip=0 dashdash=0
	for ((i = 1; i < ${#words[@]}; i++)); do
		w=${words[i]}
		if ((skip)); then
			skip=0
			[[ $w == = ]] && skip=1
			continue
		fi
		((i == cword)) && continue
		if ((!dashdash)); then
			case $w in
			--) dashdash=1; continue ;;
			--*=*) continue ;;
			# "--opt=val" split at "=": val is the option's, also when
			# the option's argument is optional (dag-run --force=id).
			=) skip=1; continue ;;
			-) ;;
			-*)
				[[ $argopts == *"|$w|"* ]] && skip=1
				# A short option cluster ending in one taking an argument.
				[[ $w != --* && ${#w} -gt 2 && $argopts == *"|-${w: -1}|"* ]] && skip=1
				continue
				;;
			esac
		fi
		printf '%s\n' "$w"
	done
}

# _dagkit_optarg OPT...: prints the argument of the last of the options
# OPT given on the line, not counting the word being completed; fails if
# there is none.
_dagkit_optarg() {
	local i j w o val='' found=1
	for ((i = 1; i < ${#words[@]}; i++)); do
		w=${words[i]}
		for o in "$@"; do
			j=
			if [[ $w == "$o" ]]; then
				j=$((i + 1))
				[[ ${words[j]} == = ]] && j=$((j + 1))
				((j < ${#words[@]} && j != cword)) || continue
				val=${words[j]}
				found=0
			elif [[ $w == "$o"=* ]] && ((i != cword)); then
				val=${w#*=}
				found=0
			fi
		done
	done
	((found == 0)) && printf '%s\n' "$val"
	return "$found"
}

# The runs directory: --runs on the line, else $DAG_RUNS, else .dag/runs.
_dagkit_runs() {
	local r
	if r=$(_dagkit_optarg --runs); then
		printf '%s\n' "$r"
	else
		printf '%s\n' "${DAG_RUNS:-.dag/runs}"
	fi
}

# Run ids in the runs directory, and "latest".
_dagkit_run_ids() {
	local runs d
	runs=$(_dagkit_runs)
	printf '%s\n' latest
	for d in "$runs"/*/; do
		[[ -d $d ]] || continue
		d=${d%/}
		d=${d##*/}
		[[ $d == latest ]] || printf '%s\n' "$d"
	done
}

# _dagkit_step_ids FILE: the step ids of a DAG document or dag.json (and
# of its run.json beside it: the instances of matrix and foreach steps).
_dagkit_step_ids() {
	[[ -r $1 && -f $1 ]] || return 0
	if command -v jq >/dev/null 2>&1; then
		jq -r '.steps[]?.id? | strings' -- "$1" 2>/dev/null
		if [[ $1 == */dag.json && -r ${1%dag.json}run.json ]]; then
			jq -r '.steps | objects | keys_unsorted[] | select(contains("["))' \
			    -- "${1%dag.json}run.json" 2>/dev/null
		fi
	elif command -v dag-run >/dev/null 2>&1; then
		dag-run -n -- "$1" 2>/dev/null | cut -f1
	fi
}

# _dagkit_params FILE: the DAG's params as "key=".
_dagkit_params() {
	[[ -r $1 && -f $1 ]] || return 0
	command -v jq >/dev/null 2>&1 || return 0
	jq -r '.params // {} | objects | keys[] | . + "="' -- "$1" 2>/dev/null
}

# _dagkit_run_dir RUN: the directory of a run given as a directory, an
# id in the runs directory or "latest".
_dagkit_run_dir() {
	local runs
	if [[ -d $1 ]]; then
		printf '%s\n' "$1"
	else
		runs=$(_dagkit_runs)
		printf '%s\n' "$runs/$1"
	fi
}

# The first *.json operand: the DAG file.
_dagkit_dag_file() {
	local f
	while IFS= read -r f; do
		if [[ -f $f ]]; then
			printf '%s\n' "$f"
			return 0
		fi
	done < <(_dagkit_operands "$1")
	return 1
}

_dagkit_lines() {
	local IFS=$'\n' line
	local -a all=()
	while IFS= read -r line; do
		all+=("$line")
	done
	_dagkit_reply "${all[@]}"
}

# _dagkit_list_lines: as _dagkit_lines, for a comma-separated list in
# $cur: completes its last item, keeping the items before it.
_dagkit_list_lines() {
	local head='' cur=$cur
	if [[ $cur == *,* ]]; then
		head=${cur%,*},
		cur=${cur##*,}
	fi
	_dagkit_lines
	COMPREPLY=("${COMPREPLY[@]/#/$head}")
}

# dag-run's steps: those of the DAG file on the line, else of the
# --resume run (else the latest).
_dagkit_run_step_ids() {
	local file run
	if file=$(_dagkit_dag_file "$1"); then
		_dagkit_step_ids "$file"
	else
		run=$(_dagkit_optarg --resume)
		_dagkit_step_ids "$(_dagkit_run_dir "${run:-latest}")/dag.json"
	fi
}

_dagkit_dag_validate() {
	local cur prev words cword
	_dagkit_init
	case $prev in
	--name) return 0 ;;
	esac
	if [[ $cur == -* ]]; then
		_dagkit_reply -h -j -q --help --json --name --quiet --version
		return 0
	fi
	_dagkit_json_files
}

_dagkit_dag_plan() {
	local cur prev words cword
	_dagkit_init
	case $prev in
	--format)
		_dagkit_reply json text dot mermaid
		return 0
		;;
	--history)
		_dagkit_dirs
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		_dagkit_reply -h --format --help --history --version
		return 0
	fi
	_dagkit_json_files
}

_dagkit_dag_run() {
	local cur prev words cword file dir
	local argopts='|-j|--jobs|--launcher|--lock-wait|--order|-p|--param|--params|--rerun|--resume|--run-dir|--run-id|--runs|--target|--cancel|--pause|--unpause|'
	_dagkit_init
	case $prev in
	--target)
		file=$(_dagkit_dag_file "$argopts") &&
			_dagkit_lines < <(_dagkit_step_ids "$file")
		return 0
		;;
	--force)
		# Its ids only after "=": "--force id" is --force and a file.
		if [[ ${words[cword]} == = || ${words[cword]} == --force=* ||
		    ${words[cword - 1]} == = ]]; then
			_dagkit_list_lines < <(_dagkit_run_step_ids "$argopts")
			return 0
		fi
		;;
	--rerun)
		dir=$(_dagkit_run_dir "$(_dagkit_optarg --resume || echo latest)")
		_dagkit_list_lines < <(_dagkit_step_ids "$dir/dag.json")
		return 0
		;;
	-p | --param)
		if file=$(_dagkit_dag_file "$argopts"); then
			_dagkit_lines < <(_dagkit_params "$file")
			compopt -o nospace 2>/dev/null
		fi
		return 0
		;;
	--resume | --cancel | --pause | --unpause)
		_dagkit_lines < <(_dagkit_run_ids)
		return 0
		;;
	--order)
		_dagkit_reply critical-path declaration
		return 0
		;;
	--launcher)
		_dagkit_reply slurm
		return 0
		;;
	--params)
		_dagkit_json_files
		return 0
		;;
	--run-dir | --runs)
		_dagkit_dirs
		return 0
		;;
	-j | --jobs | --lock-wait | --run-id)
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		_dagkit_reply -h -j -k -n -p -q -v --cancel --downstream \
		    --dry-run --events --explain --force --help --jobs --json \
		    --keep-going --launcher --lock --lock-wait --no-handlers \
		    --order --param --params --params-changed --pause --prepare \
		    --quiet --rerun --resume --run-dir --run-id --runs --target \
		    --unpause --verbose --version
		return 0
	fi
	_dagkit_json_files
}

_dagkit_dag_step() {
	local cur prev words cword dir
	local argopts='|--array-list|--run-dir|'
	_dagkit_init
	case $prev in
	--run-dir)
		_dagkit_dirs
		return 0
		;;
	--array-list)
		_dagkit_files
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		_dagkit_reply -h -n -q -v --array-list --dry-run --finish \
		    --help --json --quiet --run-dir --verbose --version
		return 0
	fi
	if dir=$(_dagkit_optarg --run-dir); then
		_dagkit_lines < <(_dagkit_step_ids "$dir/dag.json")
	fi
}

_dagkit_dag_status() {
	local cur prev words cword run dir
	local argopts='|--attempt|--html|--logs|--run-dir|--runs|'
	_dagkit_init
	case $prev in
	--run-dir)
		_dagkit_lines < <(_dagkit_run_ids)
		local -a ids=("${COMPREPLY[@]}")
		_dagkit_dirs
		COMPREPLY=("${ids[@]}" "${COMPREPLY[@]}")
		return 0
		;;
	--runs)
		_dagkit_dirs
		return 0
		;;
	--html)
		_dagkit_files
		return 0
		;;
	--logs)
		run=$(_dagkit_optarg --run-dir) ||
			run=$(_dagkit_operands "$argopts" | head -n 1)
		dir=$(_dagkit_run_dir "${run:-latest}")
		_dagkit_lines < <(_dagkit_step_ids "$dir/dag.json")
		return 0
		;;
	--attempt)
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		_dagkit_reply - -f -h --attempt --follow --gantt --help --html \
		    --json --list --logs --run-dir --runs --version
		return 0
	fi
	_dagkit_lines < <(_dagkit_run_ids)
	local -a ids=("${COMPREPLY[@]}")
	_dagkit_dirs
	COMPREPLY=("${ids[@]}" "${COMPREPLY[@]}")
}

complete -F _dagkit_dag_validate dag-validate
complete -F _dagkit_dag_plan dag-plan
complete -F _dagkit_dag_run dag-run
complete -F _dagkit_dag_step dag-step
complete -F _dagkit_dag_status dag-status
