#!/bin/sh
# Starts and stops a real, throw-away SLURM cluster on this machine for tests.
#
#   tests/slurm/cluster.sh start DIR [NODES]   NODES = 1 (default) or 3
#   tests/slurm/cluster.sh stop DIR
#   tests/slurm/cluster.sh status DIR          exit 0 when running
#
# start puts everything (slurm.conf, state, spool, logs, pid files) under
# DIR, installs the Debian packages if missing, starts munged (unless one
# is already running), slurmctld and one slurmd per node, and returns only
# once `srun true` works.  Its stdout is just `export SLURM_CONF=...`, so
#   eval "$(tests/slurm/cluster.sh start "$dir")"
# points the SLURM clients at the cluster.  NODES=3 emulates three nodes,
# n1..n3, with three slurmd on this host.  stop ends the daemons start
# started, by the pids in their pid files, and waits until they are gone.
# Needs root and no systemd.  See README beside this file.
#
# Environment: SLURM_CLUSTER_PORT (slurmctld port, default 16817; slurmd
# use the next NODES ports), SLURM_CLUSTER_TIMEOUT (seconds start may take,
# default 60).
set -eu

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
port=${SLURM_CLUSTER_PORT:-16817}
limit=${SLURM_CLUSTER_TIMEOUT:-60}
munge_run=/run/munge
munge_key=/etc/munge/munge.key

usage() {
	echo "usage: $prog start DIR [1|3] | stop DIR | status DIR" >&2
	exit 2
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

# alive PIDFILE NAME: the process in PIDFILE exists, is called NAME and is
# not a zombie (daemons are reparented to a pid 1 that may never reap them,
# and kill -0 succeeds on a zombie).
alive() {
	[ -s "$1" ] || return 1
	_pid=$(cat "$1" 2>/dev/null) || return 1
	pid_alive "$_pid" "$2"
}

pid_alive() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
	_state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	case $_state in Z* | X* | '') return 1 ;; esac
	return 0
}

# stop_pid PIDFILE NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pid() {
	if alive "$1" "$2"; then
		_p=$(cat "$1")
		kill -TERM "$_p" 2>/dev/null || :
		_n=0
		while pid_alive "$_p" "$2"; do
			_n=$((_n + 1))
			if [ "$_n" -eq 150 ]; then
				echo "$prog: $2 ($_p) ignores SIGTERM, killing" >&2
				kill -KILL "$_p" 2>/dev/null || :
			fi
			[ "$_n" -lt 200 ] || die "$2 ($_p) does not exit"
			sleep 0.1
		done
	fi
	rm -f "$1"
}

# The directory as an absolute path; it must suit slurm.conf (no blanks).
setdir() {
	[ -n "$1" ] || usage
	case $1 in
	*[[:space:]#\'\"\\]*) die "DIR must not hold blanks, quotes or #: $1" ;;
	esac
	if [ "$2" = create ]; then
		mkdir -p "$1"
	fi
	[ -d "$1" ] || return 1
	dir=$(cd "$1" && pwd -P)
	conf=$dir/slurm.conf
	run=$dir/run
	log=$dir/log
}

nodes_of() {
	[ -s "$dir/nodes" ] && cat "$dir/nodes"
}

# Prints each log's tail on stderr.
logs() {
	for _f in "$log"/*; do
		[ -s "$_f" ] || continue
		echo "==> $_f <==" >&2
		tail -n 30 "$_f" >&2
	done
	if [ -r /var/log/munge/munged.log ]; then
		echo "==> /var/log/munge/munged.log <==" >&2
		tail -n 10 /var/log/munge/munged.log >&2
	fi
}

# Whether any daemon recorded under DIR still runs.
any_alive() {
	for _f in "$run"/*.pid; do
		[ -e "$_f" ] || continue
		_name=${_f##*/}
		_name=${_name%.pid}
		alive "$_f" "${_name%%-*}" && return 0
	done
	return 1
}

is_running() {
	alive "$run/slurmctld.pid" slurmctld || return 1
	_any=
	for _n in $(nodes_of); do
		alive "$run/slurmd-$_n.pid" slurmd || return 1
		_any=1
	done
	[ -n "$_any" ] || return 1
	SLURM_CONF=$conf timeout 10 scontrol ping >/dev/null 2>&1
}

# Runs munged unless one answers already; records its pid only if started.
start_munge() {
	if [ ! -s "$munge_key" ]; then
		install -d -o munge -g munge -m 0700 "${munge_key%/*}"
		mungekey --create --keyfile="$munge_key" >&2 ||
			dd if=/dev/urandom of="$munge_key" bs=1 count=1024 2>/dev/null
		chown munge:munge "$munge_key"
		chmod 0400 "$munge_key"
	fi
	for _d in /var/log/munge /var/lib/munge; do
		[ -d "$_d" ] || install -d -o munge -g munge -m 0700 "$_d"
	done
	install -d -o munge -g munge -m 0755 "$munge_run"
	if alive "$munge_run/munged.pid" munged &&
	    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
		return 0 # someone else's munged: use it, never stop it
	fi
	runuser -u munge -- munged --force </dev/null >>"$log/munged.out" 2>&1 ||
		return 1
	cp "$munge_run/munged.pid" "$run/munged.pid"
	_n=0
	until munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; do
		_n=$((_n + 1))
		[ "$_n" -lt 100 ] || return 1
		sleep 0.1
	done
}

write_conf() {
	_host=$(hostname -s)
	_cpus=$(nproc)
	_lln=
	_mem=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
	cat >"$conf" <<EOF
# Written by tests/slurm/cluster.sh: a throw-away test cluster.
ClusterName=test
SlurmctldHost=$_host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd-%n.pid
SlurmctldLogFile=$log/slurmctld.log
SlurmdLogFile=$log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
# Big arrays: the slurm export submits a 10,000-step fan-out as one.
MaxArraySize=100001
MaxJobCount=200000
KillWait=5
InactiveLimit=10
SlurmdParameters=config_overrides
EOF
	if [ "$nodes" -eq 1 ]; then
		echo "$_host" >"$dir/nodes"
		# This machine as slurmd sees it (CPUs, sockets, cores, memory).
		_hw=$(slurmd -C 2>/dev/null | sed -n 's/^NodeName=[^ ]* //p' |
			grep -x '[A-Za-z]*=[0-9]*\( [A-Za-z]*=[0-9]*\)*') ||
			_hw="CPUs=$_cpus RealMemory=$_mem"
		cat >>"$conf" <<EOF
NodeName=$_host NodeAddr=127.0.0.1 $_hw State=UNKNOWN
EOF
	else
		printf 'n1\nn2\nn3\n' >"$dir/nodes"
		# Least loaded node first: three one-CPU jobs land on n1..n3.
		_lln=" LLN=YES"
		cat >>"$conf" <<EOF
NodeName=n[1-3] NodeHostname=$_host NodeAddr=127.0.0.1 Port=$((port + 1))-$((port + 3)) CPUs=2 RealMemory=$((_mem / 3)) State=UNKNOWN
EOF
	fi
	cat >>"$conf" <<EOF
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP$_lln
EOF
}

# Fails (logs on stderr, daemons stopped) unless the cluster comes up.
fail() {
	echo "$prog: $*" >&2
	logs
	do_stop >&2 || :
	exit 1
}

# Waits for all nodes idle and `srun true` to work, by the deadline.
await() {
	_want=$(nodes_of | wc -l)
	while :; do
		[ "$(date +%s)" -lt "$deadline" ] ||
			fail "cluster not up after $limit s"
		alive "$run/slurmctld.pid" slurmctld || fail "slurmctld died"
		for _n in $(nodes_of); do
			alive "$run/slurmd-$_n.pid" slurmd || fail "slurmd $_n died"
		done
		# A fatal error (say, a port in use) may take a while to end
		# its daemon.
		if grep -q 'fatal:' "$log"/*.log 2>/dev/null; then
			fail "a daemon failed"
		fi
		_left=$((deadline - $(date +%s)))
		[ "$_left" -le 10 ] || _left=10
		[ "$_left" -ge 1 ] || _left=1
		_idle=$(timeout "$_left" sinfo -h -N -o '%N %t' 2>/dev/null |
			awk '$2 == "idle"' | sort -u | wc -l) || _idle=0
		if [ "$_idle" -eq "$_want" ] && timeout "$_left" \
		    srun --quiet --time=1 true </dev/null >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
}

do_start() {
	nodes=$1
	if any_alive; then
		echo "$prog: stopping what an earlier start left in $dir" >&2
		do_stop >&2
	fi
	sh "$here/../deps.sh" slurmctld slurmd slurm-client munge >&2
	deadline=$(($(date +%s) + limit))
	rm -rf "$dir/state" "$dir/spool" "$run" "$log"
	mkdir -p "$dir/state" "$run" "$log"
	chmod 0755 "$dir/state"
	start_munge || fail "munged does not start"
	write_conf
	export SLURM_CONF="$conf"
	for _n in $(nodes_of); do
		mkdir -p "$dir/spool/$_n"
	done
	# -c: clear saved state, or jobs of an earlier run come back.
	slurmctld -c -f "$conf" </dev/null >>"$log/slurmctld.out" 2>&1 ||
		fail "slurmctld does not start"
	for _n in $(nodes_of); do
		slurmd -f "$conf" -N "$_n" </dev/null \
		    >>"$log/slurmd-$_n.out" 2>&1 || fail "slurmd $_n does not start"
	done
	await
	echo "export SLURM_CONF=$conf"
}

do_stop() {
	export SLURM_CONF="$conf"
	if alive "$run/slurmctld.pid" slurmctld; then
		# Cancel jobs first, so no slurmstepd outlives its slurmd.
		_jobs=$(timeout 10 squeue -h -o %i 2>/dev/null) || _jobs=
		if [ -n "$_jobs" ]; then
			# shellcheck disable=SC2086
			timeout 10 scancel $_jobs 2>/dev/null || :
			_n=0
			while [ "$_n" -lt 150 ] && [ -n "$(timeout 10 squeue -h \
			    -t PD,CF,R,S,CG -o %i 2>/dev/null | head -n 1)" ]; do
				_n=$((_n + 1))
				sleep 0.1
			done
		fi
	fi
	for _f in "$run"/slurmd-*.pid; do
		[ -e "$_f" ] || continue
		stop_pid "$_f" slurmd
	done
	stop_pid "$run/slurmctld.pid" slurmctld
	# A slurmstepd left over from a job runs in our log dir (its slurmd's
	# working directory); its environment is empty, so that is the mark.
	for _p in $(pgrep -x slurmstepd || :); do
		if [ "$(readlink "/proc/$_p/cwd" 2>/dev/null)" = "$log" ]; then
			echo "$prog: killing leftover slurmstepd $_p" >&2
			for _c in $(pgrep -P "$_p" || :); do
				kill -KILL "$_c" 2>/dev/null || :
			done
			kill -KILL "$_p" 2>/dev/null || :
		fi
	done
	stop_pid "$run/munged.pid" munged
}

cmd=${1:-}
[ $# -ge 2 ] || usage
case $cmd in
start)
	[ $# -le 3 ] || usage
	case ${3:-1} in 1 | 3) ;; *) usage ;; esac
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	setdir "$2" create || die "cannot create $2"
	do_start "${3:-1}"
	;;
stop)
	[ $# -eq 2 ] || usage
	setdir "$2" exists || exit 0 # nothing there to stop
	do_stop
	;;
status)
	[ $# -eq 2 ] || usage
	setdir "$2" exists || exit 1
	is_running
	;;
*) usage ;;
esac
