#!/usr/bin/env bash
# Checks the systemd units in deploy/systemd:
#   - `systemd-analyze verify` accepts each unit without a word of warning
#     (with ExecStart pointed at the bazel-built binary, since verify wants
#     the executable to exist);
#   - each unit runs /usr/local/bin/petrel-ROLE $PETREL_FLAGS from
#     /etc/petrel/ROLE.env and carries the expected hardening;
#   - every flag in ROLE.env.example is a flag that binary defines (its
#     --helpfull, sections "Flags from ROLE/main.cc" and
#     "Flags from common/daemon/daemon_security_flags.cc").
# And that the checks can fail: a unit with a misspelt key and an env file
# with an unknown flag must both be caught.
#
#   units_test.sh UNIT_DIR COORDINATOR_BIN SERVER_BIN WORKER_BIN
set -euo pipefail

unit_dir=$1
declare -A bin=([coordinator]=$(realpath "$2") [server]=$(realpath "$3") [worker]=$(realpath "$4"))
roles=(coordinator server worker)
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# verify_unit FILE: prints what systemd-analyze says about FILE; status 0
# when it says nothing and exits 0.
verify_unit() {
  local out rc
  # Only this unit, not the host's units it is ordered after.
  rc=0
  out=$(cd "$(dirname "$1")" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no \
        --recursive-errors=no "$(basename "$1")" 2>&1) || rc=$?
  printf '%s' "$out"
  [ "$rc" -eq 0 ] && [ -z "$out" ]
}

# real_flags ROLE: the flags petrel-ROLE defines, one a line: its main.cc's
# and the security flags every daemon shares (--tls_dir, --mtls, ...).
real_flags() {
  "${bin[$1]}" --helpfull 2>&1 |
    awk -v f="Flags from $1/main.cc:" -v g="Flags from common/daemon/daemon_security_flags.cc:" \
        '$0 ~ /^  Flags from / {on = index($0, f) > 0 || index($0, g) > 0; next}
                                      on && /^    --[a-z_]+ / {sub(/^    --/, ""); print $1}'
}

# env_flags FILE: the flag names in FILE's PETREL_FLAGS, one a line.
env_flags() {
  (set -a; . "$1"; for w in $PETREL_FLAGS; do echo "$w"; done) |
    sed -n 's/^--\([^=]*\).*/\1/p'
}

# check_env ROLE FILE: status 0 when every flag in FILE is real.
check_env() {
  local flags bad="" f
  flags=$(real_flags "$1")
  [ -n "$flags" ] || { echo "petrel-$1 --helpfull listed no flags"; return 1; }
  for f in $(env_flags "$2"); do
    grep -qx "$f" <<<"$flags" || bad+=" --$f"
  done
  [ -z "$bad" ] || { echo "not flags of petrel-$1:$bad"; return 1; }
}

if ! command -v systemd-analyze >/dev/null; then
  echo "note: systemd-analyze is not installed (Debian: systemd); the units cannot be verified"
  verify=0
else
  verify=1
fi

for role in "${roles[@]}"; do
  unit="$unit_dir/petrel-$role.service"
  env="$unit_dir/$role.env.example"
  [ -f "$unit" ] || { fail "no $unit"; continue; }

  # The unit as installed: binary, env file, restart, stop and hardening.
  for line in "ExecStart=/usr/local/bin/petrel-$role \$PETREL_FLAGS" \
              "EnvironmentFile=/etc/petrel/$role.env" "Type=simple" "Restart=on-failure" \
              "KillSignal=SIGTERM" "NoNewPrivileges=yes" "ProtectSystem=strict" \
              "ProtectHome=yes" "PrivateTmp=yes" "User=petrel" "StateDirectory=petrel/$role" \
              "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"; do
    grep -qxF "$line" "$unit" || fail "petrel-$role.service lacks: $line"
  done
  for key in RestartSec LimitNOFILE TimeoutStopSec; do
    grep -q "^$key=" "$unit" || fail "petrel-$role.service sets no $key="
  done
  if [ "$role" = worker ]; then
    grep -q '^PrivateDevices=yes' "$unit" && fail "the worker needs the GPUs: no PrivateDevices=yes"
    grep -q '^DeviceAllow=char-nvidia-frontend' "$unit" || fail "the worker does not allow the NVIDIA devices"
  else
    grep -qx 'PrivateDevices=yes' "$unit" || fail "petrel-$role.service lacks PrivateDevices=yes"
  fi

  if [ "$verify" = 1 ]; then
    mkdir -p "$tmp/$role"
    sed "s#^ExecStart=/usr/local/bin/petrel-$role #ExecStart=${bin[$role]} #" "$unit" \
      > "$tmp/$role/petrel-$role.service"
    if said=$(verify_unit "$tmp/$role/petrel-$role.service"); then
      pass "systemd-analyze verify petrel-$role.service: clean"
    else
      fail "systemd-analyze verify petrel-$role.service: ${said:-non-zero exit}"
    fi
  fi

  if [ -f "$env" ]; then
    if why=$(check_env "$role" "$env"); then
      pass "$role.env.example: $(env_flags "$env" | sed 's/^/--/' | tr '\n' ' ')are flags of petrel-$role"
    else
      fail "$role.env.example: $why"
    fi
    grep -q '^PETREL_FLAGS=' "$env" || fail "$role.env.example sets no PETREL_FLAGS"
  else
    fail "no $env"
  fi
done

# The checks must be able to fail.
if [ "$verify" = 1 ]; then
  mkdir -p "$tmp/broken"
  sed -e 's/^ProtectSystem=/ProtectSystm=/' "$tmp/server/petrel-server.service" \
    > "$tmp/broken/petrel-server.service"
  if said=$(verify_unit "$tmp/broken/petrel-server.service"); then
    fail "a misspelt key went unnoticed by verify"
  else
    pass "a misspelt key is caught: $(head -1 <<<"$said")"
  fi
  sed -e "s#^ExecStart=[^ ]*#ExecStart=$tmp/no-such-binary#" "$tmp/server/petrel-server.service" \
    > "$tmp/broken/petrel-server.service"
  if said=$(verify_unit "$tmp/broken/petrel-server.service"); then
    fail "a missing binary went unnoticed by verify"
  else
    pass "a missing binary is caught: $(head -1 <<<"$said")"
  fi
fi
sed 's/--http_port=/--http-port=/' "$unit_dir/worker.env.example" > "$tmp/worker.env"
if check_env worker "$tmp/worker.env" >/dev/null; then
  fail "an unknown flag in an env file went unnoticed"
else
  pass "an unknown flag in an env file is caught: $(check_env worker "$tmp/worker.env")"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
if [ "$verify" -eq 0 ]; then
  # The flags were checked, but the units themselves were not: not a pass.
  echo "SKIPPED: systemd-analyze is not installed (Debian: systemd); the units were not verified"
  exit 0
fi
echo "all checks passed"
