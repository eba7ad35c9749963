#!/usr/bin/env bash
# Several hosts on one machine: five Linux network namespaces (a coordinator,
# 2 servers, 2 workers), each with its own 10.77.x address, joined by veth
# pairs to a bridge in a sixth namespace; traffic never leaves this machine.
# The daemons bind every interface and advertise nothing by hand, so each
# must find the address others can dial on its own. A job trains to its
# target across them; then one server's link is cut mid-job and the failure
# must be detected and reported, naming the server. Prints "SKIPPED: why"
# (exit 0, counted as skipped by tools/test) where namespaces cannot be made.
set -euo pipefail

source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

skip() { echo "SKIPPED: $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
command -v ip >/dev/null || skip "iproute2's ip is missing (tools/setup installs it)"
tag="pt$$"
ip netns add "$tag-sw" 2>/dev/null || skip "cannot create network namespaces here"

hosts=(coord ps1 ps2 w1 w2)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for h in "${hosts[@]}"; do ip netns del "$tag-$h" 2>/dev/null || true; done
  ip netns del "$tag-sw" 2>/dev/null || true
}
trap cleanup EXIT

in_ns() { local h=$1; shift; ip netns exec "$tag-$h" "$@"; }
ip -n "$tag-sw" link add br0 type bridge
ip -n "$tag-sw" link set br0 up
for i in "${!hosts[@]}"; do
  h=${hosts[$i]}
  ip netns add "$tag-$h"
  ip link add "${tag}a$i" type veth peer name "${tag}b$i"
  ip link set "${tag}a$i" netns "$tag-$h" name eth0
  ip link set "${tag}b$i" netns "$tag-sw" name "port$i"
  ip -n "$tag-sw" link set "port$i" master br0 up
  ip -n "$tag-$h" addr add "10.77.0.$((i + 1))/24" dev eth0
  ip -n "$tag-$h" link set eth0 up
  ip -n "$tag-$h" link set lo up
done
# Reachable: a TCP connect to a closed port is refused (not timed out).
in_ns w2 python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(3)
try:
    s.connect(("10.77.0.1", 9))
except ConnectionRefusedError:
    sys.exit(0)
except OSError as e:
    sys.exit(f"10.77.0.1 unreachable: {e}")
' && pass "the namespaces reach each other" || { fail "no route between the namespaces"; finish; exit; }

bin="$RUNFILES"
in_ns coord "$bin/coordinator/petrel-coordinator" --host 0.0.0.0 --port 0 --http_host 0.0.0.0 \
  --port_file "$TMP/coord.ports" --heartbeat_timeout_seconds 2 >"$TMP/coord.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$TMP/coord.ports" ] && break; sleep 0.1; done
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_port"])' "$TMP/coord.ports")
coordinator="10.77.0.1:$port"
for h in ps1 ps2; do
  in_ns $h "$bin/server/petrel-server" --coordinator "$coordinator" --host 0.0.0.0 --http_host 0.0.0.0 \
    >"$TMP/$h.log" 2>&1 &
  pids+=($!)
done
for h in w1 w2; do
  in_ns $h "$bin/worker/petrel-worker" --coordinator "$coordinator" --device cpu --http_host 0.0.0.0 \
    >"$TMP/$h.log" 2>&1 &
  pids+=($!)
done
petrel() { in_ns coord "$PETREL" "$@" --coordinator "$coordinator"; }

registered=0
for _ in $(seq 100); do
  petrel status --json >"$TMP/status.json" 2>/dev/null && python3 - "$TMP/status.json" <<'PY' && { registered=1; break; }
import json, sys
nodes = json.load(open(sys.argv[1]))["cluster"]["nodes"]
assert sum(n["alive"] for n in nodes) == 4, nodes
PY
  sleep 0.2
done
[ $registered -eq 1 ] && pass "2 servers and 2 workers registered from their namespaces" \
  || { fail "registration: $(cat "$TMP/status.json")"; tail -5 "$TMP"/*.log; finish; exit; }
python3 - "$TMP/status.json" <<'PY' && pass "each server advertises its own 10.77.0.x address" || fail "advertised addresses: $(cat "$TMP/status.json")"
import json, sys
nodes = json.load(open(sys.argv[1]))["cluster"]["nodes"]
servers = sorted(n["grpc_address"].rsplit(":", 1)[0] for n in nodes if n["role"] == "SERVER")
assert servers == ["10.77.0.2", "10.77.0.3"], servers
PY

# A job across the namespaces trains to its target.
wait_job() {  # job id, seconds; leaves the job's JSON in $TMP/job.json
  for _ in $(seq $(($2 * 5))); do
    petrel jobs --json >"$TMP/jobs.json" 2>/dev/null
    python3 - "$TMP/jobs.json" "$1" >"$TMP/job.json" <<'PY' && return 0
import json, sys
job = [j for j in json.load(open(sys.argv[1]))["jobs"] if j["job_id"] == sys.argv[2]][0]
print(json.dumps(job))
sys.exit(0 if job["state"] in ("SUCCEEDED", "FAILED", "CANCELLED") else 1)
PY
    sleep 0.2
  done
  return 1
}
job=$(petrel submit "$RUNFILES/tests/testdata/softmax_short.yaml" 2>"$TMP/submit.err")
if wait_job "$job" 120; then
  python3 - "$TMP/job.json" <<'PY' && pass "a job across 5 namespaces reaches its target" || fail "job: $(cat "$TMP/job.json")"
import json, sys
job = json.load(open(sys.argv[1]))
assert job["state"] == "SUCCEEDED", job
assert job["test_accuracy"] >= 0.78, job["test_accuracy"]
PY
else
  fail "the job did not end: $(cat "$TMP/jobs.json") $(cat "$TMP/submit.err")"
fi

# Cut server ps1's link mid-job: the coordinator notices its heartbeats stop
# and fails the job, naming the server and its host.
sed 's/^  servers: 1$/  servers: 2/' "$RUNFILES/tests/testdata/mlp_long.yaml" >"$TMP/long.yaml"
job=$(petrel submit "$TMP/long.yaml" 2>"$TMP/submit2.err")
for _ in $(seq 150); do
  petrel status "$job" >"$TMP/progress.txt" 2>/dev/null
  grep -q "step [1-9]" "$TMP/progress.txt" && break
  sleep 0.2
done
ip -n "$tag-sw" link set port1 down   # ps1 is hosts[1]
if wait_job "$job" 60; then
  python3 - "$TMP/job.json" <<'PY' && pass "the cut link is detected and reported, naming the server" || fail "after the cut: $(cat "$TMP/job.json")"
import json, sys
job = json.load(open(sys.argv[1]))
assert job["state"] == "FAILED", job
assert "stopped responding" in job["error"] and "10.77.0.2" in job["error"], job["error"]
print("error:", job["error"])
PY
else
  fail "the job did not fail after the cut: $(cat "$TMP/jobs.json")"
fi

finish
