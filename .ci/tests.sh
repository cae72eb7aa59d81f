#!/usr/bin/env bash
# Run the README's test command, `pytest` (extra arguments are passed on), and fail
# the CI run when it tested nothing or did not finish:
#   - pytest's exit code 5 (no tests collected) is a failure, not a pass;
#   - the run is capped at $GRAPHFLOW_CI_TEST_TIMEOUT seconds (default 1500), so a test
#     that hangs fails the run instead of holding it.
# The services of the run (.ci/services.sh start) are named in
# $GRAPHFLOW_CI_RUN_DIR/services.env (GRAPHFLOW_TEST_POSTGRES, GRAPHFLOW_TEST_REDIS),
# sourced here so that the tests see them.
set -uo pipefail
if [ -n "${GRAPHFLOW_CI_RUN_DIR:-}" ] && [ -f "$GRAPHFLOW_CI_RUN_DIR/services.env" ]; then
    # shellcheck disable=SC1091
    . "$GRAPHFLOW_CI_RUN_DIR/services.env"
fi
cap="${GRAPHFLOW_CI_TEST_TIMEOUT:-1500}"
timeout --kill-after=30 "$cap" pytest "$@"
code=$?
case "$code" in
    0) ;;
    5) echo "[tests] pytest collected no tests; a run that tests nothing fails" >&2; code=1 ;;
    124 | 137) echo "[tests] pytest did not finish within ${cap}s" >&2 ;;
esac
exit "$code"
