#!/usr/bin/env bash
# The coordinator's web dashboard against real daemons: a short job trains,
# then Debian's headless Chromium renders "/" and the test reads the DOM the
# page's JavaScript built (shards table, curves with points, workers) and
# takes a screenshot. Also: the JSON API answers 400/404 for bad job ids.
# Daemons are started by hand, not with `petrel local`, because the
# coordinator must outlive the job for the page to show it ended.
set -euo pipefail

source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

# The test installs nothing: tools/setup installs Chromium with the rest.
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "FAIL: chromium is not installed; run tools/setup (Debian package 'chromium')"
  exit 1
fi
# Chromium wants a writable home for its profile and crash reports.
export HOME="$TMP/home"
mkdir -p "$HOME"
SHOTS="${TEST_UNDECLARED_OUTPUTS_DIR:-$TMP}"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait || true; }
trap cleanup EXIT

port_of() {  # port file, field -> port
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

"$RUNFILES/coordinator/petrel-coordinator" --port 0 --port_file "$TMP/c.ports" >"$TMP/c.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$TMP/c.ports" ] && break; sleep 0.1; done
address="127.0.0.1:$(port_of "$TMP/c.ports" grpc_port)"
url="http://127.0.0.1:$(port_of "$TMP/c.ports" http_port)"
for i in 0 1; do
  "$RUNFILES/server/petrel-server" --coordinator "$address" >"$TMP/s$i.log" 2>&1 &
  pids+=($!)
  "$RUNFILES/worker/petrel-worker" --coordinator "$address" --device cpu >"$TMP/w$i.log" 2>&1 &
  pids+=($!)
done

# Twelve epochs, about 5 s here: several loss samples (the dashboard takes
# one every 0.5 s) and an accuracy point every 100 steps.
sed "s/epochs: 1/epochs: 12/" \
  "$RUNFILES/tests/testdata/softmax_short.yaml" >"$TMP/job.yaml"
job=$("$PETREL" submit "$TMP/job.yaml" --coordinator "$address" 2>"$TMP/submit.err")
[[ "$job" =~ ^job-[0-9]+$ ]] || { fail "submit: '$job' $(cat "$TMP/submit.err")"; finish; exit; }

# Waits for the job to end (120 s at most); prints its state.
python3 - "$url" "$job" >"$TMP/state" <<'PY'
import json, sys, time, urllib.request
url, job = sys.argv[1], sys.argv[2]
for _ in range(1200):
    jobs = json.load(urllib.request.urlopen(url + "/api/dashboard"))["jobs"]
    state = next(j["state"] for j in jobs if j["job_id"] == job)
    if state not in ("QUEUED", "RUNNING"):
        break
    time.sleep(0.1)
print(state)
PY
[ "$(cat "$TMP/state")" = SUCCEEDED ] && pass "$job succeeded" \
  || fail "$job ended $(cat "$TMP/state"); coordinator log: $(tail -5 "$TMP/c.log")"

# The JSON API: the job in full, and bad or unknown ids refused.
python3 - "$url" "$job" <<'PY' && pass "api answers 200/400/404 as it should" || fail "api"
import json, sys, urllib.error, urllib.request
url, job = sys.argv[1], sys.argv[2]

def get(path):
    try:
        with urllib.request.urlopen(url + path) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()

status, kind, body = get("/api/job?id=" + job)
assert status == 200 and kind.startswith("application/json"), (status, kind, body)
detail = json.loads(body)
assert detail["state"] == "SUCCEEDED", detail["state"]
assert len(detail["loss_history"]) >= 3, detail["loss_history"]
assert len(detail["accuracy_history"]) >= 4, detail["accuracy_history"]
assert all(0 < acc <= 1 for _, acc in detail["accuracy_history"]), detail["accuracy_history"]
assert all(loss > 0 for _, loss in detail["loss_history"]), detail["loss_history"]
assert {s["table"] for s in detail["shards"]} == {"layer0/weights", "layer0/bias"}, detail["shards"]
assert len(detail["workers"]) == 2, detail["workers"]
for path, want in [("/api/job", 400), ("/api/job?id=", 400), ("/api/job?id=nope", 404),
                   ("/nonexistent", 404)]:
    status, _, body = get(path)
    assert status == want, (path, status, body)
    assert body.strip(), (path, "empty message")
status, kind, body = get("/")
assert status == 200 and kind.startswith("text/html"), (status, kind)
assert "<script src" not in body and "<link" not in body, "the page must be self-contained"
PY

# The page as a browser renders it, after its script fetched and drew.
browse() { "$CHROMIUM" --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 "$@" 2>>"$TMP/chromium.log"; }
browse --dump-dom "$url/" >"$TMP/dom.html"
python3 - "$TMP/dom.html" "$job" <<'PY' && pass "the rendered page shows shards, curves and workers" \
  || fail "rendered DOM (first 3000 chars): $(head -c 3000 "$TMP/dom.html"); chromium: $(tail -5 "$TMP/chromium.log")"
import re, sys
dom, job = open(sys.argv[1]).read(), sys.argv[2]
shards = re.search(r'<table id="shards">(.*?)</table>', dom, re.S)
assert shards, "no table with id=shards"
assert re.search(r"layer0/weights</td><td>dense</td><td>\[0, \d+\)", shards.group(1)), shards.group(1)
assert "server-0" in shards.group(1) and "server-1" in shards.group(1), "ranges on both servers"
for kind in ("accuracy", "loss"):
    m = re.search(r'<polyline class="curve-%s" id="%s-%s" data-points="(\d+)"' % (kind, kind, job), dom)
    assert m and int(m.group(1)) >= 2, (kind, m and m.group(0))
workers = re.search(r'<table id="worker-table">(.*?)</table>', dom, re.S)
assert workers and "worker-0" in workers.group(1) and "worker-1" in workers.group(1), "workers"
assert workers.group(1).count('class="alive"') == 2, "both workers alive"
assert 'class="state SUCCEEDED"' in dom, "the job's state"
PY

browse --screenshot="$SHOTS/dashboard.png" --window-size=1280,1600 "$url/" >/dev/null
python3 - "$SHOTS/dashboard.png" <<'PY' && pass "screenshot $SHOTS/dashboard.png" || fail "screenshot"
import sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
assert len(data) > 30000, len(data)  # a blank page is a few KB
PY

finish
