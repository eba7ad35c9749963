#!/usr/bin/env bash
# The real binaries as separate processes: `petrel local` end to end, bad job
# files, a port already in use, a worker killed mid-run, and Ctrl-C. Every
# case also checks that no daemon outlives the CLI.
set -euo pipefail

source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

# Daemons still running from the run whose log directory is $1.
leftovers() { pgrep -f -- "$1/" || true; }

# Waits until the `petrel local` writing to $1 trains; prints its log directory.
wait_for_training() {
  local dir=""
  for _ in $(seq 300); do
    dir=$(log_dir_of "$1")
    [ -n "$dir" ] && grep -q "step [1-9]" "$1" && break
    sleep 0.1
  done
  echo "$dir"
}

# Waits (30 s at most) for background child $1 to end; sets $code to its
# exit status. (Not in a $(...) subshell: only this shell can wait for it.)
wait_for_exit() {
  timeout 30 tail --pid="$1" -f /dev/null
  code=0
  wait "$1" || code=$?
}

# 1. A whole local cluster trains, writes its summary and exports the model.
out="$TMP/local.out"
sed "s|^  model_path:.*|  model_path: $TMP/model.safetensors|" \
  "$RUNFILES/tests/testdata/softmax_short.yaml" >"$TMP/job.yaml"
code=0
"$PETREL" local "$TMP/job.yaml" --bin-dir "$RUNFILES" \
  --summary-json "$TMP/summary.json" >"$out" 2>&1 || code=$?
if [ $code -ne 0 ]; then
  fail "petrel local exited $code"; cat "$out"
else
  python3 - "$TMP/summary.json" <<'PY' && pass "petrel local trains and summarises" || fail "summary: $(cat "$TMP/summary.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "SUCCEEDED", s
assert s["test_accuracy"] >= 0.78, s["test_accuracy"]
assert s["servers"] == 2 and s["workers"] == 2, s
assert s["epochs"] == 1 and s["samples_per_second"] > 0 and s["wall_seconds"] > 0, s
assert 0 < s["train_loss"] < 1.0, s
for key in ("job", "accuracy_history", "training_seconds"):
    assert key in s, key
PY
  /usr/bin/python3 - "$TMP/model.safetensors" "$TMP/summary.json" <<'PY' && pass "numpy reads the exported model; its hash is the servers' params_sha256" || fail "exported model vs servers"
import hashlib, json, struct, sys
import numpy as np
data = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = {k: v for k, v in json.loads(data[8:8 + n]).items() if k != "__metadata__"}
body = data[8 + n:]
arrays = {k: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], dtype="<f4")
          for k, v in header.items()}
sha = hashlib.sha256(b"".join(arrays[k].tobytes() for k in sorted(arrays))).hexdigest()
assert sha == json.load(open(sys.argv[2]))["params_sha256"], sha
PY
  python3 - "$TMP/model.safetensors" <<'PY' && pass "the model is exported as safetensors" || fail "bad safetensors export"
import json, struct, sys, os
data = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])
assert header["layer0/weights"]["shape"] == [784, 10], header
assert header["layer0/bias"]["shape"] == [10], header
assert header["layer0/weights"]["data_offsets"] == [0, 784 * 10 * 4], header
assert len(data) == 8 + n + (7840 + 10) * 4, len(data)
weights = struct.unpack("<7850f", data[8 + n:])
assert any(abs(w) > 1e-3 for w in weights[7840:]), "biases never trained"
PY
  grep -q "status URLs" "$out" && grep -q "http://127.0.0.1:[0-9]*/status" "$out" \
    && pass "summary lists status URLs" || fail "no status URLs in: $(cat "$out")"
fi
dir=$(log_dir_of "$out")
[ -n "$dir" ] && [ -z "$(leftovers "$dir")" ] && pass "no daemons left after success" \
  || fail "leftover daemons: $(leftovers "$dir")"

# 2. A job file with an unknown field names the field and its line.
code=0
"$PETREL" local "$RUNFILES/tests/testdata/unknown_field.yaml" --bin-dir "$RUNFILES" >"$out" 2>&1 || code=$?
if [ $code -ne 0 ] && grep -q 'unknown_field.yaml:4' "$out" && grep -q 'model.hiden' "$out"; then
  pass "unknown field is named with its line"
else
  fail "unknown field: exit $code, output: $(cat "$out")"
fi

# 3. A missing data directory names the path and the package that provides it.
code=0
"$PETREL" submit "$RUNFILES/tests/testdata/missing_data.yaml" --coordinator 127.0.0.1:1 >"$out" 2>&1 || code=$?
if [ $code -ne 0 ] && grep -q '/nonexistent/fashion-mnist/train-images-idx3-ubyte.gz' "$out"; then
  pass "missing data path is named"
else
  fail "missing data: exit $code, output: $(cat "$out")"
fi

# 4. A port already in use: a clear error and a non-zero exit.
python3 -c '
import socket, time, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$TMP/port" &
holder=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
port=$(cat "$TMP/port")
for daemon in coordinator/petrel-coordinator server/petrel-server; do
  extra=()
  [ "$daemon" = server/petrel-server ] && extra=(--coordinator 127.0.0.1:1 --register_timeout_seconds 1)
  code=0
  timeout 20 "$RUNFILES/$daemon" --port "$port" "${extra[@]}" >"$out" 2>&1 || code=$?
  if [ $code -ne 0 ] && [ $code -ne 124 ] && grep -q "127.0.0.1:$port (is it already in use?)" "$out"; then
    pass "$daemon refuses a port in use"
  else
    fail "$daemon with a busy port: exit $code, output: $(cat "$out")"
  fi
done
kill "$holder" 2>/dev/null || true

# 5. A worker killed mid-run: the CLI says which, stops everything, fails.
"$PETREL" local "$RUNFILES/tests/testdata/mlp_long.yaml" --bin-dir "$RUNFILES" >"$out" 2>&1 &
cli=$!
dir=$(wait_for_training "$out")
victim=$(worker_pid "$dir" 1)
if [ -z "$victim" ]; then
  fail "could not find worker-1 of $dir: $(cat "$out")"
  kill "$cli" 2>/dev/null || true
else
  kill -9 "$victim"
  wait_for_exit "$cli"
  if [ $code -eq 1 ] && grep -q "worker-1 was killed by signal 9" "$out"; then
    pass "a killed worker is named and the run fails"
  else
    fail "killed worker: exit $code, output: $(tail -20 "$out")"
  fi
  [ -z "$(leftovers "$dir")" ] && pass "no daemons left after a crash" \
    || fail "leftover daemons after a crash: $(leftovers "$dir")"
fi

# 6. Ctrl-C (SIGINT) stops the run and every daemon.
"$PETREL" local "$RUNFILES/tests/testdata/mlp_long.yaml" --bin-dir "$RUNFILES" >"$out" 2>&1 &
cli=$!
dir=$(wait_for_training "$out")
kill -INT "$cli"
wait_for_exit "$cli"
if [ $code -eq 1 ] && grep -q "interrupted by signal 2" "$out"; then
  pass "Ctrl-C stops the run"
else
  fail "Ctrl-C: exit $code, output: $(tail -20 "$out")"
fi
[ -n "$dir" ] && [ -z "$(leftovers "$dir")" ] && pass "no daemons left after Ctrl-C" \
  || fail "leftover daemons after Ctrl-C: $(leftovers "$dir")"

# 7. Daemons started by hand; submit, jobs, status, cancel against them; and
#    a clean exit on SIGTERM.
"$RUNFILES/coordinator/petrel-coordinator" --port 0 --port_file "$TMP/c.ports" >"$TMP/c.log" 2>&1 &
coordinator=$!
for _ in $(seq 100); do [ -s "$TMP/c.ports" ] && break; sleep 0.1; done
address="127.0.0.1:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_port"])' "$TMP/c.ports")"
"$RUNFILES/server/petrel-server" --coordinator "$address" --port_file "$TMP/s.ports" >"$TMP/s.log" 2>&1 &
daemons=($!)
for i in 0 1; do
  "$RUNFILES/worker/petrel-worker" --coordinator "$address" --device cpu >"$TMP/w$i.log" 2>&1 &
  daemons+=($!)
done
job=$("$PETREL" submit "$RUNFILES/tests/testdata/mlp_long.yaml" --coordinator "$address" 2>"$out")
[[ "$job" =~ ^job-[0-9]+$ ]] && pass "submit prints the job id" || fail "submit: '$job' $(cat "$out")"
for _ in $(seq 100); do
  "$PETREL" jobs --coordinator "$address" >"$out" 2>&1
  grep -q "^$job .*RUNNING" "$out" && break
  sleep 0.1
done
grep -q "^$job .*RUNNING" "$out" && pass "jobs shows the job running" || fail "jobs: $(cat "$out")"
"$PETREL" status --coordinator "$address" >"$out" 2>&1
grep -q "server-0 *SERVER *yes" "$out" && grep -q "worker-1 *WORKER *yes" "$out" && grep -q "^$job" "$out" \
  && pass "status lists nodes and jobs" || fail "status: $(cat "$out")"
sleep 1
"$PETREL" status "$job" --coordinator "$address" >"$out" 2>&1
grep -q "worker-0 *rank 0" "$out" && grep -q "worker-1 *rank 1" "$out" \
  && pass "status JOB shows each worker" || fail "status JOB: $(cat "$out")"
"$PETREL" jobs --json --coordinator "$address" >"$out" 2>&1
python3 - "$out" "$job" <<'PY' && pass "jobs --json" || fail "jobs --json: $(cat "$out")"
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
assert [j["job_id"] for j in jobs] == [sys.argv[2]] and jobs[0]["state"] == "RUNNING", jobs
PY
"$PETREL" status --json --coordinator "$address" >"$out" 2>&1
python3 - "$out" <<'PY' && pass "status --json" || fail "status --json: $(cat "$out")"
import json, sys
status = json.load(open(sys.argv[1]))
roles = sorted(n["role"] for n in status["cluster"]["nodes"])
assert roles == ["SERVER", "WORKER", "WORKER"], roles
assert status["jobs"]["jobs"][0]["workers"][1]["rank"] == 1, status
PY
# The standard gRPC health service answers SERVING (status 1: bytes 08 01),
# asked through Debian's python3-grpcio with no generated stubs.
server_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_port"])' "$TMP/s.ports")
for target in "$address" "127.0.0.1:$server_port"; do
  /usr/bin/python3 - "$target" <<'PY' && pass "health check of $target: SERVING" || fail "health check of $target"
import sys, grpc
channel = grpc.insecure_channel(sys.argv[1])
check = channel.unary_unary("/grpc.health.v1.Health/Check",
                            request_serializer=lambda m: m, response_deserializer=lambda m: m)
answer = check(b"", timeout=5)
assert answer == b"\x08\x01", answer
PY
done
# Server reflection lists each daemon's services (grpc.reflection.v1alpha;
# the request is list_services, field 7: bytes 3a 00).
for pair in "$address=petrel.Coordinator" "127.0.0.1:$server_port=petrel.Parameter"; do
  /usr/bin/python3 - "${pair%%=*}" "${pair#*=}" <<'PY' && pass "reflection lists ${pair#*=}" || fail "reflection of $pair"
import sys, grpc
channel = grpc.insecure_channel(sys.argv[1])
info = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                             request_serializer=lambda m: m, response_deserializer=lambda m: m)
answer = b"".join(info(iter([b"\x3a\x00"]), timeout=5))
assert sys.argv[2].encode() in answer and b"grpc.health.v1.Health" in answer, answer
PY
done
# petrel export snapshots the running job; an independent reader (json +
# numpy) finds the shapes the model has and the hash the CLI computed from
# the values it pulled off the servers.
"$PETREL" export "$job" --out "$TMP/export.safetensors" --coordinator "$address" >"$out" 2>&1 \
  && /usr/bin/python3 - "$TMP/export.safetensors" "$out" <<'PY' && pass "export writes safetensors numpy reads back" || fail "export: $(cat "$out")"
import hashlib, json, re, struct, sys
import numpy as np
data = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])
body = data[8 + n:]
arrays = {}
for name, entry in header.items():
    if name == "__metadata__":
        continue
    begin, end = entry["data_offsets"]
    assert entry["dtype"] == "F32", entry
    arrays[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(entry["shape"])
assert arrays["layer0/weights"].shape == (784, 128), {k: a.shape for k, a in arrays.items()}
assert all(np.isfinite(a).all() for a in arrays.values())
sha = hashlib.sha256(b"".join(arrays[k].tobytes() for k in sorted(arrays))).hexdigest()
printed = re.search(r"params sha256: ([0-9a-f]{64})", open(sys.argv[2]).read()).group(1)
assert sha == printed, (sha, printed)
PY
"$PETREL" export job-404 --out "$TMP/nope.safetensors" --coordinator "$address" >"$out" 2>&1 \
  && fail "export of an unknown job succeeded" \
  || { grep -q "job-404" "$out" && [ ! -e "$TMP/nope.safetensors" ] && pass "export of an unknown job is refused, nothing written" || fail "export job-404: $(cat "$out")"; }
"$PETREL" cancel "$job" --coordinator "$address" >"$out" 2>&1
grep -q "$job CANCELLED" "$out" && pass "cancel cancels" || fail "cancel: $(cat "$out")"
"$PETREL" cancel "$job" --coordinator "$address" >"$out" 2>&1 && fail "second cancel succeeded" \
  || { grep -q "already ended" "$out" && pass "a second cancel is refused" || fail "second cancel: $(cat "$out")"; }
"$PETREL" status job-404 --coordinator "$address" >"$out" 2>&1 && fail "unknown job succeeded" \
  || { grep -q 'no job "job-404"' "$out" && pass "an unknown job is named" || fail "unknown job: $(cat "$out")"; }
clean=0
for pid in "${daemons[@]}" "$coordinator"; do
  kill -TERM "$pid"
  timeout 15 tail --pid="$pid" -f /dev/null || true
  wait "$pid" || clean=1
done
[ $clean -eq 0 ] && pass "daemons exit cleanly on SIGTERM" || fail "a daemon exited non-zero on SIGTERM"

finish
