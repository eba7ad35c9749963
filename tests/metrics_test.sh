#!/usr/bin/env bash
# /metrics on every daemon of a real local cluster: the documents pass
# `promtool check metrics`, carry the job's figures, and a real Prometheus
# server (Debian's package) scrapes all three daemons and answers queries
# about them. Unknown endpoints are 404 and POST changes nothing.
set -euo pipefail

source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"

for tool in promtool prometheus; do
  command -v $tool >/dev/null || { echo "FAIL: $tool is missing; run tools/setup"; exit 1; }
done

out="$TMP/local.out"
"$PETREL" local "$RUNFILES/tests/testdata/mlp_long.yaml" --bin-dir "$RUNFILES" >"$out" 2>&1 &
local_pid=$!
cleanup() {
  kill -INT $local_pid 2>/dev/null || true
  [ -z "${prom_pid:-}" ] || kill $prom_pid 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

dir=""
for _ in $(seq 300); do
  dir=$(log_dir_of "$out")
  [ -n "$dir" ] && grep -q "step [1-9]" "$out" && break
  sleep 0.1
done
[ -n "$dir" ] || { echo "FAIL: the cluster did not start"; cat "$out"; exit 1; }
http_port() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_port"])' "$dir/$1.ports"; }
declare -A port=([coordinator]=$(http_port coordinator) [server]=$(http_port server-0)
                 [worker]=$(http_port worker-0))

# Every document is valid exposition format and names what it should.
declare -A expect=(
  [coordinator]='petrel_job_state{job_id="job-1",state="RUNNING"} 1|petrel_job_samples_per_second{job_id="job-1"}|petrel_nodes{role="WORKER",alive="true"} 2'
  [server]='petrel_server_pushes_total{job_id="job-1",group="0",role="primary"}|petrel_server_pull_seconds_bucket{le="+Inf"}|petrel_server_table_bytes{job_id="job-1",table="layer0/weights"} 401408|petrel_server_worker_clock{job_id="job-1",group="0",worker="worker-1"}'
  [worker]='petrel_worker_clock{job_id="job-1",rank="0"}|petrel_worker_train_loss{job_id="job-1",rank="0"}|petrel_process_resident_memory_bytes'
)
for daemon in coordinator server worker; do
  doc="$TMP/$daemon.metrics"
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:${port[$daemon]}/metrics" >"$doc" || { fail "GET /metrics of the $daemon"; continue; }
  promtool check metrics <"$doc" >"$TMP/$daemon.promtool" 2>&1 \
    && pass "promtool accepts the $daemon's /metrics" || fail "promtool on the $daemon: $(cat "$TMP/$daemon.promtool")"
  IFS='|' read -ra wanted <<<"${expect[$daemon]}"
  for w in "${wanted[@]}"; do
    grep -qF "$w" "$doc" && pass "$daemon: $w" || fail "$daemon lacks '$w'"
  done
done
grep -F 'petrel_server_pushes_total{job_id="job-1",group="0",role="primary"}' "$TMP/server.metrics" | grep -qv ' 0$' \
  && pass "the server has counted pushes" || fail "no pushes counted: $(grep pushes_total "$TMP/server.metrics")"

# Bad requests: an unknown endpoint is 404, a POST is not served.
python3 - "${port[server]}" <<'PY' && pass "unknown URLs are 404 and POST is refused" || fail "bad requests"
import sys, urllib.request, urllib.error
base = f"http://127.0.0.1:{sys.argv[1]}"
for path, data in (("/nope", None), ("/metrics", b"x=1")):
    try:
        urllib.request.urlopen(urllib.request.Request(base + path, data=data), timeout=5)
        raise SystemExit(f"{path} answered 200")
    except urllib.error.HTTPError as e:
        assert e.code in (404, 405), (path, e.code)
PY

# A real Prometheus scrapes all three every second.
prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TMP/prometheus.yml" <<EOF2
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: petrel
    static_configs:
      - targets: ['127.0.0.1:${port[coordinator]}', '127.0.0.1:${port[server]}', '127.0.0.1:${port[worker]}']
EOF2
promtool check config "$TMP/prometheus.yml" >/dev/null 2>&1 || fail "promtool rejects the test's config"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom-data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$TMP/prometheus.log" 2>&1 &
prom_pid=$!
python3 - "$prom_port" <<'PY' && pass "Prometheus scrapes every daemon and answers queries" || { fail "Prometheus scrape"; tail -3 "$TMP/prometheus.log"; tail -30 "$out"; }
import json, sys, time, urllib.parse, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?query="
def query(q):
    with urllib.request.urlopen(base + urllib.parse.quote(q), timeout=5) as r:
        return json.load(r)["data"]["result"]
deadline = time.time() + 60
last = None
while time.time() < deadline:
    try:
        up = query('up{job="petrel"} == 1')
        pushes = query('petrel_server_pushes_total{job_id="job-1",group="0",role="primary"} > 0')
        clocks = query('petrel_worker_clock > 0')
        last = (len(up), len(pushes), len(clocks))
        if len(up) == 3 and pushes and clocks:
            print("up:", len(up), "pushes:", pushes[0]["value"][1], "worker clock:", clocks[0]["value"][1])
            sys.exit(0)
    except OSError:
        pass  # Prometheus still starting
    time.sleep(0.5)
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v1/targets", timeout=5) as r:
    targets = json.load(r)["data"]["activeTargets"]
sys.exit(f"not scraped in time: {last}; targets: " +
         "; ".join(f"{t['scrapeUrl']} {t['health']} {t['lastError']}" for t in targets))
PY

finish
