# Shared by the process-level tests (sourced): where the binaries are, result
# bookkeeping, and finding a `petrel local` run's log directory and daemons.

RUNFILES="${TEST_SRCDIR:-$PWD/..}/petrel"
PETREL="$RUNFILES/tools/cli/petrel"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

# Every test runs under `set -euo pipefail`: a command that fails where no
# check expects it ends the test, and this names the line.
trap 'echo "FAIL: line $LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# Ends the test: a summary line and the exit status.
finish() {
  echo "$failures failure(s)"
  [ $failures -eq 0 ]
}

# The log directory `petrel local` announced in its output file $1.
log_dir_of() { sed -n 's/.*logs in \(\/tmp\/petrel-local-[A-Za-z0-9]*\).*/\1/p' "$1" | head -1; }

# Pid of worker $2 of the run whose log directory is $1.
worker_pid() { pgrep -f -- "$1/worker-$2.ports" | head -1 || true; }
