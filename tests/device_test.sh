#!/usr/bin/env bash
# cluster.device on daemons started by hand (issue 23): workers started with
# --device cpu offer only the CPU, so a job asking for cuda:0 is not run on
# them but stays QUEUED saying what it waits for; the same job with device
# cpu runs; a bad device is refused naming the field and line, changing
# nothing.
set -euo pipefail

source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

job_field() {  # job_field JOB EXPR: EXPR of the job's status JSON `j`
  "$PETREL" status "$1" --json --coordinator "$address" >"$TMP/job.json" 2>&1 || return 1
  python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$TMP/job.json" "$2"
}

sed -e 's/^  servers: 2$/  servers: 1/' "$RUNFILES/tests/testdata/softmax_short.yaml" >"$TMP/cpu.yaml"
sed -e 's/^  device: cpu$/  device: cuda:0/' "$TMP/cpu.yaml" >"$TMP/cuda.yaml"
sed -e 's/^  device: cpu$/  device: tpu:3/' "$TMP/cpu.yaml" >"$TMP/tpu.yaml"
grep -q "device: cuda:0" "$TMP/cuda.yaml" && grep -q "servers: 1" "$TMP/cuda.yaml" \
  || { fail "could not make the job files"; finish; exit; }

"$RUNFILES/coordinator/petrel-coordinator" --port 0 --port_file "$TMP/c.ports" >"$TMP/c.log" 2>&1 &
coordinator=$!
for _ in $(seq 100); do [ -s "$TMP/c.ports" ] && break; sleep 0.1; done
address="127.0.0.1:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_port"])' "$TMP/c.ports")"
"$RUNFILES/server/petrel-server" --coordinator "$address" --port_file "$TMP/s.ports" >"$TMP/s.log" 2>&1 &
daemons=($!)
for i in 0 1; do
  "$RUNFILES/worker/petrel-worker" --coordinator "$address" --device cpu \
    --port_file "$TMP/w$i.ports" >"$TMP/w$i.log" 2>&1 &
  daemons+=($!)
done
for _ in $(seq 100); do
  "$PETREL" status --json --coordinator "$address" >"$TMP/cluster.json" 2>/dev/null
  [ "$(grep -o '"WORKER"' "$TMP/cluster.json" | wc -l)" = 2 ] && break
  sleep 0.1
done

# 1. The workers say what they offer: --device cpu offers the CPU alone.
python3 - "$TMP/cluster.json" <<'PY' && pass "--device cpu workers register offering cpu only" || fail "registrations: $(cat "$TMP/cluster.json")"
import json, sys
nodes = [n for n in json.load(open(sys.argv[1]))["cluster"]["nodes"] if n["role"] == "WORKER"]
assert len(nodes) == 2, nodes
for n in nodes:
    assert n["devices"] == ["cpu"], n
    assert n["device"].startswith("cpu"), n
PY

# 2. A bad device is refused before anything is queued, naming field and line.
code=0
"$PETREL" submit "$TMP/tpu.yaml" --coordinator "$address" >"$TMP/out" 2>&1 || code=$?
"$PETREL" jobs --json --coordinator "$address" >"$TMP/jobs.json" 2>&1
if [ $code -ne 0 ] && grep -q 'tpu.yaml:20' "$TMP/out" && grep -q 'cluster.device' "$TMP/out" \
    && grep -q 'tpu:3' "$TMP/out" && python3 -c 'import json,sys; assert not json.load(open(sys.argv[1])).get("jobs")' "$TMP/jobs.json"; then
  pass "cluster.device: tpu:3 is refused with the field and line, nothing queued ($(cat "$TMP/out"))"
else
  fail "tpu:3: exit $code, $(cat "$TMP/out"); jobs: $(cat "$TMP/jobs.json")"
fi

# 3. cuda:0 on CPU-only workers: not run, QUEUED with the reason.
cuda_job=$("$PETREL" submit "$TMP/cuda.yaml" --coordinator "$address" 2>"$TMP/out")
[[ "$cuda_job" =~ ^job-[0-9]+$ ]] || fail "submit cuda:0: '$cuda_job' $(cat "$TMP/out")"
sleep 3
reason="waiting for 2 workers with cuda:0; registered: 2 with cpu only"
state=$(job_field "$cuda_job" 'j["state"]')
[ "$state" = QUEUED ] && pass "the cuda:0 job is not run on CPU workers (state $state)" \
  || fail "the cuda:0 job is $state: $(cat "$TMP/job.json")"
"$PETREL" status "$cuda_job" --coordinator "$address" >"$TMP/out" 2>&1
grep -qF "$reason" "$TMP/out" && pass "petrel status JOB says why: $(grep -F "$reason" "$TMP/out")" \
  || fail "status JOB: $(cat "$TMP/out")"
"$PETREL" status --coordinator "$address" >"$TMP/out" 2>&1
grep -qF "$reason" "$TMP/out" && pass "petrel status says why too" || fail "status: $(cat "$TMP/out")"
if grep -qE "job $cuda_job([: ]|\$)" "$TMP/w0.log" "$TMP/w1.log"; then
  fail "a worker trained the cuda:0 job: $(cat "$TMP/w0.log" "$TMP/w1.log")"
else
  pass "no worker trained the cuda:0 job"
fi

# 4. The same job with device cpu waits behind it, then runs once it is cancelled.
cpu_job=$("$PETREL" submit "$TMP/cpu.yaml" --coordinator "$address" 2>"$TMP/out")
[[ "$cpu_job" =~ ^job-[0-9]+$ ]] || fail "submit cpu: '$cpu_job' $(cat "$TMP/out")"
sleep 1
job_field "$cpu_job" 'j["state"] + " " + j["error"]' | grep -q "QUEUED queued behind $cuda_job" \
  && pass "the cpu job waits behind the cuda:0 one and says so" || fail "cpu job: $(cat "$TMP/job.json")"
"$PETREL" cancel "$cuda_job" --coordinator "$address" >"$TMP/out" 2>&1 || fail "cancel: $(cat "$TMP/out")"
state=""
for _ in $(seq 600); do
  state=$(job_field "$cpu_job" 'j["state"]')
  case "$state" in SUCCEEDED | FAILED | CANCELLED) break ;; esac
  sleep 0.5
done
[ "$state" = SUCCEEDED ] && pass "the cpu job runs on the CPU workers and succeeds" \
  || fail "the cpu job ended $state: $(cat "$TMP/job.json")"
grep -q "job $cpu_job (cluster.device cpu) trains on cpu" "$TMP/w0.log" \
  && pass "the worker logs the device it trains the job on" || fail "worker log: $(cat "$TMP/w0.log")"

# 5. Without a GPU, a worker asked for cuda:0 does not start (unchanged).
if ! nvidia-smi -L >/dev/null 2>&1; then
  code=0
  timeout 20 "$RUNFILES/worker/petrel-worker" --coordinator "$address" --device cuda:0 \
    >"$TMP/gpu.log" 2>&1 || code=$?
  [ $code -ne 0 ] && [ $code -ne 124 ] && grep -q "cuda:0 requested" "$TMP/gpu.log" \
    && pass "a --device cuda:0 worker without a GPU refuses to start" \
    || fail "--device cuda:0 without a GPU: exit $code, $(cat "$TMP/gpu.log")"
fi

for pid in "${daemons[@]}" "$coordinator"; do
  kill -TERM "$pid" || true
  timeout 15 tail --pid="$pid" -f /dev/null || true
done
finish
