#!/usr/bin/env bash
# Stop the daemons ci/start_local_slurm.sh started (their pid files in $BASE/run/started/), and nothing else:
# each pid is checked against the daemon's name before it is signalled. The SLURM daemons stop first, then
# the database and munge they talk to; each group is signalled at once and given 30 s before SIGKILL.
set -uo pipefail
BASE=${BASE:-/tmp/judgeflow-slurm}
STARTED=$BASE/run/started

stop_group() {
  local pids=() names=() d f pid i
  for d in "$@"; do
    f=$STARTED/$d.pid
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null && grep -q "$d" "/proc/$pid/comm" 2>/dev/null; then
      echo "stopping $d (pid $pid)"
      kill "$pid" && pids+=("$pid") && names+=("$d")
    fi
    rm -f "$f"
  done
  for _ in $(seq 120); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.25
  done
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null && { echo "${names[$i]} did not exit in 30 s, sending SIGKILL"; kill -9 "${pids[$i]}"; }
  done
  return 0
}

stop_group slurmd slurmctld slurmdbd
stop_group mariadbd munged
