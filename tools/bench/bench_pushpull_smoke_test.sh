#!/usr/bin/env bash
# tools/bench_pushpull's program runs end to end on small sizes (real server
# processes, every case) and writes the JSON the docs describe; --check and
# --tls_cost do too, and bad flags are refused. A check that the benchmark
# still works, not a measurement: no figure is asserted on (the failing
# --check asks for 1000 times raw TCP, which nothing reaches).
set -euo pipefail
bench="$1"
tmp="${TEST_TMPDIR:-/tmp}"
small=(--dense_floats 100000 --rounds 2)

"$bench" "${small[@]}" --steps 5 --sparse_keys 20000 --sparse_batch 5000 --json "$tmp/pushpull.json"
/usr/bin/python3 - "$tmp/pushpull.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["transport"] == "unix", d["transport"]
assert d["raw_tcp_bytes_per_s"] > 0 and d["raw_unix_bytes_per_s"] > 0, d
assert d["memcpy_bytes_per_s"] > 0, d
names = {c["name"] for c in d["cases"]}
want = {f"{kind}_1e5_s{s}" for kind in ("dense_push", "dense_pull") for s in (1, 2)}
want |= {f"dense_pushpull_2e5_s{s}" for s in (1, 2)}
want |= {f"{kind}_20000_s{s}" for kind in ("sparse_push", "sparse_pull") for s in (1, 2)}
want |= {"apply_sgd_1e5", "apply_adam_1e5"}
assert want <= names, sorted(want - names)
for c in d["cases"]:
    assert c["bytes_per_s"] > 0 and c["p99_ms"] >= c["p50_ms"] > 0, c
    if c["name"].startswith("apply_"):
        assert "ratio_to_memcpy" in c, c
    else:
        assert c["ratio_to_tcp"] > 0 and c["ratio_to_unix"] > 0, c
print("ok:", len(d["cases"]), "cases")
PY

check_cases="dense_push_1e5_s1 dense_pull_1e5_s1 dense_push_1e5_s2 dense_pull_1e5_s2"
check_json() {  # FILE PASSED TRANSPORT
  /usr/bin/python3 - "$1" "$2" "$3" "$check_cases" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want_passed = sys.argv[2] == "true"
assert d["mode"] == "check" and d["transport"] == sys.argv[3] and d["passed"] == want_passed, d
assert [c["name"] for c in d["cases"]] == sys.argv[4].split(), d["cases"]
for c in d["cases"]:
    assert c["bytes_per_s"] > 0 and c["tcp_bytes_per_s"] > 0 and c["unix_bytes_per_s"] > 0, c
    assert c["passed"] == want_passed, c
PY
}

# --check passes at a floor of 0 and prints one line per case and the verdict;
# --transport reaches it (and its JSON).
out=$("$bench" "${small[@]}" --attempts 2 --check --check_min_ratio 0 --transport plaintext \
  --json "$tmp/check.json")
echo "$out"
for case in $check_cases; do grep -q "^$case " <<<"$out" || { echo "FAIL: no line for $case"; exit 1; }; done
grep -q '^bench_pushpull --check: PASSED: 4 cases' <<<"$out" || { echo "FAIL: no PASSED line"; exit 1; }
check_json "$tmp/check.json" true plaintext

# Under an unreachable floor it exits 1 and names every case.
set +e
out=$("$bench" "${small[@]}" --attempts 1 --check --check_min_ratio 1000 --json "$tmp/fail.json")
status=$?
set -e
[ "$status" -eq 1 ] || { echo "FAIL: --check under its floor exited $status, not 1"; exit 1; }
verdict=$(grep '^bench_pushpull --check: FAILED: ' <<<"$out") || { echo "FAIL: no FAILED line"; exit 1; }
for case in $check_cases; do
  grep -q "$case at " <<<"$verdict" || { echo "FAIL: the verdict does not name $case: $verdict"; exit 1; }
done
check_json "$tmp/fail.json" false unix

# --tls_cost: both transports, seconds per GB for each.
out=$("$bench" "${small[@]}" --attempts 1 --tls_cost --json "$tmp/tls.json")
echo "$out"
grep -q '^bench_pushpull --tls_cost: TLS costs .* s per GB on TCP' <<<"$out" || { echo "FAIL: no TLS cost line"; exit 1; }
/usr/bin/python3 - "$tmp/tls.json" "$check_cases" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mode"] == "tls_cost" and [c["name"] for c in d["cases"]] == sys.argv[2].split(), d
for c in d["cases"]:
    assert c["tls_seconds_per_gb"] > 0 and c["plaintext_seconds_per_gb"] > 0, c
PY

# Bad flags: exit 2 with the flag named, before any cluster starts.
refuses() {  # WHAT-THE-MESSAGE-NAMES ARGS...
  local want="$1"
  shift
  set +e
  message=$("$bench" "$@" 2>&1)
  status=$?
  set -e
  [ "$status" -eq 2 ] && grep -q -- "$want" <<<"$message" \
    || { echo "FAIL: '$*' exited $status with: $message"; exit 1; }
}
refuses "--transport must be unix, tls or plaintext" --transport udp
refuses "--check_min_ratio must be a number >= 0" --check --check_min_ratio -1
refuses "--attempts must be at least 1" --check --attempts 0
refuses "--rounds must be at least 1" --rounds 0
refuses "pick one" --check --tls_cost
echo "ok: --check, --tls_cost and bad flags"
