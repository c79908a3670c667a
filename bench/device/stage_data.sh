#!/usr/bin/env bash
# Stage issue 27 part 1's data into .device-data/ (git-ignored; name it in the device run's `carry`).
# Run here, from the repository root: bash bench/device/stage_data.sh [--subjects N]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}  # the README install; PYTHON=... for another
OMP_NUM_THREADS=1 PYTHONPATH=$PWD "$PY" bench/device/stage_data.py "$@"
