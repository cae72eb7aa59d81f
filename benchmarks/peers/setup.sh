#!/usr/bin/env sh
# Create (or check) the virtual environment the peer frameworks are benchmarked in.
# Default location: .bench-venv/ at the repository root; override with GRAPHFLOW_BENCH_VENV.
# Idempotent: a second run only re-checks the installed peers offline.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "${PYTHON:-python3}" "$here/setup_venv.py" "$@"
