#!/usr/bin/env bash
# Fault test 3: the coordinator is killed with kill -9 mid-run and started
# again on the same port and state directory. It reloads the job, its
# placement and the nodes; servers and workers go on (training never needed
# the coordinator) and are heard again; the job succeeds.
set -euo pipefail
source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/fault/fault_lib.sh"

# The ids of the alive nodes the coordinator knows, sorted, on one line.
alive_node_ids() {
  "$PETREL" status --json --coordinator "$COORDINATOR" 2>/dev/null | python3 -c '
import json, sys
nodes = json.load(sys.stdin)["cluster"].get("nodes", [])
print(" ".join(sorted(n["node_id"] for n in nodes if n.get("alive"))))' 2>/dev/null || true
}

start_cluster --state_dir "$TMP/state"
cp "$RUNFILES/tests/testdata/fault_softmax.yaml" "$TMP/job.yaml"

job=$(submit "$TMP/job.yaml")
wait_clock "$job" 400 || fail "$job did not reach clock 400"
ids_before=$(alive_node_ids)
kill -9 "$COORDINATOR_PID"
wait "$COORDINATOR_PID" 2>/dev/null || true  # 137: the kill
echo "killed the coordinator (pid $COORDINATOR_PID); restarting it in 1 s"
sleep 1
start_coordinator --state_dir "$TMP/state"
grep -q "restored 1 jobs and 4 nodes" "$TMP/coordinator.log" && pass "the state was reloaded" \
  || fail "no reload in the log: $(tail -5 "$TMP/coordinator.log")"

state=$(wait_end "$job" 180)
[ "$state" = SUCCEEDED ] && pass "$job succeeded across the coordinator's restart" \
  || fail "$job ended $state: $(job_field "$job" 'j["error"]')"
acc=$(job_field "$job" 'j["test_accuracy"]')
python3 -c "import sys; sys.exit(0 if $acc >= 0.75 else 1)" && pass "accuracy $acc" \
  || fail "accuracy $acc below 0.75"
# The same nodes, alive under the same ids, after the restart: the
# coordinator's membership came back from its state, not from new nodes.
ids_after=$(alive_node_ids)
[ -n "$ids_before" ] && [ "$ids_after" = "$ids_before" ] && pass "the same 4 nodes are alive: $ids_after" \
  || fail "alive nodes before the kill: [$ids_before], after the restart: [$ids_after]"
finish
