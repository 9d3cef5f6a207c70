#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine from Debian's packages (root, Debian 12, no systemd needed).
# Idempotent: daemons already up are left alone; the ones this script starts get a pid file in
# $BASE/run/started/, and ci/stop_local_slurm.sh stops exactly those.
#   WITH_DBD=1 (default): slurmdbd + MariaDB, so that sacct (the executor plugin's status command) works
#   FAKE_GPUS=N (default 2): N fake gres/gpu devices (File=/dev/null) so --gpus requests can be placed
#   BASE=/tmp/judgeflow-slurm (default): state, spool, logs and pid files
# Every wait has a timeout; the script fails instead of hanging.
set -euo pipefail
BASE=${BASE:-/tmp/judgeflow-slurm}; WITH_DBD=${WITH_DBD:-1}; FAKE_GPUS=${FAKE_GPUS:-2}
RUN=$BASE/run; STARTED=$RUN/started; LOG=$BASE/log; HOST=$(hostname -s); T0=$(date +%s)
log() { echo "[start_local_slurm +$(( $(date +%s) - T0 ))s] $*"; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
waitfor() {  # waitfor SECONDS WHAT COMMAND...: poll every 0.25 s until COMMAND succeeds
  local n=$(( $1 * 4 )) what=$2; shift 2
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "start_local_slurm: timeout waiting for $what (logs in $LOG)" >&2; return 1; }
[ "$(id -u)" = 0 ] || { echo "start_local_slurm: must run as root" >&2; exit 1; }
command -v apt-get >/dev/null || { echo "start_local_slurm: needs Debian's apt-get" >&2; exit 1; }

PKGS="munge slurmctld slurmd slurm-client"; [ "$WITH_DBD" = 1 ] && PKGS="$PKGS slurmdbd mariadb-server"
missing=""
for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "installing:$missing"; made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then  # keep apt from starting the services itself
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  timeout 300 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends $missing >/dev/null
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  log "installed"
fi
mkdir -p "$RUN" "$STARTED" "$LOG" "$BASE/state" "$BASE/spool"

# munge: authentication between the daemons and the clients
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
  || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
chown munge:munge /etc/munge/munge.key; chmod 600 /etc/munge/munge.key
install -d -o munge -g munge -m 755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"; runuser -u munge -- /usr/sbin/munged
  waitfor 10 munged sh -c 'munge -n | unmunge'; cp /run/munge/munged.pid "$STARTED/munged.pid"
fi

# MariaDB + slurmdbd: job accounting, so that sacct answers
if [ "$WITH_DBD" = 1 ]; then
  install -d -o mysql -g root -m 755 /run/mysqld; install -d -o mysql -g mysql "$LOG/mariadb"
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  if ! mariadb-admin ping >/dev/null 2>&1; then
    log "starting mariadbd"
    setsid /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 --pid-file=/run/mysqld/mysqld.pid \
      --log-error="$LOG/mariadb/mariadb.err" --innodb-buffer-pool-size=128M \
      --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
    echo $! > "$STARTED/mariadbd.pid"; waitfor 30 mariadb mariadb-admin ping
  fi
  mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
  cat > "$RUN/slurmdbd.conf.new" <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
LogFile=$LOG/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
CONF
  cmp -s "$RUN/slurmdbd.conf.new" /etc/slurm/slurmdbd.conf || cp "$RUN/slurmdbd.conf.new" /etc/slurm/slurmdbd.conf
  chmod 600 /etc/slurm/slurmdbd.conf
  if ! alive "$RUN/slurmdbd.pid"; then
    log "starting slurmdbd"; slurmdbd
    waitfor 30 slurmdbd bash -c 'echo > /dev/tcp/127.0.0.1/6819'; cp "$RUN/slurmdbd.pid" "$STARTED/slurmdbd.pid"
  fi
  # AccountingStorageTRES=gres/gpu: sacct's ReqTRES/AllocTRES then show the GPUs a job asked for
  ACCT=$'AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost\nAccountingStoragePort=6819\nAccountingStorageTRES=gres/gpu'
else
  ACCT="AccountingStorageType=accounting_storage/none"
fi

# slurm.conf (+ gres.conf for the fake GPUs)
NODE=$(slurmd -C | head -1 | sed "s/^NodeName=[^ ]*/NodeName=$HOST/")
GRES=""; GRESTYPES=""; GRES_CHANGED=0
if [ "$FAKE_GPUS" -gt 0 ]; then
  GRES=" Gres=gpu:$FAKE_GPUS"; GRESTYPES="GresTypes=gpu"
  # Each fake GPU needs a device file (Count= alone marks the node INVAL) with a name of its own (slurmd
  # refuses duplicates): character devices like /dev/null under $BASE/dev.
  mkdir -p "$BASE/dev"
  for i in $(seq 0 $(( FAKE_GPUS - 1 ))); do
    [ -c "$BASE/dev/fakegpu$i" ] || mknod "$BASE/dev/fakegpu$i" c 1 3
    echo "NodeName=$HOST Name=gpu File=$BASE/dev/fakegpu$i"
  done > "$RUN/gres.conf.new"
  cmp -s "$RUN/gres.conf.new" /etc/slurm/gres.conf || { cp "$RUN/gres.conf.new" /etc/slurm/gres.conf; GRES_CHANGED=1; }
elif [ -e /etc/slurm/gres.conf ]; then rm -f /etc/slurm/gres.conf; GRES_CHANGED=1; fi
cat > "$RUN/slurm.conf.new" <<CONF
ClusterName=localcluster
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
MailProg=/bin/true
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
$ACCT
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
AccountingStoreFlags=job_comment
MpiDefault=none
MinJobAge=300
$GRESTYPES
$NODE NodeAddr=127.0.0.1 State=UNKNOWN$GRES
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
RESTART=$GRES_CHANGED
cmp -s "$RUN/slurm.conf.new" /etc/slurm/slurm.conf || { cp "$RUN/slurm.conf.new" /etc/slurm/slurm.conf; RESTART=1; }

# slurmctld + slurmd (both restarted when slurm.conf changed)
for d in slurmd slurmctld; do
  if [ "$RESTART" = 1 ] && alive "$RUN/$d.pid"; then
    log "config changed: stopping $d"; pid=$(cat "$RUN/$d.pid"); kill "$pid"
    waitfor 30 "$d exit" sh -c "! kill -0 $pid"; fi
done
if ! alive "$RUN/slurmctld.pid"; then
  log "starting slurmctld"; slurmctld; waitfor 30 slurmctld scontrol ping
  cp "$RUN/slurmctld.pid" "$STARTED/slurmctld.pid"; fi
if ! alive "$RUN/slurmd.pid"; then
  log "starting slurmd"; slurmd; waitfor 10 slurmd test -s "$RUN/slurmd.pid"
  cp "$RUN/slurmd.pid" "$STARTED/slurmd.pid"; fi
sinfo -h -N -o '%T' | grep -qiE 'drain|down|inval' && scontrol update nodename="$HOST" state=resume || true
waitfor 60 "node idle" sh -c "sinfo -h -N -o '%T' | grep -qxE 'idle|mixed|allocated|completing'"
sinfo; log "cluster ready"
