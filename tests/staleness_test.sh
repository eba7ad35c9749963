#!/usr/bin/env bash
# The staleness gate across real processes: workers paused at random from
# outside (SIGSTOP/SIGCONT) never make a pull see more staleness than the
# bound, async never waits, and a paused worker is named by the stall
# detector within stall_timeout + a few seconds.
set -euo pipefail

source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

job_file() {  # staleness stall_timeout epochs -> path
  local path="$TMP/job-$1-$3.yaml"
  sed "s/STALENESS/$1/; s/STALL_TIMEOUT/$2/; s/EPOCHS/$3/" \
    "$RUNFILES/tests/testdata/softmax_three_workers.yaml" >"$path"
  echo "$path"
}

# Starts petrel local in the background; sets $cli and $dir once workers train.
start_local() {
  # A worker stopped for seconds must stay a stall here, not a death (with
  # the default 1 s timeout it would leave the job: tests/fault/).
  "$PETREL" local "$1" --bin-dir "$RUNFILES" --summary-json "$2" --heartbeat_timeout_seconds 120 >"$3" 2>&1 &
  cli=$!
  dir=""
  for _ in $(seq 300); do
    dir=$(log_dir_of "$3")
    [ -n "$dir" ] && [ -n "$(worker_pid "$dir" 2)" ] && grep -q "step [1-9]" "$3" && return
    sleep 0.1
  done
}

# 1. Random pauses of random workers, for each consistency model.
for staleness in 0 1 3 async; do
  out="$TMP/run-$staleness.out"
  summary="$TMP/summary-$staleness.json"
  start_local "$(job_file "$staleness" 30 1)" "$summary" "$out"
  RANDOM=$((42 + ${#staleness}))
  while kill -0 "$cli" 2>/dev/null; do
    victim=$(worker_pid "$dir" $((RANDOM % 3)))
    [ -z "$victim" ] && break
    kill -STOP "$victim" 2>/dev/null
    sleep "0.$((RANDOM % 4 + 1))"
    kill -CONT "$victim" 2>/dev/null
    sleep "0.$((RANDOM % 3))"
  done
  code=0
  wait "$cli" || code=$?
  python3 - "$summary" "$staleness" <<'PY' && pass "staleness $staleness: bound held under random pauses" \
    || fail "staleness $staleness (exit $code): $(tail -5 "$out")"
import json, sys
s = json.load(open(sys.argv[1]))
bound = sys.argv[2]
assert s["state"] == "SUCCEEDED", s
assert len(s["params_sha256"]) == 64, s
if bound == "async":
    assert s["staleness"] == -1 and s["pulls_waited"] == 0, s
else:
    assert s["staleness"] == int(bound), s
    assert 0 <= s["max_observed_staleness"] <= int(bound), s
    assert s["pulls_waited"] > 0, s  # the pauses held pulls back
print(bound, "max observed", s["max_observed_staleness"], "waited", s["pulls_waited"],
      "wait fraction", round(s["pull_wait_fraction"], 3))
PY
done

# 2. A paused worker is named by the stall detector, in /status, `petrel
#    status` and the logs, within stall_timeout + a few seconds.
out="$TMP/stall.out"
# (1000 epochs: still running whenever the worker is paused; stopped below)
start_local "$(job_file 0 2 1000)" "$TMP/stall.json" "$out"
victim=$(worker_pid "$dir" 1)
kill -STOP "$victim"
paused_at=$(date +%s.%N)
coordinator_http=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_port"])' "$dir/coordinator.ports")
coordinator="unix:$dir/sockets/coordinator.sock"  # petrel local's default transport
named=""
for _ in $(seq 100); do
  named=$(python3 - "$coordinator_http" <<'PY'
import json, sys, urllib.request
status = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/status"))
for job in status["jobs"]:
    for late in job.get("stall", {}).get("late_workers", []):
        if late["worker"] == "worker-1" and late["host"] and late["seconds_since_heartbeat"] >= 0:
            print("yes")
PY
)
  [ "$named" = yes ] && break
  sleep 0.1
done
elapsed=$(python3 -c "import time,sys; print(time.time() - float(sys.argv[1]))" "$paused_at")
if [ "$named" = yes ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 2 + 4 else 1)" "$elapsed"; then
  pass "the stall detector named worker-1 after ${elapsed%.*} s (timeout 2 s)"
else
  fail "worker-1 not named as late within 6 s (named=$named after $elapsed s): $(tail -20 "$out")"
fi
"$PETREL" status job-1 --coordinator "$coordinator" \
  --token_file "$dir/token" >"$TMP/status.out" 2>&1
grep -q "STALLED" "$TMP/status.out" && grep -q "worker-1 .* clock" "$TMP/status.out" \
  && pass "petrel status names the late worker" || fail "petrel status: $(cat "$TMP/status.out")"
grep -q "the pull of worker-.* has waited .* for worker-1" "$dir"/server-*.log \
  && pass "a server logged the stall" || fail "no stall in the server logs"
grep -q "job job-1 stalled: .*worker-1 on " "$dir/coordinator.log" \
  && pass "the coordinator logged the stall with the host" || fail "no stall in the coordinator log"
kill -CONT "$victim"
sleep 1
"$PETREL" status job-1 --coordinator "$coordinator" \
  --token_file "$dir/token" >"$TMP/status.out" 2>&1
grep -q "RUNNING" "$TMP/status.out" && ! grep -q "STALLED" "$TMP/status.out" \
  && pass "training goes on once the worker resumes" || fail "after resume: $(cat "$TMP/status.out")"
kill -INT "$cli"
wait "$cli" || true  # the CLI exits 1 when interrupted

finish
