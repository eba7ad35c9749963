#!/usr/bin/env bash
# tools/bench_pushpull's program runs end to end on small sizes (real server
# processes, every case) and writes the JSON the docs describe. A check that
# the benchmark still works, not a measurement: no figure is asserted on.
set -euo pipefail
bench="$1"
out="${TEST_TMPDIR:-/tmp}/pushpull.json"
"$bench" --dense_floats 100000 --rounds 2 --steps 5 --sparse_keys 20000 --sparse_batch 5000 \
  --json "$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["raw_tcp_bytes_per_s"] > 0 and d["memcpy_bytes_per_s"] > 0, d
names = {c["name"] for c in d["cases"]}
want = {f"{kind}_1e5_s{s}" for kind in ("dense_push", "dense_pull") for s in (1, 2)}
want |= {f"dense_pushpull_2e5_s{s}" for s in (1, 2)}
want |= {f"{kind}_20000_s{s}" for kind in ("sparse_push", "sparse_pull") for s in (1, 2)}
want |= {"apply_sgd_1e5", "apply_adam_1e5"}
assert want <= names, sorted(want - names)
for c in d["cases"]:
    assert c["bytes_per_s"] > 0 and c["p99_ms"] >= c["p50_ms"] > 0, c
    assert ("ratio_to_memcpy" if c["name"].startswith("apply_") else "ratio_to_tcp") in c, c
print("ok:", len(d["cases"]), "cases")
PY
