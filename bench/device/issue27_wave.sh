#!/usr/bin/env bash
# Issue 27 part 1 on a device machine (docs/signature-experiments.md, "Running part 1 on a device session").
# Needs the data staged first, here: bash bench/device/stage_data.sh   (writes .device-data/, carried)
# On the device (run tool, carry [".device-data"], timeout_s 600):
#   bash bench/device/issue27_wave.sh                 # all waves by priority, ~8.5 min budget
#   bash bench/device/issue27_wave.sh --waves 1       # options pass to bench/device/issue27_wave.py
# Dry run here on the CPU: bash bench/device/issue27_wave.sh --smoke --device cpu --parallel 2
# No network there: its python3 (/opt/torch/.venv) already holds torch, numpy, opencv-python-headless, pillow,
# tqdm, onnx, onnxscript, onnxruntime and scikit-learn, all that training imports; biometrix runs from this tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
if [ ! -f .device-data/ink_cache/cedar.npz ]; then
  echo "no .device-data/ink_cache: run bash bench/device/stage_data.sh here and carry .device-data" >&2
  exit 2
fi
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-$PWD/bench/out/device}
mkdir -p "$OUT"
"$PY" -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
set -o pipefail
"$PY" bench/device/issue27_wave.py --out "$OUT" "$@" 2>&1 | tee "$OUT/wave.log"
