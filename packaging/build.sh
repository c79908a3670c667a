#!/usr/bin/env bash
# Build the biometrix bundle (one folder, no torch) with PyInstaller, in a virtual environment of its own.
#
#   bash packaging/build.sh [--variant cpu|gpu] [--deb] [--python PYTHON]
#
#   cpu (default): build/venv-cpu  <- pip install -c packaging/constraints.txt -e '.[cpu,package]'   -> dist/biometrix/
#   gpu:           build/venv-gpu  <- pip install -c packaging/constraints.txt -e '.[gpu,package]'   -> dist/gpu/biometrix/
#   --deb:         also the Debian package, dist/[gpu/]biometrix[-gpu]_<version>_<arch>.deb (packaging/deb/build-deb.sh)
#
# Each variant has its own venv because onnxruntime and onnxruntime-gpu install into the same folder and
# overwrite each other. The venv is (re)installed when pyproject.toml or packaging/constraints.txt (the bundle's own
# pins) changed since it was made. Everything
# goes to build/ and dist/, which git ignores. Prints the build time and the bundle size, and checks the bundle
# (packaging/bundle_check.py: no torch, models, cascades and Qt plugins present, size target).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

variant=cpu
make_deb=0
python=${PYTHON:-python3}
max_mb=${BIOMETRIX_MAX_BUNDLE_MB:-350}
while [ $# -gt 0 ]; do
    case $1 in
        --variant) variant=${2:?--variant needs cpu or gpu}; shift 2 ;;
        --variant=*) variant=${1#*=}; shift ;;
        --deb) make_deb=1; shift ;;
        --python) python=${2:?--python needs an interpreter}; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case $variant in
    cpu) dist=dist; venv=build/venv-cpu ;;
    gpu) dist=dist/gpu; venv=build/venv-gpu ;;
    *) echo "build.sh: --variant must be cpu or gpu, not $variant" >&2; exit 2 ;;
esac
work=build/pyinstaller-$variant

start=$(date +%s.%N)

# 1. the build environment: run-time dependencies of the variant + the package extra (pyinstaller), nothing else
stamp="$venv/.biometrix-build-stamp"
want="$variant $(cat pyproject.toml packaging/constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "== build environment $venv: pip install -c packaging/constraints.txt -e '.[$variant,package]'"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -c packaging/constraints.txt -e ".[$variant,package]"
    echo "$want" > "$stamp"
else
    echo "== build environment $venv: up to date"
fi
if [ "$variant" = gpu ] && "$venv/bin/pip" show -q onnxruntime 2>/dev/null; then
    echo "build.sh: $venv has both onnxruntime and onnxruntime-gpu; remove $venv and build again" >&2
    exit 1
fi
env_ready=$(date +%s.%N)

# 2. the bundle
echo "== pyinstaller packaging/biometrix.spec ($variant) -> $dist/biometrix"
"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$dist" --workpath "$work" packaging/biometrix.spec
built=$(date +%s.%N)

# 3. check it and say what it measures
"$venv/bin/python" packaging/bundle_check.py "$dist/biometrix" --max-mb "$max_mb" --variant "$variant"

if [ "$make_deb" = 1 ]; then
    suffix=$([ "$variant" = gpu ] && echo "-gpu" || true)
    bash packaging/deb/build-deb.sh "$dist/biometrix" "$dist" --package "biometrix$suffix"
fi
done_at=$(date +%s.%N)

awk -v e="$env_ready" -v s="$start" -v b="$built" -v d="$done_at" 'BEGIN {
    printf "build time: %.1f s pyinstaller, %.1f s in all (environment %.1f s); target <= 300 s %s\n",
           b - e, d - s, e - s, (d - s <= 300 ? "met" : "MISSED") }'
