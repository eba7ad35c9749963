#!/usr/bin/env bash
# Fault test 2: a worker is killed with kill -9 mid-run and a new one is
# started. The dead worker leaves the clock set after the heartbeat timeout
# (so BSP does not wait for it forever), the new worker takes its rank at
# the job's current clock, and the job succeeds with a final accuracy within
# 0.01 of an undisturbed run's. Then a worker that is frozen (SIGSTOP) past
# the timeout departs the same way, and when it thaws it is given its rank
# back at the job's current clock: that job succeeds too.
set -euo pipefail
source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/fault/fault_lib.sh"

start_cluster
cp "$RUNFILES/tests/testdata/fault_softmax.yaml" "$TMP/job.yaml"

ref=$(submit "$TMP/job.yaml")
[ "$(wait_end "$ref" 180)" = SUCCEEDED ] || { fail "$ref did not succeed"; finish; exit; }
ref_acc=$(job_field "$ref" 'j["test_accuracy"]')

job=$(submit "$TMP/job.yaml")
wait_clock "$job" 500 || fail "$job did not reach clock 500"
kill -9 "$W1"
echo "killed worker-b (pid $W1) at clock $(job_clock "$job")"
start_daemon worker W2 worker-c
state=$(wait_end "$job" 180)
[ "$state" = SUCCEEDED ] && pass "$job succeeded after a worker was replaced" \
  || fail "$job ended $state: $(job_field "$job" 'j["error"]')"
grep -q "takes rank" "$TMP/coordinator.log" && pass "the new worker took the dead one's rank" \
  || fail "no replacement in the coordinator's log"
grep -q "starts at clock" "$TMP/worker-c.log" && pass "the new worker joined at the current clock" \
  || fail "worker-c did not start mid-job: $(tail -3 "$TMP/worker-c.log")"

acc=$(job_field "$job" 'j["test_accuracy"]')
echo "final test accuracy: undisturbed $ref_acc, with the replacement $acc"
python3 -c "import sys; sys.exit(0 if abs($acc - $ref_acc) <= 0.01 else 1)" \
  && pass "accuracy within 0.01 of the undisturbed run" \
  || fail "accuracy $acc vs $ref_acc"

frozen=$(submit "$TMP/job.yaml")
wait_clock "$frozen" 500 || fail "$frozen did not reach clock 500"
kill -STOP "$W0"
sleep 3
kill -CONT "$W0"
state=$(wait_end "$frozen" 180)
[ "$state" = SUCCEEDED ] && pass "$frozen succeeded after worker-a froze for 3 s" \
  || fail "$frozen ended $state: $(job_field "$frozen" 'j["error"]')"
grep -qE "job $frozen: (worker-[0-9]+) takes rank [0-9] \(from \1\)" "$TMP/coordinator.log" \
  && pass "the thawed worker got its rank back" \
  || fail "no rejoin: $(grep "$frozen" "$TMP/coordinator.log" | tail -4)"
finish
