#!/usr/bin/env bash
# Starts a real single-node Slurm cluster on this machine (munged as the munge
# user, slurmctld and slurmd as root, everything under one temp dir with free
# ports), runs `sbatch --wait petrel.sbatch softmax_job.yaml` and checks that
# the Petrel job succeeded with a test accuracy of at least 0.75.
#
# Prints "SKIPPED: why" and exits 0 (tools/test counts it as skipped) where Slurm cannot run (not root, slurm-wlm or
# munge missing, no Fashion-MNIST). tools/setup installs what it needs.
set -euo pipefail

skip() { echo "SKIPPED: $*"; exit 0; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Bazel's test PATH leaves out the sbin directories.
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"

[ "$(id -u)" -eq 0 ] || skip "slurmctld and slurmd must run as root here (uid $(id -u))"
for tool in munged slurmctld slurmd slurmstepd sbatch srun sinfo scontrol squeue scancel runuser; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing (tools/setup installs slurm-wlm and munge)"
done
id munge >/dev/null 2>&1 || skip "no munge user (the munge package creates it)"
command -v python3 >/dev/null 2>&1 || skip "python3 is missing (it picks free ports)"
data_dir=/usr/share/datasets/fashion-mnist
[ -d "$data_dir" ] || skip "no Fashion-MNIST at $data_dir (tools/setup installs dataset-fashion-mnist)"

# Runfiles: this package's scripts and the daemons in their bazel-bin layout.
root="${TEST_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/${TEST_WORKSPACE:-petrel}"
[ -d "$root/deploy/slurm" ] || root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/deploy/slurm"
for binary in coordinator/petrel-coordinator server/petrel-server worker/petrel-worker tools/cli/petrel; do
  [ -x "$root/$binary" ] || fail "missing $root/$binary"
done

# One short directory under /tmp: munged (as the munge user) must reach it,
# and Unix socket paths under Bazel's TEST_TMPDIR would be too long.
T="$(mktemp -d /tmp/petrel-slurm.XXXXXX)"
chmod 755 "$T"
slurmctld_pid="" slurmd_pid="" munged_pid=""
cleanup() {
  local status=$?
  set +e
  if [ -n "$slurmctld_pid" ]; then
    # Let Slurm end its own job steps before the daemons go.
    scancel --full --quiet --user=root 2>/dev/null
    for _ in $(seq 50); do
      [ -z "$(squeue --noheader 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  for pid in "$slurmd_pid" "$slurmctld_pid" "$munged_pid"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
  done
  for pid in "$slurmd_pid" "$slurmctld_pid" "$munged_pid"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  if [ "$status" -ne 0 ]; then
    for f in "$T"/slurmctld.log "$T"/slurmd.log "$T"/munged.log; do
      [ -f "$f" ] && { echo "--- tail of $f"; tail -n 25 "$f"; }
    done
  fi
  # Keep the logs where Bazel collects them.
  if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    cp -rL "$T"/*.log "$T"/job "$TEST_UNDECLARED_OUTPUTS_DIR"/ 2>/dev/null
  fi
  rm -rf "$T"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- munge --------------------------------------------------------------------
mkdir -p "$T/munge"
if [ -r /etc/munge/munge.key ]; then
  cp /etc/munge/munge.key "$T/munge/munge.key"
elif command -v mungekey >/dev/null 2>&1; then
  mungekey --create --keyfile="$T/munge/munge.key" >/dev/null
else
  dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
fi
chown -R munge:munge "$T/munge"
chmod 755 "$T/munge"
chmod 400 "$T/munge/munge.key"
socket="$T/munge/munge.socket"
runuser -u munge -- munged --socket="$socket" --key-file="$T/munge/munge.key" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" \
  --seed-file="$T/munge/munged.seed" --force \
  || skip "munged would not start here"
for _ in $(seq 50); do [ -s "$T/munge/munged.pid" ] && break; sleep 0.1; done
munged_pid="$(cat "$T/munge/munged.pid" 2>/dev/null || true)"
[ -n "$munged_pid" ] || skip "munged wrote no pid file"
ln -sf "$T/munge/munged.log" "$T/munged.log"

# --- slurm.conf ---------------------------------------------------------------
host="$(hostname -s)"
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("", 0))
print(*[x.getsockname()[1] for x in s])')
# The node's real shape, as slurmd sees it (CPUs, sockets, cores, memory).
node_line="$(slurmd -C 2>/dev/null | head -n 1)"
case "$node_line" in NodeName=*) ;; *) skip "slurmd -C printed no node line: $node_line" ;; esac
mkdir -p "$T/state" "$T/spool" "$T/job"
: >"$T/plugstack.conf"
export SLURM_CONF="$T/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=petreltest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
PlugStackConfig=$T/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MailProg=/bin/true
KillWait=5
$node_line State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
EOF

# --- slurmctld and slurmd -----------------------------------------------------
slurmctld -D -f "$SLURM_CONF" >"$T/slurmctld.out" 2>&1 &
slurmctld_pid=$!
slurmd -D -f "$SLURM_CONF" >"$T/slurmd.out" 2>&1 &
slurmd_pid=$!
state=""
for _ in $(seq 150); do
  state="$(sinfo --noheader --nodes="$host" --format=%T 2>/dev/null | head -n 1 || true)"
  case "$state" in idle) break ;; esac
  kill -0 "$slurmctld_pid" 2>/dev/null || { cat "$T/slurmctld.out"; skip "slurmctld exited (see above)"; }
  kill -0 "$slurmd_pid" 2>/dev/null || { cat "$T/slurmd.out"; skip "slurmd exited (see above)"; }
  sleep 0.2
done
[ "$state" = idle ] || fail "node $host is '$state', not idle, after 30 s"
echo "slurm: node $host idle (slurmctld port $ctld_port, slurmd port $slurmd_port)"

# --- the Petrel job through sbatch -------------------------------------------
out="$T/job/petrel.out"
rc=0
timeout 150 sbatch --wait --nodes=1 --ntasks=1 --time=10 \
  --chdir="$T/job" --output="$out" \
  --export=ALL,PETREL_SLURM_LAUNCH="$here/petrel-slurm-launch" \
  "$here/petrel.sbatch" "$here/softmax_job.yaml" --bin-dir "$root" --poll 1 \
  --log-dir "$T/job/logs" || rc=$?
echo "--- sbatch --wait exited $rc; the job's output:"
cat "$out" 2>/dev/null || true
[ "$rc" -eq 0 ] || {
  for f in "$T"/job/logs/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
  fail "sbatch --wait exited $rc"
}
grep -q "SUCCEEDED" "$out" || fail "the job did not report SUCCEEDED"
grep -q "all daemons registered: 2 server(s), 2 worker(s)" "$out" \
  || fail "the launcher did not see 2 servers and 2 workers register"
accuracy="$(grep -o 'test acc [0-9.]*' "$out" | tail -n 1 | awk '{print $3}')"
[ -n "$accuracy" ] || fail "no test accuracy in the job's output"
python3 -c "import sys; sys.exit(0 if float('$accuracy') >= 0.75 else 1)" \
  || fail "test accuracy $accuracy < 0.75"
echo "ok: the job SUCCEEDED on Slurm, test accuracy $accuracy"

# --- a job that fails makes the Slurm job fail ---------------------------------
sed -e 's|^  path: .*|  path: /nonexistent/fashion-mnist|' -e 's|^  servers: .*|  servers: 1|' \
    -e 's|^  workers: .*|  workers: 1|' "$here/softmax_job.yaml" >"$T/job/missing_data.yaml"
bad_out="$T/job/missing_data.out"
rc=0
timeout 100 sbatch --wait --nodes=1 --ntasks=1 --time=5 --chdir="$T/job" --output="$bad_out" \
  --export=ALL,PETREL_SLURM_LAUNCH="$here/petrel-slurm-launch" \
  "$here/petrel.sbatch" "$T/job/missing_data.yaml" --bin-dir "$root" --poll 1 \
  --log-dir "$T/job/missing_data_logs" || rc=$?
echo "--- sbatch --wait on a job with no data exited $rc; the job's output:"
grep -v '^srun: ' "$bad_out" 2>/dev/null || true
[ "$rc" -ne 0 ] || fail "a job with no data left the Slurm job successful"
[ -z "$(squeue --noheader 2>/dev/null)" ] || fail "Slurm jobs left behind: $(squeue --noheader)"
echo "PASS: Petrel job on Slurm SUCCEEDED, test accuracy $accuracy; a failing job fails its Slurm job"
