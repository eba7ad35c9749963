#!/usr/bin/env bash
# Fault test 5: a job resumes from a checkpoint folder given in its file;
# the same folder with one byte flipped is refused at submission, with an
# error naming the damaged file, and nothing is queued. Also: an SSP job
# takes its checkpoints too (consistent cuts without BSP's lockstep).
set -euo pipefail
source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/fault/fault_lib.sh"

start_cluster
sed "s/epochs: 4/epochs: 1/" "$RUNFILES/tests/testdata/fault_softmax.yaml" >"$TMP/base.yaml"
cat "$TMP/base.yaml" - >"$TMP/job.yaml" <<YAML
checkpoint:
  dir: $TMP/checkpoints
  every_clocks: 200
YAML
first=$(submit "$TMP/job.yaml")
[ "$(wait_end "$first" 120)" = SUCCEEDED ] || { fail "$first did not succeed"; finish; exit; }
cut="$TMP/checkpoints/$first/clock-000000000200"
[ -f "$cut/group-0.ckpt" ] && [ -f "$cut/group-1.ckpt" ] && pass "a cut at clock 200 was written" \
  || { fail "no cut at clock 200: $(ls -R "$TMP/checkpoints" | head)"; finish; exit; }

# Resuming from the intact cut trains the rest of the job.
cat "$TMP/base.yaml" - >"$TMP/resume.yaml" <<YAML
checkpoint:
  resume_from: $cut
YAML
resumed=$(submit "$TMP/resume.yaml")
[ "$(wait_end "$resumed" 120)" = SUCCEEDED ] && pass "$resumed resumed from clock 200 and succeeded" \
  || fail "$resumed: $(job_field "$resumed" 'j["error"]')"

# One flipped byte in the middle of group 1's file.
python3 - "$cut/group-1.ckpt" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[len(data) // 2] ^= 0x40
open(path, "wb").write(bytes(data))
PY
before=$("$PETREL" jobs --json --coordinator "$COORDINATOR" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("jobs", [])))')
out=$(submit "$TMP/resume.yaml"; cat "$TMP/submit.err")
echo "submission answered: $out"
echo "$out" | grep -q "group-1.ckpt" && echo "$out" | grep -qi "sha-256\|checksum" \
  && pass "the damaged checkpoint is refused, naming the file" \
  || fail "expected a refusal naming group-1.ckpt, got: $out"
after=$("$PETREL" jobs --json --coordinator "$COORDINATOR" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("jobs", [])))')
[ "$before" = "$after" ] && pass "nothing was queued" || fail "jobs went from $before to $after"

sed "s/staleness: 0/staleness: 2/; s/every_clocks: 200/every_clocks: 150/" "$TMP/job.yaml" >"$TMP/ssp.yaml"
ssp=$(submit "$TMP/ssp.yaml")
[ "$(wait_end "$ssp" 120)" = SUCCEEDED ] && pass "$ssp (SSP(2) with checkpoints) succeeded" \
  || fail "$ssp: $(job_field "$ssp" 'j["error"]')"
cuts=$(ls "$TMP/checkpoints/$ssp" 2>/dev/null | wc -l)
[ "$cuts" -ge 3 ] && [ -f "$TMP/checkpoints/$ssp/clock-000000000300/group-1.ckpt" ] \
  && pass "$cuts SSP cuts written" || fail "SSP cuts: $(ls -R "$TMP/checkpoints/$ssp" | head)"
finish
