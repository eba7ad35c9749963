#!/usr/bin/env bash
# The spam example end to end: sparse logistic regression on the real
# SpamAssassin corpus through `petrel local` reaches test accuracy >= 0.97.
# Needs the corpus converted by tools/fetch_spam_corpus; tools/test does that
# and passes its location in PETREL_SPAM_DATA.
set -euo pipefail
source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

data="${PETREL_SPAM_DATA:-}"
if [ -z "$data" ] || [ ! -f "$data/train.libsvm" ]; then
  fail "no spam corpus at '$data': run tools/fetch_spam_corpus and pass PETREL_SPAM_DATA (tools/test does)"
  finish
  exit
fi
sed "s|^  path: .*|  path: $data|" "$RUNFILES/examples/spam_sparse_lr.yaml" >"$TMP/spam.yaml"
code=0
"$PETREL" local "$TMP/spam.yaml" --bin-dir "$RUNFILES" --summary-json "$TMP/spam.json" \
  >"$TMP/spam.out" 2>&1 || code=$?
python3 - "$TMP/spam.json" <<'PY' && pass "spam example reaches >= 0.97" || fail "spam (exit $code): $(tail -15 "$TMP/spam.out")"
import json, sys
s = json.load(open(sys.argv[1]))
print("test accuracy", s["test_accuracy"], "training seconds", round(s["training_seconds"], 1))
assert s["state"] == "SUCCEEDED", s
assert s["test_accuracy"] >= 0.97, s["test_accuracy"]
PY
dir=$(log_dir_of "$TMP/spam.out")
grep -h "bytes moved per step" "$dir"/worker-0.log | tail -1
grep -q "bytes moved per step: .* sparse against 8388608 for the dense weights" "$dir"/worker-0.log \
  && pass "only touched rows move" || fail "no sparse traffic figure in the worker log"
finish
