#!/usr/bin/env bash
# tools/setup --list: what each purpose would install. Asserts that every
# purpose but e2e is a subset of test's, that the demo gets none of the
# tests' tools, and that a purpose it does not know is refused.
set -euo pipefail
setup=tools/setup
fail() { echo "FAIL: $*"; exit 1; }
list() { "$setup" --list "$@" | sort; }
cd "${TEST_TMPDIR:-$(mktemp -d)}"
setup="$OLDPWD/$setup"

list test >test.txt
list all >all.txt
for purpose in build demo bench fuzz; do
  extra=$(list "$purpose" | comm -23 - test.txt)
  [ -z "$extra" ] || fail "$purpose lists what test does not: $extra"
done
extra=$(list e2e | comm -23 - all.txt)
[ -z "$extra" ] || fail "e2e lists what all does not: $extra"
[ "$(list e2e | comm -23 - test.txt)" = "python3-torch" ] || fail "e2e adds more than python3-torch to test's"
[ "$(list test e2e)" = "$(cat all.txt)" ] || fail "all is not test and e2e"
[ "$("$setup" --list | sort)" = "$(cat test.txt)" ] || fail "no purpose is not test"

demo=$(list demo)
for package in chromium prometheus slurm-wlm munge systemd clang libclang-rt-14-dev catch2 \
    python3-torch npm; do
  ! grep -qx "$package" <<<"$demo" || fail "the demo installs $package"
done
for package in bazel-bootstrap g++ libgrpc++-dev protobuf-compiler-grpc dataset-fashion-mnist; do
  grep -qx "$package" <<<"$demo" || fail "the demo lacks $package"
done
for purpose in build bench fuzz test; do
  grep -qx catch2 <<<"$(list "$purpose")" || fail "$purpose lacks catch2 (bazel build //... needs it)"
done

set +e
out=$("$setup" --list demo tests 2>err.txt)
status=$?
set -e
[ "$status" -eq 2 ] || fail "an unknown purpose exited $status, not 2"
[ -z "$out" ] || fail "an unknown purpose still listed: $out"
grep -q "no purpose 'tests'" err.txt || fail "the refusal does not name the purpose: $(cat err.txt)"
echo "ok: every purpose checked"
