# Shared by the fault tests (sourced): a cluster of real daemons started by
# hand on port 0, so that each can be killed with kill -9 and restarted, and
# helpers that read a job's state through the CLI.
source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

COORDINATOR_BIN="$RUNFILES/coordinator/petrel-coordinator"
SERVER_BIN="$RUNFILES/server/petrel-server"
WORKER_BIN="$RUNFILES/worker/petrel-worker"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

port_of() {  # port file, field -> port
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# Starts the coordinator (extra flags in "$@") and sets COORDINATOR (host:port)
# and COORDINATOR_PID. With COORDINATOR_PORT set, listens there (a restart).
start_coordinator() {
  local port=${COORDINATOR_PORT:-0}
  rm -f "$TMP/c.ports"
  "$COORDINATOR_BIN" --port "$port" --port_file "$TMP/c.ports" "$@" >>"$TMP/coordinator.log" 2>&1 &
  COORDINATOR_PID=$!
  pids+=($COORDINATOR_PID)
  for _ in $(seq 100); do [ -s "$TMP/c.ports" ] && break; sleep 0.1; done
  COORDINATOR_PORT=$(port_of "$TMP/c.ports" grpc_port)
  COORDINATOR="127.0.0.1:$COORDINATOR_PORT"
}

# Starts a daemon ("server" or "worker") logging to $TMP/<name>.log; its pid
# goes to the variable named by $2.
start_daemon() {
  local kind=$1 var=$2 name=$3
  local bin=$SERVER_BIN
  local extra=()
  if [ "$kind" = worker ]; then bin=$WORKER_BIN; extra=(--device cpu); fi
  "$bin" --coordinator "$COORDINATOR" "${extra[@]}" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  pids+=($pid)
  printf -v "$var" '%s' "$pid"
}

# The usual cluster: the coordinator (extra flags in "$@"), servers server-a
# and server-b (pids S0, S1) and workers worker-a and worker-b (W0, W1),
# all registered; the test ends here when they do not come up.
start_cluster() {
  start_coordinator "$@"
  start_daemon server S0 server-a
  start_daemon server S1 server-b
  start_daemon worker W0 worker-a
  start_daemon worker W1 worker-b
  wait_nodes 4 || { fail "the cluster did not come up"; finish; exit; }
}

# Waits until $1 nodes are registered and alive.
wait_nodes() {
  for _ in $(seq 200); do
    local n
    n=$("$PETREL" status --json --coordinator "$COORDINATOR" 2>/dev/null |
        python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin)["cluster"].get("nodes", []) if n.get("alive")))' 2>/dev/null) \
      || true  # the coordinator may not answer yet
    [ "${n:-0}" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

submit() { "$PETREL" submit "$1" --coordinator "$COORDINATOR" 2>"$TMP/submit.err"; }

# One field of a job's status (python expression over the JSON `j`).
job_field() {
  "$PETREL" status "$1" --json --coordinator "$COORDINATOR" 2>/dev/null |
    python3 -c "import json,sys; j=json.load(sys.stdin); print($2)" 2>/dev/null \
    || true  # empty while the coordinator does not answer (a restart)
}

# Waits for job $1 to end ($2 seconds at most) and prints its state.
wait_end() {
  local state=""
  for _ in $(seq $(( ${2:-120} * 5 ))); do
    state=$(job_field "$1" 'j["state"]')
    case "$state" in SUCCEEDED|FAILED|CANCELLED) break ;; esac
    sleep 0.2
  done
  echo "$state"
}

# The furthest clock any worker of job $1 reported.
job_clock() { job_field "$1" 'max([int(w.get("clock", 0)) for w in j.get("workers", [])] or [0])'; }

# Waits until job $1 has reached clock $2.
wait_clock() {
  for _ in $(seq 600); do
    [ "$(job_clock "$1")" -ge "$2" ] 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# The SHA-256 of job $1's parameters, read from the servers.
params_sha() {
  "$PETREL" export "$1" --out "$TMP/$1.safetensors" --coordinator "$COORDINATOR" 2>&1 |
    sed -n 's/^params sha256: //p' || true  # empty when the export failed
}
