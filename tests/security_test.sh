#!/usr/bin/env bash
# Issue 9's security checks on the real binaries: `petrel certs init`; a
# cluster started by hand with mutual TLS and a token, probed by an
# independent client (tests/security_client.py: plaintext, another CA, no
# certificate, no or wrong token on every method of every service, each
# over-limit request, a flood of bad requests); parameters unchanged by
# the refused requests; the jobs-per-cluster limit; HTTP beyond loopback
# served as HTTPS with the token on every page but /healthz; and a full `petrel
# local` run whose logs, /status, /metrics and dashboard never show the
# token.
set -euo pipefail

source "${TEST_SRCDIR:-$PWD/..}/petrel/tests/process_test_lib.sh"
PY=/usr/bin/python3  # Debian's, with python3-grpcio

port_of() {  # port file, key
  $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
wait_for_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
mode_of() { stat -c %a "$1"; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  [ -n "${local_pid:-}" ] && kill -INT "$local_pid" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT

# 1. petrel certs init: a CA and per-role certificates, keys private.
"$PETREL" certs init "$TMP/ca" --hosts node1.example,10.1.2.3 >"$TMP/certs.out" 2>&1 \
  && "$PETREL" certs init "$TMP/other" >>"$TMP/certs.out" 2>&1 \
  || fail "certs init: $(cat "$TMP/certs.out")"
missing=""
for f in ca.pem ca-key.pem coordinator.pem coordinator-key.pem server.pem server-key.pem \
  worker.pem worker-key.pem client.pem client-key.pem; do
  [ -s "$TMP/ca/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && pass "certs init writes the CA and every role's certificate" \
  || fail "certs init did not write:$missing"
[ "$(mode_of "$TMP/ca/server-key.pem")" = 600 ] && [ "$(mode_of "$TMP/ca/ca-key.pem")" = 600 ] \
  && [ "$(mode_of "$TMP/ca")" = 700 ] && pass "keys are 0600 in a 0700 directory" \
  || fail "modes: dir $(mode_of "$TMP/ca"), key $(mode_of "$TMP/ca/server-key.pem")"
if command -v openssl >/dev/null; then
  sans=$(openssl x509 -in "$TMP/ca/server.pem" -noout -ext subjectAltName 2>&1)
  echo "$sans" | grep -q "DNS:node1.example" && echo "$sans" | grep -q "IP Address:10.1.2.3" \
    && echo "$sans" | grep -q "IP Address:127.0.0.1" && echo "$sans" | grep -q "DNS:localhost" \
    && pass "subject alternative names: the hosts given, localhost and 127.0.0.1" \
    || fail "SANs: $sans"
  openssl verify -CAfile "$TMP/ca/ca.pem" "$TMP/ca/worker.pem" >/dev/null 2>&1 \
    && ! openssl verify -CAfile "$TMP/other/ca.pem" "$TMP/ca/worker.pem" >/dev/null 2>&1 \
    && pass "openssl verifies each certificate against its own CA only" || fail "openssl verify"
fi
"$PETREL" certs init "$TMP/ca" >"$TMP/again.out" 2>&1 && fail "certs init overwrote a CA" \
  || { grep -q "already holds ca.pem" "$TMP/again.out" && pass "certs init never overwrites a CA" \
    || fail "certs init again: $(cat "$TMP/again.out")"; }

# 2. Refusals at start-up: a token without TLS, a missing certificate.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/token"
chmod 600 "$TMP/token"
token=$(cat "$TMP/token")
code=0
timeout 10 "$RUNFILES/coordinator/petrel-coordinator" --port 0 --token_file "$TMP/token" \
  >"$TMP/refuse.log" 2>&1 || code=$?
[ $code -eq 1 ] && grep -q "needs TLS" "$TMP/refuse.log" \
  && pass "a daemon refuses a token without TLS" || fail "token without TLS: $(cat "$TMP/refuse.log")"
code=0
timeout 10 "$RUNFILES/server/petrel-server" --tls_dir "$TMP/nowhere" >"$TMP/refuse.log" 2>&1 || code=$?
[ $code -eq 1 ] && grep -q "$TMP/nowhere/ca.pem" "$TMP/refuse.log" \
  && pass "a daemon names a missing CA file" || fail "missing CA: $(cat "$TMP/refuse.log")"

# 3. A cluster by hand: mutual TLS, the token, one job at a time.
secure=(--tls_dir "$TMP/ca" --mtls --token_file "$TMP/token")
"$RUNFILES/coordinator/petrel-coordinator" --port 0 --port_file "$TMP/c.ports" \
  --max_active_jobs 1 "${secure[@]}" >"$TMP/coordinator.log" 2>&1 &
pids+=($!)
wait_for_file "$TMP/c.ports" || fail "the coordinator did not start: $(cat "$TMP/coordinator.log")"
coordinator="127.0.0.1:$(port_of "$TMP/c.ports" grpc_port)"
"$RUNFILES/server/petrel-server" --coordinator "$coordinator" --port_file "$TMP/s.ports" \
  "${secure[@]}" >"$TMP/server.log" 2>&1 &
pids+=($!)
PETREL_CLUSTER_TOKEN="$token" "$RUNFILES/worker/petrel-worker" --coordinator "$coordinator" \
  --device cpu --port_file "$TMP/w.ports" --tls_dir "$TMP/ca" >"$TMP/worker.log" 2>&1 &
pids+=($!)
wait_for_file "$TMP/s.ports" && wait_for_file "$TMP/w.ports" \
  && pass "server and worker register over mutual TLS (the worker's token from the environment)" \
  || fail "registration: $(tail -5 "$TMP/server.log" "$TMP/worker.log")"
server="127.0.0.1:$(port_of "$TMP/s.ports" grpc_port)"
client=(--coordinator "$coordinator" --tls_dir "$TMP/ca" --token_file "$TMP/token")

sed 's/^  servers: 2/  servers: 1/; s/^  workers: 2/  workers: 1/; s|^  model_path:.*|  model_path: ""|' \
  "$RUNFILES/tests/testdata/softmax_short.yaml" >"$TMP/job.yaml"
job=$("$PETREL" submit "$TMP/job.yaml" "${client[@]}" 2>"$TMP/submit.err")
[[ "$job" =~ ^job-[0-9]+$ ]] && pass "submit over TLS with the token" \
  || fail "submit: '$job' $(cat "$TMP/submit.err")"
"$PETREL" submit "$TMP/job.yaml" "${client[@]}" >"$TMP/second.out" 2>&1 \
  && fail "a second job passed --max_active_jobs 1" \
  || { grep -q "max_active_jobs" "$TMP/second.out" && pass "a job past --max_active_jobs is refused, naming the limit" \
    || fail "second job: $(cat "$TMP/second.out")"; }
"$PETREL" jobs --coordinator "$coordinator" --tls_dir "$TMP/ca" >"$TMP/notoken.out" 2>&1 \
  && fail "jobs without the token succeeded" \
  || { grep -qi "token" "$TMP/notoken.out" && pass "the CLI without the token is refused" \
    || fail "jobs without token: $(cat "$TMP/notoken.out")"; }
"$PETREL" jobs --coordinator "$coordinator" >"$TMP/plain.out" 2>&1 \
  && fail "a plaintext CLI reached the TLS coordinator" || pass "a plaintext CLI cannot reach it"
state=""
for _ in $(seq 600); do
  state=$("$PETREL" jobs "${client[@]}" 2>&1 | awk -v j="$job" '$1 == j {print $3}')
  [ "$state" = SUCCEEDED ] || [ "$state" = FAILED ] && break
  sleep 0.2
done
[ "$state" = SUCCEEDED ] && pass "the job trains over mutual TLS" \
  || fail "job state '$state': $(tail -5 "$TMP/worker.log")"

"$PETREL" export "$job" --out "$TMP/before.safetensors" "${client[@]}" >"$TMP/before.out" 2>&1 \
  || fail "export before: $(cat "$TMP/before.out")"
$PY "$RUNFILES/tests/security_client.py" "$coordinator" "$server" "$TMP/ca" "$TMP/other" \
  "$TMP/token" "$job" >"$TMP/client.out" 2>&1
cat "$TMP/client.out"
failures=$((failures + $(grep -c "^FAIL" "$TMP/client.out" || true)))
grep -q "^ok: under a flood" "$TMP/client.out" || fail "the gRPC client did not finish"
"$PETREL" export "$job" --out "$TMP/after.safetensors" "${client[@]}" >"$TMP/after.out" 2>&1 \
  || fail "export after: $(cat "$TMP/after.out")"
before=$(sed -n 's/.*params sha256: //p' "$TMP/before.out")
after=$(sed -n 's/.*params sha256: //p' "$TMP/after.out")
[ -n "$before" ] && [ "$before" = "$after" ] \
  && pass "the refused requests changed no parameter (sha256 $before)" \
  || fail "parameters changed: $before -> $after"
"$PETREL" jobs "${client[@]}" >/dev/null 2>&1 && pass "the coordinator still serves after the flood" \
  || fail "coordinator after the flood"
for log in "$TMP/coordinator.log" "$TMP/server.log" "$TMP/worker.log"; do
  grep -qF "$token" "$log" && fail "the token is in $log"
done
grep -q "refused .* gRPC call(s) without the cluster token" "$TMP/server.log" \
  && pass "the server logs refused calls (sparingly, without the token)" || fail "no refusal logged"
[ "$(grep -c "refused" "$TMP/server.log")" -lt 40 ] && pass "a flood of refusals is not a flood of log lines" \
  || fail "$(grep -c refused "$TMP/server.log") refusal lines"
# 3b. HTTP beyond loopback under TLS: HTTPS with the daemon's certificate,
# the token on every page but /healthz (docs/security.md, HTTP endpoints).
"$RUNFILES/coordinator/petrel-coordinator" --port 0 --http_host 0.0.0.0 --http_port 0 \
  --port_file "$TMP/h.ports" "${secure[@]}" >"$TMP/http.log" 2>&1 &
pids+=($!)
wait_for_file "$TMP/h.ports" || fail "the coordinator did not start: $(cat "$TMP/http.log")"
http_port=$(port_of "$TMP/h.ports" http_port)
status=0
$PY - "$http_port" "$TMP/ca/ca.pem" "$TMP/token" >"$TMP/http.out" 2>&1 <<'EOF_PY' || status=$?
import base64, json, ssl, sys, urllib.error, urllib.request
port, ca, token_file = sys.argv[1], sys.argv[2], sys.argv[3]
token = open(token_file).read().strip()
tls = ssl.create_default_context(cafile=ca)  # checks the certificate and its name (127.0.0.1)
def get(path, scheme="https", auth=None):
    request = urllib.request.Request(f"{scheme}://127.0.0.1:{port}{path}")
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=5, context=tls if scheme == "https" else None) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
status, body = get("/healthz")
assert (status, body) == (200, "ok\n"), (status, body)
print("ok: /healthz answers over HTTPS without the token")
for path in ["/status", "/metrics", "/", "/api/dashboard"]:
    status, body = get(path)
    assert status == 401 and "cluster token" in body and "grpc_port" not in body, (path, status, body)
    status, _ = get(path, auth="Bearer " + token[:-1] + "x")
    assert status == 401, (path, status)
    status, _ = get(path, auth="Bearer " + token)
    assert status == 200, (path, status)
    basic = base64.b64encode(b"ops:" + token.encode()).decode()
    status, _ = get(path, auth="Basic " + basic)
    assert status == 200, (path, status)
print("ok: /status, /metrics and the dashboard answer 401 without the token, 200 with it")
status, body = get("/status", auth="Bearer " + token)
assert json.loads(body)["role"] == "coordinator"
try:
    get("/status", scheme="http")
    raise SystemExit("FAIL: plain HTTP reached the HTTPS port")
except (urllib.error.URLError, ConnectionError, OSError) as e:
    print("ok: plain HTTP gets nothing from it (%s)" % type(e).__name__)
EOF_PY
cat "$TMP/http.out"
[ $status -eq 0 ] && pass "HTTP beyond loopback under TLS is HTTPS and wants the token" \
  || fail "HTTPS status endpoints: $(cat "$TMP/http.out")"
grep -qF "$token" "$TMP/http.log" && fail "the token is in the coordinator's log"
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
pids=()

# 4. petrel local: Unix sockets in a 0700 folder and a token by default; the
# token is checked on every call there and shows up nowhere.
out="$TMP/local.out"
sed 's/^  epochs: 1/  epochs: 20/; s|^  model_path:.*|  model_path: ""|' \
  "$RUNFILES/tests/testdata/softmax_short.yaml" >"$TMP/local.yaml"
"$PETREL" local "$TMP/local.yaml" --bin-dir "$RUNFILES" >"$out" 2>&1 &
local_pid=$!
dir=""
for _ in $(seq 300); do
  dir=$(log_dir_of "$out")
  [ -n "$dir" ] && grep -q "step [1-9]" "$out" && break
  sleep 0.1
done
pages="$TMP/pages"
mkdir -p "$pages"
if [ -z "$dir" ] || [ ! -s "$dir/token" ]; then
  fail "petrel local did not start with a token: $(cat "$out")"
else
  local_token=$(cat "$dir/token")
  [ "$(mode_of "$dir/token")" = 600 ] && [ "$(mode_of "$dir/sockets")" = 700 ] \
    && [ -S "$dir/sockets/coordinator.sock" ] && [ -S "$dir/sockets/server-0.sock" ] \
    && [ ! -e "$dir/tls" ] \
    && pass "petrel local's token is 0600, its sockets in a 0700 folder, and it made no TLS files" \
    || fail "token or socket folder mode, or sockets: $(ls -la "$dir" "$dir/sockets" 2>&1)"
  local_coordinator="unix:$dir/sockets/coordinator.sock"
  "$PETREL" status --coordinator "$local_coordinator" --token_file "$dir/token" \
    >"$TMP/local-status.out" 2>&1 && grep -q "server-0" "$TMP/local-status.out" \
    && pass "the connect hint's flags reach the local cluster" || fail "status: $(cat "$TMP/local-status.out")"
  # The token is checked on the sockets too: none, or a wrong one, is refused
  # by the coordinator and by a server alike.
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/wrong-token"
  env -u PETREL_CLUSTER_TOKEN "$PETREL" status --coordinator "$local_coordinator" \
    >"$TMP/local-notoken.out" 2>&1 \
    && fail "status without the token: $(cat "$TMP/local-notoken.out")" \
    || { grep -q "missing or wrong cluster token" "$TMP/local-notoken.out" \
      && pass "a call over the socket without the token is refused" \
      || fail "no token: $(cat "$TMP/local-notoken.out")"; }
  $PY "$RUNFILES/tests/security_client.py" --unix_token_check "unix:$dir/sockets/server-0.sock" \
    "$TMP/wrong-token" >"$TMP/local-wrong.out" 2>&1 \
    && pass "a server's socket refuses a wrong token: $(tail -1 "$TMP/local-wrong.out")" \
    || fail "wrong token on a server socket: $(cat "$TMP/local-wrong.out")"
  # Every daemon's pages, fetched while it trains.
  fetched="fetched every daemon's /status, /metrics and dashboard while it trained"
  $PY - "$dir" "$pages" <<'EOF_PY' && pass "$fetched" || fail "pages: $(ls "$pages")"
import glob, json, os, sys, urllib.request
run_dir, pages = sys.argv[1:3]
daemons = glob.glob(f"{run_dir}/*.ports")
assert len(daemons) == 5, daemons
for ports in daemons:
    name = os.path.basename(ports)[:-len(".ports")]
    http = json.load(open(ports))["http_port"]
    paths = ["status", "metrics", "healthz"] + (["", "api/dashboard"] if name == "coordinator" else [])
    for path in paths:
        body = urllib.request.urlopen(f"http://127.0.0.1:{http}/{path}", timeout=5).read()
        assert body, (name, path)
        open(f"{pages}/{name}.{path.replace('/', '_') or 'index'}", "wb").write(body)
EOF_PY
  if command -v ss >/dev/null; then
    for ports in "$dir"/*.ports; do
      http=$(port_of "$ports" http_port)
      ss -Hltn "sport = :$http" | awk '{print $4}' | grep -qv "^127.0.0.1:" \
        && fail "$(basename "$ports" .ports)'s HTTP port listens beyond 127.0.0.1"
    done
  fi
  for pid in $(pgrep -f -- "$dir/"); do
    tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null | grep -qF "$local_token" && fail "the token is on a command line"
  done
fi
timeout 120 tail --pid="$local_pid" -f /dev/null
code=0
wait "$local_pid" || code=$?
local_pid=""
[ $code -eq 0 ] && grep -q "SUCCEEDED" "$out" && pass "petrel local trains over Unix sockets with the token on" \
  || fail "petrel local exited $code: $(tail -20 "$out")"
grep -q "Unix sockets (only you can connect) and a cluster token" "$out" \
  && pass "petrel local says the cluster is secured" || fail "no security line in: $(head -5 "$out")"
if [ -n "${local_token:-}" ]; then
  # Everything the run left (logs, state), less the token file itself.
  leaks=$(grep -rlF --exclude=token "$local_token" "$dir" "$out" "$pages" 2>/dev/null || true)
  checked=$( (find "$dir" -type f ! -name token; ls "$pages"/*) | wc -l)
  [ -z "$leaks" ] && pass "the token is in none of $checked files the run left, pages fetched, nor the CLI's output" \
    || fail "the token leaked into: $leaks"
fi
rm -rf "$dir"

# 5. A daemon refuses a socket in a folder other users can open.
# (Under /tmp: Bazel's $TMP is too long a path for a socket.)
open_sockets=$(mktemp -d /tmp/petrel-open-sockets.XXXXXX)
chmod 0755 "$open_sockets"
code=0
timeout 10 "$RUNFILES/coordinator/petrel-coordinator" --grpc_socket "$open_sockets/c.sock" \
  --http_port 0 --state_dir "$TMP/open-state" >"$TMP/open.log" 2>&1 || code=$?
[ $code -eq 1 ] && grep -q "open to other users (mode 0755" "$TMP/open.log" \
  && pass "a daemon refuses a socket in a 0755 folder" || fail "0755 socket folder: $(cat "$TMP/open.log")"
rm -rf "$open_sockets"
# ... and a client refuses to send a token over plaintext TCP.
"$PETREL" status --coordinator 127.0.0.1:1 --token_file "$TMP/token" >"$TMP/tcp-token.out" 2>&1 \
  && fail "a token went to a TCP peer without TLS" \
  || { grep -q "needs TLS (--tls_dir) to reach 127.0.0.1:1" "$TMP/tcp-token.out" \
    && pass "the CLI never sends a token over plaintext TCP" || fail "tcp token: $(cat "$TMP/tcp-token.out")"; }

finish
