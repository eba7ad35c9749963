#!/usr/bin/env bash
# Fault test 4: replication 1 with checkpoints every 100 clocks. A server is
# killed with kill -9 and a new one started; the job restarts from its
# latest complete checkpoint on its own, redoing at most every_clocks clocks,
# and reaches its accuracy target. Under BSP the restored job is exact: its
# parameters equal an undisturbed run's.
set -euo pipefail
source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/fault/fault_lib.sh"

start_cluster
every=100
cat "$RUNFILES/tests/testdata/fault_softmax.yaml" - >"$TMP/job.yaml" <<YAML
checkpoint:
  dir: $TMP/checkpoints
  every_clocks: $every
YAML

ref=$(submit "$TMP/job.yaml")
[ "$(wait_end "$ref" 180)" = SUCCEEDED ] || { fail "$ref did not succeed"; finish; exit; }
ref_sha=$(params_sha "$ref")
ls "$TMP/checkpoints/$ref" | tail -2

job=$(submit "$TMP/job.yaml")
wait_clock "$job" 550 || fail "$job did not reach clock 550"
kill -9 "$S0"
killed_at=$(job_clock "$job")
echo "killed server-a (pid $S0) at clock $killed_at; starting a new server"
start_daemon server S2 server-c
state=$(wait_end "$job" 240)
[ "$state" = SUCCEEDED ] && pass "$job succeeded after restarting from a checkpoint" \
  || fail "$job ended $state: $(job_field "$job" 'j["error"]')"

[ "$(job_field "$job" 'j["attempt"]')" = 1 ] && job_field "$job" 'j["last_restart"]' | grep -q "restarting from the checkpoint" \
  && pass "petrel status reports the restart: $(job_field "$job" 'j["last_restart"]')" \
  || fail "status: attempt $(job_field "$job" 'j["attempt"]'), last restart '$(job_field "$job" 'j["last_restart"]')'"
restored=$(sed -n "s/.*job $job: .*restarting from the checkpoint at clock \([0-9]*\).*/\1/p" \
  "$TMP/coordinator.log" | head -1)
echo "restored at clock $restored; the workers had reported clock $killed_at"
# Cuts are written off the training path: a kill within the few
# milliseconds a cut takes to reach the disk can cost the clocks trained
# meanwhile as well (a handful at most here).
[ -n "$restored" ] && [ $((killed_at - restored)) -le $((every + 10)) ] && [ "$restored" -gt 0 ] \
  && pass "at most $every clocks redone ($((killed_at - restored)))" \
  || fail "restored at clock '$restored' after reaching $killed_at"

acc=$(job_field "$job" 'j["test_accuracy"]')
python3 -c "import sys; sys.exit(0 if $acc >= 0.78 else 1)" && pass "accuracy $acc reaches 0.78" \
  || fail "accuracy $acc below 0.78"
sha=$(params_sha "$job")
[ "$sha" = "$ref_sha" ] && pass "parameters equal the undisturbed run's (BSP resumes exactly)" \
  || fail "parameters differ from the undisturbed run: $sha vs $ref_sha"
finish
