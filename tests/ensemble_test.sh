#!/usr/bin/env bash
# mode: ensemble end to end (docs/ensembles.md): `petrel local` trains three
# softmax members at once, reports each member's accuracy and the ensemble's,
# and exports every member's tables.
set -euo pipefail

source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

out="$TMP/ensemble.out"
sed "s|^  model_path:.*|  model_path: $TMP/ensemble.safetensors|" \
  "$RUNFILES/tests/testdata/ensemble_short.yaml" >"$TMP/job.yaml"
code=0
timeout 120 "$PETREL" local "$TMP/job.yaml" --bin-dir "$RUNFILES" --plaintext \
  --summary-json "$TMP/summary.json" >"$out" 2>&1 || code=$?
if [ $code -ne 0 ]; then
  fail "petrel local exited $code"; cat "$out"
  finish; exit
fi
/usr/bin/python3 - "$TMP/summary.json" <<'PY' && pass "ensemble and member accuracies are reported" || fail "summary: $(cat "$TMP/summary.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "SUCCEEDED", s
members = s["member_accuracies"]
assert len(members) == 3, members
assert all(m > 0.7 for m in members), members
assert s["test_accuracy"] > 0.7, s["test_accuracy"]
assert s["test_accuracy"] >= min(members), (s["test_accuracy"], members)
print("ensemble %.4f members %s" % (s["test_accuracy"], " ".join("%.4f" % m for m in members)))
PY
grep -q "ensemble of 3: test accuracy 0\.[0-9]\{4\} (members 0\.[0-9]\{4\} 0\.[0-9]\{4\} 0\.[0-9]\{4\}; best 0\.[0-9]\{4\})" "$out" \
  && pass "the summary prints the ensemble line" || fail "no ensemble line in: $(cat "$out")"
/usr/bin/python3 - "$TMP/ensemble.safetensors" <<'PY' && pass "every member's tables are exported" || fail "bad ensemble export"
import json, struct, sys
data = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = {k: v for k, v in json.loads(data[8:8 + n]).items() if k != "__metadata__"}
expected = {"member%d/layer0/%s" % (k, t) for k in range(3) for t in ("weights", "bias")}
assert set(header) == expected, sorted(header)
for k in range(3):
    assert header["member%d/layer0/weights" % k]["shape"] == [784, 10], header
    assert header["member%d/layer0/bias" % k]["shape"] == [10], header
assert len(data) == 8 + n + 3 * (7840 + 10) * 4, len(data)
body = data[8 + n:]
def table(name):
    begin, end = header[name]["data_offsets"]
    return body[begin:end]
# Independent members: different initialisations and data orders.
weights = [table("member%d/layer0/weights" % k) for k in range(3)]
assert len(set(weights)) == 3, "members have identical weights"
PY
dir=$(log_dir_of "$out")
[ -n "$dir" ] && [ -z "$(pgrep -f -- "$dir/" || true)" ] && pass "no daemons left" \
  || fail "leftover daemons"
finish
