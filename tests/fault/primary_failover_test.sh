#!/usr/bin/env bash
# Fault test 1: a BSP job with replication 2 loses a primary to kill -9
# mid-run. The backup takes over; a new server is started, and the lost
# replicas are rebuilt on it by state transfer while training goes on; then
# the other original server is killed too, so the job finishes on the
# rebuilt replicas. The job succeeds, and its parameters are bit-for-bit
# those of the same job run undisturbed (BSP sums each clock in rank order,
# and every acknowledged push was on every replica).
set -euo pipefail
source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/fault/fault_lib.sh"

start_cluster

sed "s/replication: 1/replication: 2/" "$RUNFILES/tests/testdata/fault_softmax.yaml" >"$TMP/job.yaml"

# The reference: the same job, undisturbed.
ref=$(submit "$TMP/job.yaml")
[ "$(wait_end "$ref" 180)" = SUCCEEDED ] && pass "$ref (undisturbed) succeeded" \
  || { fail "$ref did not succeed: $(job_field "$ref" 'j["error"]')"; finish; exit; }
ref_sha=$(params_sha "$ref")

job=$(submit "$TMP/job.yaml")
wait_clock "$job" 600 || fail "$job did not reach clock 600"
# Each server heads one group and backs up the other: server-a is a primary.
kill -9 "$S0"
killed_at=$(job_clock "$job")
echo "killed server-a (pid $S0) at clock $killed_at"
start_daemon server S2 server-c
rebuilt=0
for _ in $(seq 300); do
  [ "$(grep -c "holds group .* again" "$TMP/coordinator.log")" -ge 2 ] && { rebuilt=1; break; }
  sleep 0.1
done
[ $rebuilt -eq 1 ] && pass "both groups were rebuilt on the new server at clock $(job_clock "$job")" \
  || fail "no rebuild: $(grep -i "rebuild\|joins\|again" "$TMP"/*.log | tail -5)"
# petrel status shows the repaired chains (no server still rebuilding).
"$PETREL" status "$job" --coordinator "$COORDINATOR" >"$TMP/status.txt" 2>&1
grep -q "shard map epoch .*group 0 \[.* -> .*\].*group 1 \[.* -> .*\]" "$TMP/status.txt" \
  && ! grep -q rebuilding "$TMP/status.txt" && pass "petrel status shows both chains whole again" \
  || fail "petrel status: $(cat "$TMP/status.txt")"
kill -9 "$S1"
echo "killed server-b (pid $S1) at clock $(job_clock "$job"): the rebuilt replicas carry on"
state=$(wait_end "$job" 180)
[ "$state" = SUCCEEDED ] && pass "$job succeeded after its primary was killed" \
  || fail "$job ended $state: $(job_field "$job" 'j["error"]')"
grep -q "now heads group" "$TMP/coordinator.log" && pass "the backup was promoted" \
  || fail "no promotion in the coordinator's log: $(grep -i dead "$TMP/coordinator.log" | tail -3)"

sha=$(params_sha "$job")
echo "params sha256: undisturbed $ref_sha, with the kill $sha"
[ -n "$sha" ] && [ "$sha" = "$ref_sha" ] && pass "parameters equal the undisturbed run's" \
  || fail "parameters differ: $sha vs $ref_sha"
finish
