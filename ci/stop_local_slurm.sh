#!/usr/bin/env bash
# Stop the daemons ci/start_local_slurm.sh started (their pid files in $BASE/run/started/), and nothing else:
# each pid is checked against the daemon's name before it is signalled.
set -uo pipefail
BASE=${BASE:-/tmp/judgeflow-slurm}
STARTED=$BASE/run/started
for d in slurmd slurmctld slurmdbd mariadbd munged; do
  f=$STARTED/$d.pid
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null && grep -q "$d" "/proc/$pid/comm" 2>/dev/null; then
    echo "stopping $d (pid $pid)"
    kill "$pid"
    for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && { echo "$d did not exit in 30 s, sending SIGKILL"; kill -9 "$pid"; }
  fi
  rm -f "$f"
done
