#!/usr/bin/env bash
# mode: federated end to end (docs/federated.md), with real daemons:
#  1. FedAvg with secure aggregation on 4 workers; one worker is frozen
#     (SIGSTOP) mid-job, so a round drops it at its deadline after the
#     others masked against it; the survivors reveal their seeds, the servers
#     remove those masks, and the job still learns and finishes.
#  2. DP-FedAvg on a non-IID split with half the workers sampled: the epsilon
#     spent is reported.
#  3. Bad configurations are refused before any daemon starts.
set -euo pipefail

source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

# --- 1. secure aggregation with a straggler --------------------------------
out="$TMP/secure.out"
timeout 240 "$PETREL" local "$RUNFILES/tests/testdata/federated_secure.yaml" \
  --bin-dir "$RUNFILES" --plaintext --heartbeat_timeout_seconds 60 \
  --summary-json "$TMP/secure.json" >"$out" 2>&1 &
local_pid=$!
dir=""
for _ in $(seq 1 300); do
  dir=$(log_dir_of "$out")
  [ -n "$dir" ] && grep -q "round 1 trained" "$dir/worker-3.log" 2>/dev/null && break
  sleep 0.1
done
pid=$(worker_pid "$dir" 3)
if [ -n "$pid" ]; then
  kill -STOP "$pid"
  sleep 4      # two round deadlines
  kill -CONT "$pid"
  pass "froze worker-3 (pid $pid) for 4 s"
else
  fail "worker-3 not found (log dir '$dir')"
fi
code=0
wait $local_pid || code=$?
[ $code -eq 0 ] && pass "petrel local succeeded" || { fail "petrel local exited $code"; tail -30 "$out"; }
/usr/bin/python3 - "$TMP/secure.json" <<'PY' && pass "25 rounds applied, a worker dropped, accuracy kept" || fail "summary: $(cat "$TMP/secure.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "SUCCEEDED", s
f = s["federated"]
assert f["rounds_completed"] == 25, f
assert f["workers_dropped"] >= 1, f
assert s["test_accuracy"] > 0.78, s["test_accuracy"]
print("accuracy %.4f, %d workers dropped, %d rounds abandoned" %
      (s["test_accuracy"], f["workers_dropped"], f["rounds_abandoned"]))
PY
grep -q "dropped .*past the deadline" "$dir/coordinator.log" \
  && pass "the coordinator dropped the straggler at the deadline" \
  || fail "no drop in the coordinator log"
# Every server removed the masks the survivors shared with the dropped worker.
for s in 0 1; do
  grep -Eq "applied \(3 contributors, weight [0-9]+, [1-9][0-9]* masks of dropped workers removed\)" \
    "$dir/server-$s.log" && pass "server-$s removed a dropped worker's masks" \
    || fail "server-$s: no round closed with mask corrections"
done
grep -q "closed before this worker's upload arrived\|round [0-9]* trained" "$dir/worker-3.log" \
  && pass "worker-3 went on after it thawed" || fail "worker-3 log: $(tail -5 "$dir/worker-3.log")"
[ -z "$(pgrep -f -- "$dir/" || true)" ] && pass "no daemons left" || fail "leftover daemons"

# --- 2. DP on a non-IID split ------------------------------------------------
out="$TMP/dp.out"
timeout 180 "$PETREL" local "$RUNFILES/tests/testdata/federated_dp.yaml" \
  --bin-dir "$RUNFILES" --plaintext --summary-json "$TMP/dp.json" >"$out" 2>&1 \
  && pass "the DP job succeeded" || { fail "DP job failed"; tail -20 "$out"; }
/usr/bin/python3 - "$TMP/dp.json" <<'PY' && pass "epsilon spent is reported" || fail "summary: $(cat "$TMP/dp.json")"
import json, sys
s = json.load(open(sys.argv[1]))
f = s["federated"]
assert f["rounds_completed"] == 6, f
# 6 rounds at q = 0.5, sigma = 1.1: the RDP accountant gives a few units.
assert 1 < f["dp_epsilon"] < 20, f
assert f["dp_delta"] == 1e-5, f
print("epsilon %.3f at delta %g" % (f["dp_epsilon"], f["dp_delta"]))
PY
grep -q "DP (clip 2, noise 1.1): epsilon [0-9.]* at delta 1e-05" "$out" \
  && pass "the summary prints the epsilon" || fail "no DP line in: $(cat "$out")"

# --- 3. refusals ---------------------------------------------------------------
refused() {  # $1: what, $2: sed expression on the secure job, $3: expected message
  sed "$2" "$RUNFILES/tests/testdata/federated_secure.yaml" >"$TMP/bad.yaml"
  if "$PETREL" local "$TMP/bad.yaml" --bin-dir "$RUNFILES" --plaintext >"$TMP/bad.out" 2>&1; then
    fail "$1 was accepted"
  elif grep -qF "$3" "$TMP/bad.out" && ! grep -q "starting a coordinator" "$TMP/bad.out"; then
    pass "$1 is refused: $(grep -F "$3" "$TMP/bad.out" | head -1)"
  else
    fail "$1: $(cat "$TMP/bad.out")"
  fi
}
refused "E = 0" 's/local_epochs: 2/local_epochs: 0/' "federated.local_epochs (E) must be at least 1"
refused "client fraction 0" 's/client_fraction: 1.0/client_fraction: 0/' "federated.client_fraction must be in (0, 1]"
refused "client fraction 1.5" 's/client_fraction: 1.0/client_fraction: 1.5/' "federated.client_fraction must be in (0, 1]"
refused "secure aggregation on 2 workers" 's/workers: 4/workers: 2/' "federated.secure_aggregation needs at least 3 workers"
refused "DP without clipping" 's/^cluster:/dp:\n  noise_multiplier: 1.0\ncluster:/' "dp.clip_norm must be a positive number"
finish
